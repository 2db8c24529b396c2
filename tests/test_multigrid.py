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
"""Tests of the multigrid plan (mgjax/multigrid.py)."""

import itertools

import numpy as np
import pytest

from mgjax import config as config_lib
from mgjax import multigrid


def kinetics_multigrid():
  """The reference's Kinetics SlowFast 8x8 R50 multigrid config."""
  c = config_lib.kinetics400(config_lib.base())
  c.data.num_frames, c.data.crop_size = 32, 224
  return c


def small(mode: str = "long_short", policy: str = "steps", n: int = 100, **kw):
  """A small config with N=n clips per epoch, for whole-table checks."""
  c = kinetics_multigrid()
  c.data.num_train_examples = n
  c.optim.batch_size = 8
  c.optim.lr_policy = policy
  c.multigrid.long_cycle = mode in ("long_short", "long", "single")
  c.multigrid.short_cycle = mode in ("long_short", "short", "single")
  if mode == "single":
    c.multigrid.long_cycle_mode = "single"
  for k, v in kw.items():
    section, field = k.split("__")
    c[section][field] = v
  return c


MODES = ("baseline", "long_short", "long", "short", "single")
POLICIES = ("steps", "cosine")


def test_reference_kinetics_schedule():
  """Segment ends and LRs of the reference's Kinetics SlowFast multigrid run."""
  plan = multigrid.Plan.from_config(kinetics_multigrid())
  assert [s.end_epoch for s in plan.segments] == [
      73,
      110,
      142,
      158,
      205,
      228,
      248,
      259,
      291,
      308,
      322,
      329,
      343,
      358,
  ]
  np.testing.assert_allclose(
      [s.lr for s in plan.segments],
      [0.8, 0.4, 0.2, 0.1, 0.08, 0.04, 0.02, 0.01, 0.008, 0.004, 0.002, 0.001, 0.001, 0.0001],
      rtol=1e-9,
  )
  assert [s.finetune for s in plan.segments] == [False] * 12 + [True, True]
  assert [(s.batch_size, s.num_frames, s.crop_size) for s in plan.segments[:4]] == [
      (512, 8, 158),
      (256, 16, 158),
      (128, 16, 224),
      (64, 32, 224),
  ]
  assert plan.max_epoch == 358


def test_reference_short_cycle_relative_to_base():
  """At S_long = 158 the short cycle is 112, 158, 158 with batch factors 2, 1, 1."""
  plan = multigrid.Plan.from_config(kinetics_multigrid())
  first = plan.segments[0]
  assert [(c.crop_size, c.batch_size // first.batch_size) for c in first.short_cycle] == [
      (112, 2),
      (158, 1),
      (158, 1),
  ]
  third = plan.segments[2]  # S_long = 224.
  assert [(c.crop_size, c.batch_size // third.batch_size) for c in third.short_cycle] == [
      (112, 4),
      (158, 2),
      (224, 1),
  ]


def test_short_cycle_relative_to_current():
  c = kinetics_multigrid()
  c.multigrid.short_cycle_relative = "current"
  plan = multigrid.Plan.from_config(c)
  first = plan.segments[0]
  assert [(x.crop_size, x.batch_size // first.batch_size) for x in first.short_cycle] == [
      (79, 4),
      (112, 2),
      (158, 1),
  ]


def test_stride_and_jitter_ranges():
  plan = multigrid.Plan.from_config(kinetics_multigrid())
  by_t = {s.num_frames: s.stride_range for s in plan.segments}
  assert by_t == {8: (2, 8), 16: (2, 4), 32: (2, 2)}
  # The jitter's low bound scales with the step's crop, the high bound stays.
  table = plan.step_table(0, 3)
  assert table["crop_size"].tolist() == [112, 158, 158]
  assert table["jitter_lo"].tolist() == [128, 181, 181]
  assert table["jitter_hi"].tolist() == [320, 320, 320]


@pytest.mark.parametrize("mode,policy", list(itertools.product(MODES, POLICIES)))
def test_segments_are_contiguous_and_monotone(mode, policy):
  plan = multigrid.Plan.from_config(small(mode, policy))
  segs = plan.segments
  assert segs[0].start_epoch == 0
  for a, b in zip(segs, segs[1:]):
    assert a.end_epoch == b.start_epoch
    assert a.first_step + a.num_steps == b.first_step
  assert all(s.end_epoch > s.start_epoch for s in segs)
  assert plan.max_epoch == segs[-1].end_epoch
  assert plan.num_steps == sum(s.num_steps for s in segs)
  if mode == "baseline":
    assert plan.max_epoch == 239 and plan.baseline is plan
  else:  # Stretched by the epoch factor (single cycle rounds its shape ends).
    assert abs(plan.max_epoch - 239 * 1.5) <= 1


@pytest.mark.parametrize("mode", MODES)
def test_constant_cost_per_step_shape(mode):
  """B·T·S² of every step shape stays within rounding of the base shape's."""
  plan = multigrid.Plan.from_config(small(mode))
  b0, t0, s0 = plan.base_shape
  for b, t, s in plan.distinct_shapes():
    assert 0.9 < (b * t * s * s) / (b0 * t0 * s0 * s0) < 1.1, (b, t, s)


def naive_steps(plan: multigrid.Plan):
  """An independent step-by-step walk of the rules: epochs by examples, the first
  example decides the segment, the short cycle restarts at each segment."""
  n = plan.num_examples
  offset, rows = 0, []
  for seg in plan.segments:
    position = 0
    while offset < seg.end_epoch * n:
      sc = seg.short_cycle[position % len(seg.short_cycle)]
      rows.append(
          (
              seg.index,
              position % len(seg.short_cycle),
              sc.batch_size,
              sc.crop_size,
              seg.num_frames,
              offset,
          )
      )
      offset += sc.batch_size
      position += 1
  return rows


@pytest.mark.parametrize("mode,n", list(itertools.product(MODES, (100, 37))))
def test_step_table_matches_a_naive_walk(mode, n):
  plan = multigrid.Plan.from_config(small(mode, n=n))
  table = plan.step_table()
  rows = naive_steps(plan)
  assert plan.num_steps == len(rows)
  got = list(
      zip(
          table["segment"].tolist(),
          table["short_cycle_index"].tolist(),
          table["batch_size"].tolist(),
          table["crop_size"].tolist(),
          table["num_frames"].tolist(),
          table["example_offset"].tolist(),
      )
  )
  assert got == rows
  np.testing.assert_allclose(table["epoch"], table["example_offset"] / n)
  # Each step's first example lies in its segment's epoch range.
  starts = np.array([s.start_epoch for s in plan.segments])[table["segment"]]
  ends = np.array([s.end_epoch for s in plan.segments])[table["segment"]]
  assert np.all(table["example_offset"] < ends * n)
  assert np.all(table["example_offset"] >= starts * n)
  # BN groups hold bn_group_size clips of the long-cycle shape.
  long_batch = np.array([s.batch_size for s in plan.segments])[table["segment"]]
  np.testing.assert_array_equal(table["bn_group_size"] * long_batch, 8 * table["batch_size"])
  # The single-step view agrees with the table.
  k = plan.num_steps // 2
  spec = plan.step(k)
  assert (spec.batch_size, spec.crop_size, spec.example_offset) == (
      table["batch_size"][k],
      table["crop_size"][k],
      table["example_offset"][k],
  )


def test_stepwise_lr_and_warmup():
  c = small("long_short")
  plan = multigrid.Plan.from_config(c)
  table = plan.step_table()
  warm = table["epoch"] < c.optim.warmup_epochs
  # Linear from warmup_start_lr at epoch 0 to the scheduled LR at warmup_epochs.
  end_lr = plan.segments[0].lr  # Warm-up ends inside the first segment here.
  expected = (
      c.optim.warmup_start_lr
      + table["epoch"][warm] * (end_lr - c.optim.warmup_start_lr) / c.optim.warmup_epochs
  )
  np.testing.assert_allclose(table["lr"][warm], expected)
  assert table["lr"][0] == pytest.approx(c.optim.warmup_start_lr)
  after = ~warm
  seg_lr = np.array([s.lr for s in plan.segments])[table["segment"]]
  np.testing.assert_allclose(table["lr"][after], seg_lr[after])
  # LR = base_lr · γ^stage · long-cycle batch factor; short-cycle batches do not scale it.
  for s in plan.segments:
    assert s.lr == pytest.approx(c.optim.base_lr * c.optim.gamma**s.stage * s.batch_factor)


def test_cosine_lr():
  c = small("long_short", "cosine", optim__warmup_epochs=0.0)
  plan = multigrid.Plan.from_config(c)
  table = plan.step_table()
  factor = np.array([s.batch_factor for s in plan.segments])[table["segment"]]
  expected = c.optim.base_lr * factor * (np.cos(np.pi * table["epoch"] / plan.max_epoch) + 1) / 2
  np.testing.assert_allclose(table["lr"], expected, rtol=1e-9)
  base = multigrid.Plan.from_config(small("baseline", "cosine", optim__warmup_epochs=0.0))
  lr = base.step_table()["lr"]
  assert np.all(np.diff(lr) <= 0) and lr[0] == pytest.approx(c.optim.base_lr)


def test_long_cycle_only_gives_equal_iterations_per_shape():
  """The reference crashes here; we give every shape of a stage the same iterations."""
  c = kinetics_multigrid()
  c.multigrid.short_cycle = False
  plan = multigrid.Plan.from_config(c)
  assert all(len(s.short_cycle) == 1 for s in plan.segments)
  assert [s.batch_factor for s in plan.segments[:4]] == [8, 4, 2, 1]
  for stage in range(3):
    segs = [s for s in plan.segments if s.stage == stage and not s.finetune]
    total = sum(s.end_epoch - s.start_epoch for s in segs)
    # Epochs ∝ batch factor (equal iterations), up to the integer rounding of the ends.
    for s in segs:
      assert abs((s.end_epoch - s.start_epoch) - total * s.batch_factor / 15) <= 1.0
  assert plan.segments[-1].finetune and plan.segments[-1].batch_factor == 1


def test_short_cycle_only_stretches_steps():
  c = kinetics_multigrid()
  c.multigrid.long_cycle = False
  plan = multigrid.Plan.from_config(c)
  assert [s.end_epoch for s in plan.segments] == [141, 231, 294, 358]
  np.testing.assert_allclose([s.lr for s in plan.segments], [0.1, 0.01, 0.001, 0.0001])
  assert {(x.crop_size, x.batch_size) for s in plan.segments for x in s.short_cycle} == {
      (112, 256),
      (158, 128),
      (224, 64),
  }


def test_single_cycle_has_no_finetune_and_one_pass_over_shapes():
  c = kinetics_multigrid()
  c.multigrid.long_cycle_mode = "single"
  plan = multigrid.Plan.from_config(c)
  assert not any(s.finetune for s in plan.segments)
  frames = [s.num_frames for s in plan.segments]
  assert frames == sorted(frames)  # Small shapes first, the base shape last, once.
  assert plan.segments[-1].crop_size == 224 and plan.segments[-1].num_frames == 32
  # Stepwise stages are the configured steps stretched with the run.
  stage_starts = sorted({(s.stage, s.start_epoch) for s in plan.segments})
  firsts = {}
  for stage, start in stage_starts:
    firsts.setdefault(stage, start)
  assert [firsts[k] for k in sorted(firsts)] == [round(x * 1.5) for x in (0, 94, 154, 196)]
  multi = multigrid.Plan.from_config(kinetics_multigrid())
  assert plan.summary()["theoretical_speedup"] > multi.summary()["theoretical_speedup"]


def test_cost_and_speedups():
  plan = multigrid.Plan.from_config(small("long_short"))
  table = plan.step_table()
  brute = int(np.sum(table["batch_size"] * table["num_frames"] * table["crop_size"] ** 2))
  assert plan.cost == brute
  base = plan.baseline
  assert not base.long_cycle and not base.short_cycle
  assert base.max_epoch == 239 and base.distinct_shapes() == [plan.base_shape]
  s = plan.summary()
  assert s["theoretical_speedup"] == pytest.approx(base.cost / plan.cost)
  assert s["iteration_speedup"] == pytest.approx(base.num_steps / plan.num_steps)
  assert 2.5 < s["theoretical_speedup"] < 5
  assert sum(x["cost_share"] for x in s["segments"]) == pytest.approx(1.0)


def test_step_of_epoch():
  plan = multigrid.Plan.from_config(small("long_short", n=37))
  table = plan.step_table()
  for epoch in (0, 1, 10.5, 200):
    k = plan.step_of_epoch(epoch)
    assert table["example_offset"][k] >= epoch * 37
    assert k == 0 or table["example_offset"][k - 1] < epoch * 37
  assert plan.step_of_epoch(plan.max_epoch) == plan.num_steps


def test_multi_cycle_needs_two_stages():
  c = small("long_short", optim__steps=(0,))
  with pytest.raises(config_lib.ConfigError, match="optim.steps"):
    multigrid.Plan.from_config(c)
  c.multigrid.long_cycle_mode = "single"
  assert multigrid.Plan.from_config(c).num_steps > 0


def test_plan_has_no_jax_or_tf_import():
  import subprocess, sys  # pylint: disable=g-import-not-at-top,multiple-imports

  code = (
      "import sys; from mgjax import multigrid, config; "
      "multigrid.Plan.from_config(config.base()).summary(); "
      "print(any(m in sys.modules for m in ('jax', 'tensorflow')))"
  )
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "False"
