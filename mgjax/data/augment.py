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
"""Image ops of the pipeline: decode the sampled frames cropped, resize, flip.

Clips stay uint8 on the host; normalisation ((x/255 - mean)/std) happens on the
device, where it is free and the host→device transfer is 4× smaller.
"""

from __future__ import annotations

from mgjax.data import frame_store

tf = frame_store.import_tf()  # Accelerators stay with JAX.

# Bilinear without antialiasing, as the reference (torch `interpolate`) resizes.
RESIZE_METHOD = "bilinear"
ANTIALIAS = False


def decode_crop_resize(frames: tf.Tensor, indices: tf.Tensor, box: tf.Tensor, size) -> tf.Tensor:
  """Decodes the chosen frames, cropped to a square box, and resizes them.

  Only the box is decoded (`decode_and_crop_jpeg` skips the rest of each frame's
  entropy-coded rows where it can), and only the crop is resized.

  Args:
    frames: string [F], JPEG bytes of the video's frames.
    indices: int32 [T], the frames to take.
    box: int32 [3], (y, x, side) of the square crop in the stored frames.
    size: output side S.

  Returns:
    uint8 [T, S, S, 3].
  """
  window = tf.stack([box[0], box[1], box[2], box[2]])
  selected = tf.gather(frames, indices)
  decoded = tf.map_fn(
      lambda jpeg: tf.image.decode_and_crop_jpeg(jpeg, window, channels=3),
      selected,
      fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8),
  )
  return resize(decoded, size)


def resize(video: tf.Tensor, size) -> tf.Tensor:
  """Resizes uint8 [T, h, w, 3] frames to [T, S, S, 3] uint8 (rounded)."""
  out = tf.image.resize(video, tf.stack([size, size]), method=RESIZE_METHOD, antialias=ANTIALIAS)
  return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)


def horizontal_flip(video: tf.Tensor, flip) -> tf.Tensor:
  """Mirrors [T, H, W, C] frames left-right when `flip` (a scalar bool tensor)."""
  return tf.cond(flip, lambda: tf.reverse(video, axis=[2]), lambda: video)


def flip_labels(label: tf.Tensor, flip, flip_map: tf.Tensor | None) -> tf.Tensor:
  """The label of a flipped clip.

  Args:
    label: int32 class id, or float [C] multi-hot.
    flip: scalar bool.
    flip_map: int32 [C], class after a flip (an involution), or None (labels unchanged).

  Returns:
    The label after the flip.
  """
  if flip_map is None:
    return label
  if label.shape.rank == 0:
    return tf.cond(flip, lambda: tf.gather(flip_map, label), lambda: label)
  # Multi-hot: new[c] = old[flip_map[c]] (flip_map is its own inverse).
  return tf.cond(flip, lambda: tf.gather(label, flip_map), lambda: label)
