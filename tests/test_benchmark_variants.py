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
"""Tests of multigrid_speedup.py's statistics and variants (benchmarks/common.py and
benchmarks/variants.py): the paired bootstrap interval, the run each variant is compared
with and the §1.4 test views."""

import importlib.util
import sys

import numpy as np

from conftest import REPO
from mgjax import config as config_lib


def _load(name):
  """A module of benchmarks/ by file (benchmarks/ is not a package)."""
  spec = importlib.util.spec_from_file_location(
      f"benchmarks_{name}", REPO / "benchmarks" / f"{name}.py"
  )
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # Its dataclasses look their module up there.
  spec.loader.exec_module(module)
  return module


common = _load("common")
variants = _load("variants")  # Flag-free: no clash with mgjax.main's absl flags.


def _run(name, seed, correct, ids=None):
  ids = range(len(correct)) if ids is None else ids
  return dict(name=name, seed=seed, per_video=[[int(i), int(c)] for i, c in zip(ids, correct)])


def test_paired_interval_of_identical_runs_is_zero():
  rng = np.random.default_rng(0)
  runs = [_run("baseline", s, rng.random(500) < 0.8) for s in range(3)]
  assert common.paired_interval(runs, runs, samples=2000) == (0.0, 0.0, 0.0)


def test_paired_interval_covers_the_difference_and_narrows_with_more_videos():
  rng = np.random.default_rng(1)
  widths = []
  for videos in (300, 3000):
    base, mg = [], []
    for s in range(3):
      b = rng.random(videos) < 0.80
      # Multigrid gets 5% of the videos right that the baseline got wrong, and the
      # reverse for 2%: +3 points in expectation, with per-video noise.
      flip_up = (~b) & (rng.random(videos) < 0.25)
      flip_down = b & (rng.random(videos) < 0.025)
      base.append(_run("baseline", s, b))
      mg.append(_run("long_short", s, (b | flip_up) & ~flip_down))
    diff, low, high = common.paired_interval(base, mg, samples=4000)
    per_seed = [
        np.mean([c for _, c in m["per_video"]]) - np.mean([c for _, c in b["per_video"]])
        for b, m in zip(base, mg)
    ]
    assert abs(diff - 100 * np.mean(per_seed)) < 1e-9
    assert low < diff < high and low < 3.0 < high + 0.5
    widths.append(high - low)
  assert widths[1] < 0.5 * widths[0]  # ~ 1 / sqrt(videos).


def test_paired_interval_pairs_videos_by_id_and_needs_per_video_results():
  # The same video right and wrong in both runs, listed in another order: paired by id,
  # every bootstrap sample differs by 0 (paired by position, they would not).
  base = [_run("baseline", 0, [1, 0, 0, 0], ids=[10, 11, 12, 13])]
  mg = [_run("long_short", 0, [0, 0, 0, 1], ids=[13, 12, 11, 10])]
  assert common.paired_interval(base, mg, samples=500) == (0.0, 0.0, 0.0)
  assert common.paired_interval([dict(name="baseline", seed=0)], mg) is None


def test_each_variant_is_compared_with_its_own_baseline():
  results = [
      dict(name=n, seed=s) for n in ("baseline", "deep_baseline", "long_short") for s in (0, 1)
  ]
  results += [dict(name="deep_long_short", seed=0), dict(name="cosine", seed=0)]
  ref = lambda name, seed: variants.reference_run(
      results, next(r for r in results if (r["name"], r["seed"]) == (name, seed))
  )["name"]
  assert ref("deep_long_short", 0) == "deep_baseline"
  assert ref("long_short", 1) == "baseline"
  assert ref("cosine", 0) == "baseline"  # No cosine baseline ran: the stepwise one.
  results.append(dict(name="cosine_baseline", seed=0))
  assert ref("cosine", 0) == "cosine_baseline"
  assert set(variants.REFERENCE) <= set(variants.VARIANTS) and set(variants.PAPER) <= set(
      variants.VARIANTS
  )


def test_test_views_are_the_supplements_at_this_scale():
  c = config_lib.base()
  c.data.crop_size = 32
  assert variants.test_views(c) == {"center": (1, 32), "3crop": (3, 32), "3crop_8_7": (3, 37)}
  c.data.crop_size = 224
  assert variants.test_views(c)["3crop_8_7"] == (3, 256)
