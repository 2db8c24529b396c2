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


# DCT-domain downscaling factors libjpeg supports (`decode_and_crop_jpeg(ratio=...)`).
JPEG_RATIOS = (1, 2, 4, 8)


def decode_ratio_index(side, size) -> tf.Tensor:
  """Index into JPEG_RATIOS of the largest scale-down r with side / r >= size (int32).

  Decoding at 1/r costs less (the inverse DCT and colour conversion shrink with the
  output; entropy decoding does not), and the crop is still downscaled afterwards, never
  upscaled, so the clip keeps the detail its output size can show.
  """
  return tf.reduce_sum(tf.cast(side >= tf.constant(JPEG_RATIOS[1:]) * size, tf.int32))


def decode_crop_resize(
    frames: tf.Tensor, indices: tf.Tensor, box: tf.Tensor, size, scaled: bool = False
) -> tf.Tensor:
  """Decodes the chosen frames, cropped to a square box, and resizes them.

  Only the box is decoded (`decode_and_crop_jpeg` skips the rest of each frame's
  entropy-coded rows where it can), and only the crop is resized.

  With `scaled`, a box at least twice the output side is decoded at 1/2, 1/4 or 1/8
  scale (`decode_ratio_index`) and then resampled over exactly the same region of the frame
  (the reduced window is rounded outwards to whole pixels, and the resampling's
  translation takes the rounding back out), so only the pixel values differ from the
  full-scale path: each reduced pixel is the mean of r x r stored pixels instead of one
  bilinear sample, which also removes aliasing. benchmarks/RESULTS.md §5 measures the
  difference (PSNR) and the speed.

  Args:
    frames: string [F], JPEG bytes of the video's frames.
    indices: int32 [T], the frames to take.
    box: int32 [3], (y, x, side) of the square crop in the stored frames.
    size: output side S.
    scaled: decode large boxes at a reduced scale.

  Returns:
    uint8 [T, S, S, 3].
  """
  selected = tf.gather(frames, indices)

  def decode(window, ratio: int) -> tf.Tensor:
    return tf.map_fn(
        lambda jpeg: tf.image.decode_and_crop_jpeg(jpeg, window, channels=3, ratio=ratio),
        selected,
        fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8),
    )

  def full_scale() -> tf.Tensor:
    return resize(decode(tf.stack([box[0], box[1], box[2], box[2]]), 1), size)

  if not scaled:
    return full_scale()

  def at_ratio(ratio: int):
    if ratio == 1:  # Bit for bit the unscaled path.
      return full_scale

    def branch() -> tf.Tensor:
      # The window in the reduced image's pixels, rounded outwards.
      y0, x0 = box[0] // ratio, box[1] // ratio
      y1, x1 = -(-(box[0] + box[2]) // ratio), -(-(box[1] + box[2]) // ratio)
      decoded = decode(tf.stack([y0, x0, y1 - y0, x1 - x0]), ratio)
      # Output pixel j samples stored coordinate y + (j + 1/2) * side / S (pixel centres
      # at i + 1/2, as tf.image.resize places them), which is (that - ratio * y0) / ratio
      # in the decoded window: a scale of S * ratio / side and a translation of
      # -(y - ratio * y0) * S / side.
      side = tf.cast(box[2], tf.float32)
      s = tf.cast(size, tf.float32)
      offset = tf.cast(box[:2] - tf.stack([y0, x0]) * ratio, tf.float32)
      out = tf.raw_ops.ScaleAndTranslate(
          images=tf.cast(decoded, tf.float32),
          size=tf.stack([size, size]),
          scale=tf.fill([2], s * ratio / side),
          translation=-offset * s / side,
          kernel_type="triangle",  # Bilinear ...
          antialias=False,  # ... without antialiasing, as `resize`.
      )
      return _round_to_uint8(out)

    return branch

  index = decode_ratio_index(box[2], size)
  return tf.switch_case(index, [at_ratio(r) for r in JPEG_RATIOS])


def resize(video: tf.Tensor, size) -> tf.Tensor:
  """Resizes uint8 [T, h, w, 3] frames to [T, S, S, 3] uint8 (rounded)."""
  out = tf.image.resize(video, tf.stack([size, size]), method=RESIZE_METHOD, antialias=ANTIALIAS)
  return _round_to_uint8(out)


def _round_to_uint8(x: tf.Tensor) -> tf.Tensor:
  return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)


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
