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
"""Tests of view aggregation and the evaluation metrics (mgjax/evaluate.py)."""

import numpy as np
import pytest

from mgjax import evaluate


def test_mean_over_views_ignores_padding():
  ids = np.array([3, 1, 3, 1, 0, 9])
  scores = np.array([[0.2, 0.8], [0.6, 0.4], [0.4, 0.6], [1.0, 0.0], [0.5, 0.5], [9.0, 9.0]])
  mask = np.array([1, 1, 1, 1, 1, 0])  # The last view is padding (its id repeats nothing real).
  videos, out, counts = evaluate.aggregate_views(ids, scores, mask, multi_label=False)
  assert videos.tolist() == [0, 1, 3] and counts.tolist() == [1, 2, 2]
  np.testing.assert_allclose(out, [[0.5, 0.5], [0.8, 0.2], [0.3, 0.7]])


def test_max_over_views_for_multi_label():
  ids = np.array([0, 0, 1, 1])
  scores = np.array([[0.1, 0.9], [0.7, 0.2], [0.3, 0.3], [0.2, 0.4]])
  videos, out, _ = evaluate.aggregate_views(ids, scores, np.ones(4), multi_label=True)
  np.testing.assert_allclose(out, [[0.7, 0.9], [0.3, 0.4]])
  assert videos.tolist() == [0, 1]


def brute_topk(scores, labels, k):
  hits = 0
  for s, label in zip(scores, labels):
    ranked = sorted(range(len(s)), key=lambda c: -s[c])[:k]
    hits += label in ranked
  return hits / len(labels)


def brute_map(scores, labels):
  aps = []
  for c in range(labels.shape[1]):
    pos = [i for i in range(len(scores)) if labels[i, c]]
    if not pos:
      continue
    precisions = []
    for p in pos:
      ranked_above = [i for i in range(len(scores)) if scores[i, c] >= scores[p, c]]
      precisions.append(sum(labels[i, c] for i in ranked_above) / len(ranked_above))
    aps.append(sum(precisions) / len(pos))
  return sum(aps) / len(aps)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_topk_against_brute_force(seed):
  rng = np.random.default_rng(seed)
  scores = rng.random((50, 10))
  labels = rng.integers(0, 10, 50)
  for k in (1, 5):
    assert evaluate.topk_accuracy(scores, labels, k) == pytest.approx(brute_topk(scores, labels, k))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_against_brute_force(seed):
  rng = np.random.default_rng(seed)
  scores = rng.random((40, 6))
  labels = (rng.random((40, 6)) < 0.3).astype(np.float32)
  labels[:, 5] = 0  # A class without positives does not count.
  assert evaluate.mean_average_precision(scores, labels) == pytest.approx(brute_map(scores, labels))


def test_perfect_and_worst_rankings():
  labels = np.array([[1, 0], [0, 1], [1, 0]])
  assert evaluate.mean_average_precision(labels.astype(float), labels) == 1.0
  assert evaluate.topk_accuracy(np.eye(3), np.array([0, 1, 2]), 1) == 1.0
  assert evaluate.topk_accuracy(np.eye(3), np.array([1, 2, 0]), 1) == 0.0
