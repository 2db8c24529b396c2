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
