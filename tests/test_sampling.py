# Copyright 2026 The mgjax Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Tests of the stateless clip sampling (mgjax/data/sampling.py)."""

import numpy as np

from mgjax.data import sampling

tf = sampling.tf


def test_video_index_is_a_fresh_permutation_each_epoch():
  n = 37
  ks = tf.range(3 * n, dtype=tf.int64)
  idx = tf.map_fn(lambda k: sampling.video_index(k, n, seed=5), ks).numpy()
  epochs = idx.reshape(3, n)
  for e in epochs:
    assert sorted(e.tolist()) == list(range(n))
  assert not np.array_equal(epochs[0], epochs[1])
  # The contract: index_shuffle(k mod N, seed=(seed, epoch)).
  ref = tf.random.experimental.index_shuffle(
      tf.range(n, dtype=tf.int64) % n, seed=tf.constant([5, 1], tf.int64), max_index=n - 1
  )
  np.testing.assert_array_equal(epochs[1], ref.numpy())
  again = tf.map_fn(lambda k: sampling.video_index(k, n, seed=5), ks).numpy()
  np.testing.assert_array_equal(idx, again)
  other = tf.map_fn(lambda k: sampling.video_index(k, n, seed=5, domain=1), ks).numpy()
  assert not np.array_equal(idx, other)


def test_uniform_int_covers_the_inclusive_range():
  draws = np.array(
      [int(sampling.uniform_int(sampling.clip_key(0, k), 0, 2, 5)) for k in range(600)]
  )
  assert set(draws.tolist()) == {2, 3, 4, 5}
  assert np.bincount(draws)[2:].min() > 100  # Roughly uniform (150 each).
  assert int(sampling.uniform_int(sampling.clip_key(0, 1), 0, 4, 4)) == 4
  # Different purposes of one key are different streams.
  a = [float(sampling.uniform(sampling.clip_key(0, k), 0)) for k in range(20)]
  b = [float(sampling.uniform(sampling.clip_key(0, k), 1)) for k in range(20)]
  assert a != b


def test_stride_indices():
  idx = sampling.stride_indices(100, 8, 4, 0.0).numpy()
  np.testing.assert_array_equal(idx, np.arange(8) * 4)
  last = sampling.stride_indices(100, 8, 4, 1 - 1e-12).numpy()
  np.testing.assert_array_equal(last, 71 + np.arange(8) * 4)  # Ends on the last frame.
  short = sampling.stride_indices(10, 8, 4, 0.7).numpy()
  np.testing.assert_array_equal(short, [0, 4, 8, 9, 9, 9, 9, 9])  # Clamped.
  starts = {int(sampling.stride_indices(20, 4, 2, u)[0]) for u in np.linspace(0, 0.999, 200)}
  assert starts == set(range(14))


def test_view_starts():
  n, t, s = 100, 8, 4
  firsts = [int(sampling.stride_indices(n, t, s, sampling.view_start(v, 10))[0]) for v in range(10)]
  assert firsts[0] == 0 and firsts[-1] == 71 and firsts == sorted(firsts)
  assert np.all(np.diff(firsts) >= 7)
  centre = int(sampling.stride_indices(n, t, s, sampling.view_start(0, 1))[0])
  assert centre == 36


def test_segment_sampling():
  f, t = 50, 8
  start, end = (x.numpy() for x in sampling.segment_bounds(f, t))
  assert start[0] == 0 and end[-1] == f - 1
  for k in range(30):
    u = sampling.uniform(sampling.clip_key(1, k), 5, [t])
    idx = sampling.segment_indices(f, t, u).numpy()
    assert np.all((start <= idx) & (idx <= end))
  np.testing.assert_array_equal(
      sampling.segment_test_indices(f, t, 0, 1).numpy(), (start + end) // 2
  )
  views = [sampling.segment_test_indices(f, t, v, 3).numpy() for v in range(3)]
  assert np.all(views[0] <= views[1]) and np.all(views[1] <= views[2])
  assert np.all((start <= views[0]) & (views[2] <= end))
  # A video shorter than the clip repeats frames but stays in range.
  assert sampling.segment_indices(3, 8, tf.fill([8], 0.99)).numpy().max() == 2


def test_train_crop_is_scale_jitter_then_random_crop():
  # 256x340 frame, short side jittered to 320, crop 224: a 179-pixel box.
  box = sampling.train_crop(256, 340, 224, 320, 0.0, 0.0).numpy()
  np.testing.assert_array_equal(box, [0, 0, 179])
  box = sampling.train_crop(256, 340, 224, 320, 1 - 1e-12, 1 - 1e-12).numpy()
  np.testing.assert_array_equal(box, [256 - 179, 340 - 179, 179])
  # Scale below the crop clamps to the whole short side.
  assert sampling.train_crop(64, 80, 64, 48, 0.5, 0.5).numpy()[2] == 64


def test_test_crops():
  land = [sampling.test_crop(256, 341, c, 3).numpy().tolist() for c in range(3)]
  assert land == [[0, 0, 256], [0, 43, 256], [0, 85, 256]]
  port = [sampling.test_crop(341, 256, c, 3).numpy().tolist() for c in range(3)]
  assert port == [[0, 0, 256], [43, 0, 256], [85, 0, 256]]
  assert sampling.test_crop(256, 341, 0, 1).numpy().tolist() == [0, 43, 256]


def test_train_draws_and_replacements():
  for k in range(50):
    key = sampling.clip_key(3, k)
    d = sampling.train_draws(
        key, clip_frames=4, stride_range=(2, 8), jitter_range=(23, 40), flip=True, segment=False
    )
    assert 2 <= int(d["stride"]) <= 8 and 23 <= int(d["scale"]) <= 40
    nf = sampling.train_draws(
        key, clip_frames=4, stride_range=(2, 8), jitter_range=(23, 40), flip=False, segment=False
    )
    assert not bool(nf["flip"]) and int(nf["stride"]) == int(d["stride"])  # Independent streams.
    for attempt in (1, 2, 3):
      r = int(sampling.replacement_video(key, 7, attempt, 10))
      assert 0 <= r < 10 and r != 7
  flips = [
      bool(
          sampling.train_draws(
              sampling.clip_key(3, k),
              clip_frames=4,
              stride_range=(2, 2),
              jitter_range=(1, 1),
              flip=True,
              segment=False,
          )["flip"]
      )
      for k in range(200)
  ]
  assert 60 < sum(flips) < 140
