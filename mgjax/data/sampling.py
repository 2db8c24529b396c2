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
"""Which video, which frames and which pixels a clip takes: stateless draws.

Every random choice of a training clip is a pure function of (seed, k), k the clip's
example index in the run: the video is `index_shuffle(k mod N, seed=(seed, k // N))`
(a fresh permutation each epoch) and every other draw comes from
`tf.random.stateless_uniform` keyed on (seed, k) folded with the draw's purpose. So the
clip of example k is the same whichever step the pipeline started from and however
many hosts share the batch, which is what makes resume exact and the global batch
independent of the host count.

All functions are TensorFlow ops usable inside tf.data; integer arguments may be
Python ints or scalar tensors.
"""

from __future__ import annotations

from mgjax.data import frame_store

tf = frame_store.import_tf()  # Accelerators stay with JAX.

# Purposes folded into a clip's key: each draw has its own stream, so adding a draw
# never changes the others.
_STRIDE, _START, _SCALE, _CROP, _FLIP, _SEGMENTS, _REPLACE = range(7)
# Key domains: training clips, precise-BN clips (keyed per call), anything else later.
TRAIN_DOMAIN = 0
PRECISE_BN_DOMAIN = 1


def clip_key(seed, k, domain: int = TRAIN_DOMAIN) -> tf.Tensor:
  """The RNG key of example k: int64 [2], a stateless seed.

  Args:
    seed: the run's seed (`config.seed`).
    k: the example index in the run.
    domain: separates independent streams that share (seed, k) (`TRAIN_DOMAIN`, ...).

  Returns:
    A key for `tf.random.stateless_*`.
  """
  key = tf.stack([tf.cast(seed, tf.int64), tf.cast(k, tf.int64)])
  if domain:
    key = tf.random.experimental.stateless_fold_in(key, domain)
  return tf.cast(key, tf.int64)


def _fold(key: tf.Tensor, purpose: int) -> tf.Tensor:
  return tf.random.experimental.stateless_fold_in(key, purpose)


def uniform(key: tf.Tensor, purpose: int, shape=()) -> tf.Tensor:
  """float64 uniform in [0, 1) from the key's stream for `purpose`."""
  return tf.random.stateless_uniform(shape, seed=_fold(key, purpose), dtype=tf.float64)


def uniform_int(key: tf.Tensor, purpose: int, lo, hi) -> tf.Tensor:
  """int32 uniform in the inclusive range [lo, hi] (lo when hi < lo)."""
  lo = tf.cast(lo, tf.int32)
  n = tf.maximum(tf.cast(hi, tf.int32) - lo + 1, 1)
  u = uniform(key, purpose)
  return lo + tf.minimum(tf.cast(tf.floor(u * tf.cast(n, tf.float64)), tf.int32), n - 1)


def video_index(k, num_videos: int, seed, domain: int = TRAIN_DOMAIN) -> tf.Tensor:
  """The video of example k: position k mod N of the permutation of epoch k // N.

  Args:
    k: example index (int64 scalar).
    num_videos: N.
    seed: the run's seed.
    domain: key domain (the training stream is the plain (seed, epoch) permutation).

  Returns:
    int64 video index in [0, N).
  """
  k = tf.cast(k, tf.int64)
  seed = tf.stack([tf.cast(seed, tf.int64), k // num_videos])
  if domain:
    seed = tf.cast(tf.random.experimental.stateless_fold_in(seed, 1000 + domain), tf.int64)
  return tf.cast(
      tf.random.experimental.index_shuffle(k % num_videos, seed=seed, max_index=num_videos - 1),
      tf.int64,
  )


def replacement_video(key: tf.Tensor, video, attempt, num_videos: int) -> tf.Tensor:
  """A different video to use when `video` fails to decode (attempt >= 1).

  Deterministic in (key, attempt); never `video` itself when N > 1.
  """
  u = tf.random.stateless_uniform(
      [], seed=_fold(_fold(key, _REPLACE), tf.cast(attempt, tf.int64)), dtype=tf.float64
  )
  shift = 1 + tf.cast(tf.floor(u * max(num_videos - 1, 1)), tf.int64)
  return (tf.cast(video, tf.int64) + shift) % num_videos


# ----------------------------------------------------------------------------------------
# Temporal sampling.


def stride_indices(num_frames, clip_frames: int, stride, u) -> tf.Tensor:
  """Frames of a clip sampled at a fixed stride from a start position.

  The clip spans (T - 1)·stride + 1 frames starting at floor(u · (F - span + 1)); a video
  shorter than the span repeats its last frame (as the reference clamps).

  Args:
    num_frames: F, frames of the video.
    clip_frames: T.
    stride: temporal stride.
    u: position of the start in [0, 1) (random in training, even spacing in test).

  Returns:
    int32 [T] frame indices.
  """
  num_frames = tf.cast(num_frames, tf.int32)
  stride = tf.cast(stride, tf.int32)
  clip_frames = tf.cast(clip_frames, tf.int32)
  span = (clip_frames - 1) * stride + 1
  max_start = tf.maximum(num_frames - span, 0)
  start = tf.minimum(
      tf.cast(tf.floor(tf.cast(u, tf.float64) * tf.cast(max_start + 1, tf.float64)), tf.int32),
      max_start,
  )
  return tf.minimum(start + stride * tf.range(clip_frames, dtype=tf.int32), num_frames - 1)


def view_start(view: int | tf.Tensor, num_views: int) -> tf.Tensor:
  """The start position (see `stride_indices`) of test view `view` of `num_views`.

  Views are evenly spaced from the first to the last possible start; one view is
  centred.
  """
  view = tf.cast(view, tf.float64)
  if num_views == 1:
    return tf.constant(0.5, tf.float64) + 0 * view
  # Just below 1 for the last view, so that it starts at the last possible frame.
  return view / (num_views - 1) * (1.0 - 1e-9)


def segment_bounds(num_frames, clip_frames: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Inclusive [start, end] frame of each of the T segments of a video (SSv2 sampling).

  As the reference: segment size (F - 1) / T, bounds rounded.
  """
  t = tf.cast(clip_frames, tf.float64)
  size = tf.cast(num_frames - 1, tf.float64) / t
  i = tf.range(t, dtype=tf.float64)
  start = tf.cast(tf.round(size * i), tf.int32)
  end = tf.cast(tf.round(size * (i + 1)), tf.int32)
  return start, end


def segment_indices(num_frames, clip_frames: int, u) -> tf.Tensor:
  """One frame from each of T segments (training: u random per segment).

  Args:
    num_frames: F.
    clip_frames: T.
    u: float [T] in [0, 1): position within each segment.

  Returns:
    int32 [T] frame indices.
  """
  start, end = segment_bounds(num_frames, clip_frames)
  n = end - start + 1
  off = tf.minimum(
      tf.cast(tf.floor(tf.cast(u, tf.float64) * tf.cast(n, tf.float64)), tf.int32), n - 1
  )
  return tf.clip_by_value(start + off, 0, tf.cast(num_frames, tf.int32) - 1)


def segment_test_indices(num_frames, clip_frames: int, view, num_views: int) -> tf.Tensor:
  """Test frames of segment sampling: the segments' centres for one view (as the
  reference), else evenly spread positions within each segment for view v of V."""
  start, end = segment_bounds(num_frames, clip_frames)
  if num_views == 1:
    idx = (start + end) // 2
  else:
    pos = (tf.cast(view, tf.float64) + 0.5) / num_views
    idx = start + tf.cast(tf.floor(pos * tf.cast(end - start + 1, tf.float64)), tf.int32)
  return tf.clip_by_value(idx, 0, tf.cast(num_frames, tf.int32) - 1)


# ----------------------------------------------------------------------------------------
# Spatial sampling. Boxes are (y, x, size) squares in the stored frame's pixels, so the
# decoder crops first and only the crop is resized.


def train_crop(height, width, crop_size, scale, u_y, u_x) -> tf.Tensor:
  """The random square crop of a frame whose short side is rescaled to `scale`.

  Equivalent to resizing the frame to short side `scale` and cropping crop_size²
  pixels at a uniform position, expressed in the stored frame's pixels.

  Args:
    height: stored frame height.
    width: stored frame width.
    crop_size: S, the output side.
    scale: short-side jitter draw (>= S normally).
    u_y: vertical position in [0, 1).
    u_x: horizontal position in [0, 1).

  Returns:
    int32 [3]: (y, x, size) of the crop in the stored frame.
  """
  height = tf.cast(height, tf.int32)
  width = tf.cast(width, tf.int32)
  short = tf.minimum(height, width)
  size = tf.cast(
      tf.round(
          tf.cast(crop_size, tf.float64) * tf.cast(short, tf.float64) / tf.cast(scale, tf.float64)
      ),
      tf.int32,
  )
  size = tf.clip_by_value(size, 1, short)

  def pos(u, extent):
    room = extent - size + 1
    return tf.minimum(
        tf.cast(tf.floor(tf.cast(u, tf.float64) * tf.cast(room, tf.float64)), tf.int32), room - 1
    )

  return tf.stack([pos(u_y, height), pos(u_x, width), size])


def test_crop(height, width, crop_index, num_crops: int) -> tf.Tensor:
  """A test crop: the short side whole, at the left/centre/right of the long side.

  Resizing the short side to the test size and cropping test-size squares is the same
  as cropping short-side squares here and resizing them.

  Args:
    height: stored frame height.
    width: stored frame width.
    crop_index: 0, 1, 2 (left/top, centre, right/bottom) when num_crops is 3.
    num_crops: 1 (centre) or 3.

  Returns:
    int32 [3]: (y, x, size).
  """
  height = tf.cast(height, tf.int32)
  width = tf.cast(width, tf.int32)
  size = tf.minimum(height, width)
  room = tf.maximum(height, width) - size
  c = tf.cast(crop_index, tf.int32) if num_crops == 3 else tf.constant(1, tf.int32)
  # Left, centre (rounded up, as the reference), right.
  offset = tf.gather(tf.stack([0, (room + 1) // 2, room]), c)
  y = tf.where(height > width, offset, 0)
  x = tf.where(height > width, 0, offset)
  return tf.stack([y, x, size])


# ----------------------------------------------------------------------------------------
# All training draws of one clip.


def train_draws(
    key: tf.Tensor, *, clip_frames: int, stride_range, jitter_range, flip: bool, segment: bool
) -> dict[str, tf.Tensor]:
  """Every random choice of a training clip except those that need the video's size.

  Args:
    key: the clip's key (`clip_key`).
    clip_frames: T.
    stride_range: (lo, hi) inclusive temporal stride range (ignored with segments).
    jitter_range: (lo, hi) inclusive short-side scale range.
    flip: whether flipping is allowed.
    segment: segment sampling (SSv2) instead of strided sampling.

  Returns:
    `stride` (int32), `start` (float64 [] or, with segments, [T]), `scale` (int32),
    `u_y`, `u_x` (float64), `flip` (bool).
  """
  crop_u = uniform(key, _CROP, [2])
  return dict(
      stride=uniform_int(key, _STRIDE, stride_range[0], stride_range[1]),
      start=(
          uniform(key, _SEGMENTS, tf.reshape(tf.cast(clip_frames, tf.int32), [1]))
          if segment
          else uniform(key, _START)
      ),
      scale=uniform_int(key, _SCALE, jitter_range[0], jitter_range[1]),
      u_y=crop_u[0],
      u_x=crop_u[1],
      flip=tf.logical_and(tf.constant(bool(flip)), uniform(key, _FLIP) < 0.5),
  )
