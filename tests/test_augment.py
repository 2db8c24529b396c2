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
"""Tests of the image ops (mgjax/data/augment.py)."""

import numpy as np

from mgjax.data import augment

tf = augment.tf


def _frames(n=5, h=48, w=64):
  rng = np.random.default_rng(0)
  y, x = np.mgrid[0:h, 0:w]
  imgs = []
  for i in range(n):
    img = np.stack([x * 4 % 256, y * 5 % 256, np.full_like(x, 40 * i)], -1).astype(np.uint8)
    imgs.append(np.clip(img + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8))
  return imgs, [tf.io.encode_jpeg(im, quality=98).numpy() for im in imgs]


def test_decode_crop_resize_matches_decode_then_crop_then_resize():
  imgs, jpegs = _frames()
  indices = tf.constant([4, 1, 1], tf.int32)
  box = tf.constant([5, 11, 30], tf.int32)
  out = augment.decode_crop_resize(tf.constant(jpegs), indices, box, 16).numpy()
  assert out.shape == (3, 16, 16, 3) and out.dtype == np.uint8
  full = np.stack([tf.image.decode_jpeg(jpegs[i]).numpy() for i in (4, 1, 1)])
  ref = tf.image.resize(full[:, 5:35, 11:41], [16, 16]).numpy()
  assert np.abs(np.round(ref) - out).max() <= 2
  # The frames are the requested ones: the blue channel encodes the index.
  np.testing.assert_allclose(out[..., 2].mean(axis=(1, 2)), [160, 40, 40], atol=3)


_RAMP_SLOPE = 0.95  # Grey levels per stored pixel.


def _ramp_jpegs(side=240):
  """Grey ramps along x (frame 0) and y (frame 1): any correct resampling of a linear
  ramp gives the ramp's value at the output pixel's centre, so a misplaced sample shows
  as an offset of slope x shift."""
  y, x = np.mgrid[0:side, 0:side].astype(np.float64)
  imgs = [_RAMP_SLOPE * x + 5, _RAMP_SLOPE * y + 5]
  return [
      tf.io.encode_jpeg(np.round(im)[..., None].astype(np.uint8), quality=100).numpy()
      for im in imgs
  ]


def _ramp_offsets(clip, box, size):
  """Mean (output - exact ramp) of frames 0 (x ramp) and 1 (y ramp), in stored pixels."""
  side = box[2]
  centres = (np.arange(size) + 0.5) * side / size - 0.5
  exact_x = _RAMP_SLOPE * (box[1] + centres)[None, :] + 5
  exact_y = _RAMP_SLOPE * (box[0] + centres)[:, None] + 5
  clip = clip[..., 0].astype(np.float64)
  return np.array([(clip[0] - exact_x).mean(), (clip[1] - exact_y).mean()]) / _RAMP_SLOPE


def test_decode_ratio_index_takes_the_largest_scale_down_that_stays_above_the_output():
  got = [
      int(augment.decode_ratio_index(tf.constant(side), tf.constant(size)))
      for side, size in [
          (100, 64),
          (127, 64),
          (128, 64),
          (255, 64),
          (256, 64),
          (512, 64),
          (900, 64),
      ]
  ]
  assert [augment.JPEG_RATIOS[i] for i in got] == [1, 1, 2, 2, 4, 8, 8]


def test_scaled_decode_leaves_small_boxes_bit_for_bit_unchanged():
  jpegs = tf.constant(_ramp_jpegs())
  indices = tf.constant([1, 0], tf.int32)
  box = tf.constant([7, 13, 200], tf.int32)  # 200 < 2 x 112: full-scale decode.
  plain = augment.decode_crop_resize(jpegs, indices, box, 112).numpy()
  scaled = augment.decode_crop_resize(jpegs, indices, box, 112, scaled=True).numpy()
  np.testing.assert_array_equal(scaled, plain)


def test_scaled_decode_samples_the_same_region_as_the_full_decode():
  jpegs = tf.constant(_ramp_jpegs())
  indices = tf.constant([0, 1], tf.int32)
  # Corners far from multiples of the ratio: the reduced window is rounded outwards (by up
  # to 1, 3 and 5 stored pixels here) and the resampling must take the rounding back out.
  for box, size, ratio in [((3, 7, 226), 112, 2), ((7, 6, 231), 56, 4), ((5, 3, 229), 24, 8)]:
    assert augment.JPEG_RATIOS[int(augment.decode_ratio_index(box[2], size))] == ratio
    plain = augment.decode_crop_resize(jpegs, indices, tf.constant(box), size).numpy()
    scaled = augment.decode_crop_resize(jpegs, indices, tf.constant(box), size, scaled=True)
    scaled = scaled.numpy()
    assert scaled.shape == plain.shape == (2, size, size, 3) and scaled.dtype == np.uint8
    # Within 0.45 stored pixels of the exact ramp (measured: 0.08, 0.38 and 0.34 at the
    # three ratios; the full-scale path reads 0.5 low because libjpeg's fast IDCT rounds
    # down about 0.48 grey levels). Leaving out the rounding's correction would move it by
    # 1-5 pixels, and pixel centres at corners instead of midpoints by (r - 1) / 2.
    np.testing.assert_array_less(np.abs(_ramp_offsets(scaled, box, size)), 0.45)
    assert np.abs(scaled.astype(int) - plain).max() <= 3


def test_resize_rounds_to_uint8():
  v = tf.constant(np.full((2, 4, 4, 3), 255, np.uint8))
  out = augment.resize(v, 8).numpy()
  assert out.dtype == np.uint8 and out.shape == (2, 8, 8, 3) and np.all(out == 255)


def test_flip_and_labels():
  v = tf.constant(np.arange(2 * 3 * 4 * 1).reshape(2, 3, 4, 1))
  np.testing.assert_array_equal(
      augment.horizontal_flip(v, tf.constant(True)).numpy(), v.numpy()[:, :, ::-1]
  )
  np.testing.assert_array_equal(augment.horizontal_flip(v, tf.constant(False)).numpy(), v.numpy())
  fmap = tf.constant([1, 0, 2, 4, 3], tf.int32)
  assert int(augment.flip_labels(tf.constant(0), tf.constant(True), fmap)) == 1
  assert int(augment.flip_labels(tf.constant(0), tf.constant(False), fmap)) == 0
  assert int(augment.flip_labels(tf.constant(3), tf.constant(True), None)) == 3
  multi = tf.constant([1.0, 0.0, 1.0, 1.0, 0.0])
  np.testing.assert_array_equal(
      augment.flip_labels(multi, tf.constant(True), fmap).numpy(), [0.0, 1.0, 1.0, 0.0, 1.0]
  )
