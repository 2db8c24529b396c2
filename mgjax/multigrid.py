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
"""The multigrid plan: the one place that knows the training schedule.

From a config this module computes every fact of a run that depends on the
schedule: the segments (epoch ranges with one LR stage and one long-cycle shape),
the shape, LR and data position of every global step, and the cost. The input
pipeline, the trainer, the `schedule` CLI, the model report and the benchmarks all
read it. Pure Python and NumPy: no JAX or TensorFlow import, so it is cheap to use
anywhere. The trainer passes each step's LR from the table into the compiled step,
so an executable depends on the shape only, not on the schedule.

Rules (Wu et al., CVPR 2020, and the reference implementation where it runs):

* Long cycle: shapes (T0·t, S0·s) for the configured (t, s) factors. In the
  "multi" mode (default) one long cycle runs per LR stage of the stepwise
  schedule and the last stage is replaced by a fine-tuning phase at the base
  shape: its first half at the previous stage's base-shape LR, its second half
  ×γ. Within a stage each shape gets epochs ∝ its mean batch factor, i.e. the same
  number of iterations; the fine-tuning phase gets the same iteration saving as the
  rest; the whole schedule is stretched to `epoch_factor` × the baseline's epochs
  and segment ends are cumulative epochs rounded to integers (as the reference).
* Batch factor of a shape: round(T0·S0² / (T·S²)) (8, 4, 2, 1 at S0 = 224), and
  LR = base_lr · γ^stage · long-cycle batch factor (the short cycle's larger
  batches do not scale the LR).
* Short cycle: the step's crop rotates smallest first through S0·f for the two
  short-cycle factors and then the long-cycle S ("base", the reference's
  behaviour), or S·f ("current"); batch factor round((S_long / crop)²). The
  rotation restarts at each segment.
* "single" long-cycle mode (supplement §1.2): one long cycle over the whole
  stretched run, no fine-tuning phase; stepwise LR stages are the configured steps
  stretched by the same factor, and segments are split where a stage changes.
* Short cycle only: steps and max epoch ×epoch_factor (as the reference).
* Long cycle only: the reference crashes here (it indexes the shape list with
  [2]); we use the long-cycle shape itself, so each stage's shapes get equal
  iterations exactly as in the long+short mode.
* Cosine LR (supplement §1.3): the same segments, LR = end + (base_lr · bf −
  end)·(1 + cos(π·epoch / max_epoch))/2, bf the long-cycle batch factor.
* Warm-up: linear in epochs from `warmup_start_lr` at epoch 0 to the scheduled
  LR at `warmup_epochs` (epochs of this run, as the reference).
* Steps: epoch e starts at example e·N (N = data.num_train_examples); a step's
  first example decides its segment; the run ends with the last step that starts
  before max_epoch·N.
* Temporal stride of a clip with T < T0: uniform integer in [τ, τ·(T0 // T)];
  short-side jitter: low bound × crop/S0 (rounded), high bound unchanged.
* BatchNorm groups: 8 (`bn_group_size`) clips of the long-cycle shape, i.e.
  8 × the short-cycle batch factor clips of the step.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import math
from typing import Any

import ml_collections
import numpy as np

from mgjax import config as config_lib


@dataclasses.dataclass(frozen=True)
class ShortCycleShape:
  """One position of the short cycle: the step's crop and global batch."""

  crop_size: int
  batch_size: int


@dataclasses.dataclass(frozen=True)
class Segment:
  """An epoch range with one LR stage and one long-cycle shape.

  Attributes:
    index: position in the plan.
    start_epoch: first epoch (integer boundary of the schedule).
    end_epoch: end epoch (exclusive).
    stage: LR stage (index into optim.steps; len(steps) - 1 in the fine-tune phase).
    lr: the stepwise LR of the segment (for cosine: the peak LR of the segment's
      batch factor, the cosine factor is applied per step).
    batch_factor: long-cycle batch factor (batch_size / optim.batch_size).
    batch_size: global batch of the long-cycle shape.
    num_frames: T of the long-cycle shape.
    crop_size: S of the long-cycle shape.
    short_cycle: the rotation of (crop, batch) of the steps, smallest crop first;
      a single entry when the short cycle is off.
    stride_range: inclusive range of temporal sampling strides.
    jitter_low: low bound of the short-side jitter at the long-cycle crop.
    jitter_high: high bound of the short-side jitter.
    bn_group_size: clips per BN group at the long-cycle shape.
    finetune: whether the segment belongs to the fine-tuning phase.
    first_step: global index of the segment's first step.
    num_steps: steps in the segment.
    first_example: offset in the run of the segment's first example.
  """

  index: int
  start_epoch: int
  end_epoch: int
  stage: int
  lr: float
  batch_factor: int
  batch_size: int
  num_frames: int
  crop_size: int
  short_cycle: tuple[ShortCycleShape, ...]
  stride_range: tuple[int, int]
  jitter_low: int
  jitter_high: int
  bn_group_size: int
  finetune: bool
  first_step: int = 0
  num_steps: int = 0
  first_example: int = 0

  @property
  def jitter_range(self) -> tuple[int, int]:
    return (self.jitter_low, self.jitter_high)

  @property
  def cycle_examples(self) -> int:
    return sum(s.batch_size for s in self.short_cycle)


@dataclasses.dataclass(frozen=True)
class StepSpec:
  """Everything about one global step that the pipeline and the trainer need."""

  step: int
  batch_size: int
  num_frames: int
  crop_size: int
  stride_range: tuple[int, int]
  jitter_range: tuple[int, int]
  lr: float
  epoch: float
  example_offset: int
  segment: int
  short_cycle_index: int
  bn_group_size: int


def _batch_factor(t0: int, s0: float, t: int, s: float) -> int:
  return int(round(t0 * s0 * s0 / (t * s * s)))


class Plan:
  """The multigrid plan of a run; see the module docstring for the rules.

  Attributes:
    config: the config the plan was built from.
    segments: the segments in order.
    num_steps: total number of global steps.
    max_epoch: the run's length in epochs.
    num_examples: examples per epoch (N).
    base_shape: (global batch, T, S) of the base shape.
  """

  def __init__(self, config: ml_collections.ConfigDict):
    self.config = config
    d, o, m = config.data, config.optim, config.multigrid
    self.num_examples = int(d.num_train_examples)
    self.base_shape = (int(o.batch_size), int(d.num_frames), int(d.crop_size))
    self.long_cycle = bool(m.long_cycle)
    self.short_cycle = bool(m.short_cycle)
    self.cosine = o.lr_policy == "cosine"
    raw = self._raw_segments()
    self.max_epoch = raw[-1][1]
    self.segments = self._place_steps(raw)
    last = self.segments[-1]
    self.num_steps = last.first_step + last.num_steps
    self._first_steps = [s.first_step for s in self.segments]
    # The LR at the end of warm-up: the scheduled LR at that epoch.
    self._warmup_end_lr = self._scheduled_lr(float(o.warmup_epochs))

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "Plan":
    """Builds the plan of `config` (see the module docstring)."""
    return cls(config)

  # ---------------------------------------------------------------- shapes
  def _long_cycle_shapes(self) -> list[tuple[int, int]]:
    """(T, S) of each long-cycle shape, or the base shape alone."""
    t0, s0 = self.base_shape[1:]
    if not self.long_cycle:
      return [(t0, s0)]
    return [
        (max(1, int(round(t0 * t))), int(round(s0 * s)))
        for t, s in self.config.multigrid.long_cycle_factors
    ]

  def _short_crops(self, s_long: int) -> list[tuple[float, int]]:
    """The short-cycle crops at long-cycle crop `s_long`, smallest first.

    Returns:
      (unrounded crop used by the reference's schedule, integer crop) pairs.
    """
    s0 = self.base_shape[2]
    if not self.short_cycle:
      return [(float(s_long), s_long)]
    ref = s0 if self.config.multigrid.short_cycle_relative == "base" else s_long
    crops = []
    for f in self.config.multigrid.short_cycle_factors:
      # A short crop above the long-cycle crop (possible with "base" and custom
      # long-cycle factors) would give batch factor 0 in the reference; clamp it.
      exact = min(ref * f, float(s_long))
      crops.append((exact, min(int(round(ref * f)), s_long)))
    crops.append((float(s_long), s_long))
    return crops

  def _shape_info(self, t: int, s: int) -> dict[str, Any]:
    """Batch factors, short cycle and mean schedule batch of one long-cycle shape."""
    b0, t0, s0 = self.base_shape
    long_bf = _batch_factor(t0, s0, t, s)
    crops = self._short_crops(s)
    short = tuple(
        ShortCycleShape(c, b0 * long_bf * max(1, int(round((s / c) ** 2)))) for _, c in crops
    )
    # The reference weighs shapes by the mean batch factor of the short cycle's
    # shapes relative to the base shape, from the unrounded crops.
    mean_bf = float(np.mean([_batch_factor(t0, s0, t, c) for c, _ in crops]))
    return dict(t=t, s=s, long_bf=long_bf, short=short, mean_bf=mean_bf)

  # -------------------------------------------------------------- segments
  def _raw_segments(self) -> list[tuple[int, int, int, dict[str, Any], bool]]:
    """(start_epoch, end_epoch, stage, shape info, finetune) of each segment."""
    o, m = self.config.optim, self.config.multigrid
    steps = [int(s) for s in o.steps]
    max_epoch = int(o.max_epoch)
    infos = [self._shape_info(t, s) for t, s in self._long_cycle_shapes()]
    if not self.long_cycle:
      if self.short_cycle:  # The reference stretches steps and max epoch.
        steps = [int(s * m.epoch_factor) for s in steps]
        max_epoch = int(max_epoch * m.epoch_factor)
      bounds = steps + [max_epoch]
      return [
          (bounds[i], bounds[i + 1], i, infos[0], False)
          for i in range(len(steps))
          if bounds[i + 1] > bounds[i]
      ]
    if m.long_cycle_mode == "single":
      return self._single_cycle(infos, steps, max_epoch)
    return self._multi_cycle(infos, steps, max_epoch)

  def _multi_cycle(self, infos, steps, max_epoch):
    """One long cycle per LR stage and a fine-tuning phase (the reference)."""
    m = self.config.multigrid
    if len(steps) < 2:
      raise config_lib.ConfigError(
          f"config.optim.steps = {tuple(steps)!r} is invalid: multigrid.long_cycle_mode='multi' needs"
          " at least two LR stages (the last becomes the fine-tuning phase); use 'single'"
      )
    total_bf = sum(i["mean_bf"] for i in infos)
    entries, total_iters = [], 0.0
    for stage in range(len(steps) - 1):
      stage_epochs = steps[stage + 1] - steps[stage]
      for info in infos:
        epochs = stage_epochs * info["mean_bf"] / total_bf
        total_iters += epochs / info["mean_bf"]
        entries.append((stage, info, epochs, False))
    iter_saving = steps[-1] / total_iters
    ft_epochs = (max_epoch - steps[-1]) / iter_saving * infos[-1]["mean_bf"]
    entries.append((len(steps) - 1, infos[-1], ft_epochs, True))
    scale = max_epoch * m.epoch_factor / sum(e[2] for e in entries)
    raw, start, cum = [], 0, 0.0
    for stage, info, epochs, ft in entries:
      cum += epochs * scale
      end = int(round(cum))
      if ft:  # Two halves: the previous stage's base-shape LR, then ×γ.
        mid = (start + end) // 2
        raw.append((start, mid, stage - 1, info, True))
        raw.append((mid, end, stage, info, True))
      else:
        raw.append((start, end, stage, info, False))
      start = end
    return [r for r in raw if r[1] > r[0]]

  def _single_cycle(self, infos, steps, max_epoch):
    """One long cycle over the whole stretched run (supplement §1.2)."""
    total = max_epoch * self.config.multigrid.epoch_factor
    total_bf = sum(i["mean_bf"] for i in infos)
    shape_ends, cum = [], 0.0
    for info in infos:
      cum += total * info["mean_bf"] / total_bf
      shape_ends.append(int(round(cum)))
    stage_starts = [int(round(s * total / max_epoch)) for s in steps]
    bounds = sorted(set([0] + shape_ends + stage_starts))
    raw = []
    for start, end in zip(bounds[:-1], bounds[1:]):
      info = infos[bisect.bisect_right(shape_ends, start)]
      stage = bisect.bisect_right(stage_starts, start) - 1
      raw.append((start, end, stage, info, False))
    return raw

  def _place_steps(self, raw) -> list[Segment]:
    """Turns raw segments into Segments with their steps and example offsets."""
    d, o, m = self.config.data, self.config.optim, self.config.multigrid
    b0, t0, s0 = self.base_shape
    tau, (j_lo, j_hi) = int(d.sampling_rate), d.jitter_scales
    n = self.num_examples
    segments, step, offset = [], 0, 0
    for index, (start, end, stage, info, ft) in enumerate(raw):
      batches = [s.batch_size for s in info["short"]]
      cycle = sum(batches)
      limit = end * n
      num = 0
      if offset < limit:  # A segment can be empty after a large overshoot.
        full, rest = divmod(limit - offset, cycle)
        num = full * len(batches)
        prefix = np.cumsum([0] + batches[:-1])
        num += int(np.sum(prefix < rest)) if rest else 0
      seg = Segment(
          index=index,
          start_epoch=start,
          end_epoch=end,
          stage=stage,
          lr=float(o.base_lr * o.gamma**stage * info["long_bf"]),
          batch_factor=info["long_bf"],
          batch_size=b0 * info["long_bf"],
          num_frames=info["t"],
          crop_size=info["s"],
          short_cycle=info["short"],
          stride_range=(tau, tau * max(1, t0 // info["t"])),
          jitter_low=int(round(j_lo * info["s"] / s0)),
          jitter_high=int(j_hi),
          bn_group_size=int(m.bn_group_size),
          finetune=ft,
          first_step=step,
          num_steps=num,
          first_example=offset,
      )
      segments.append(seg)
      q, r = divmod(num, len(batches))
      offset += q * cycle + sum(batches[:r])
      step += num
    return segments

  # -------------------------------------------------------------- LR
  def _scheduled_lr(self, epoch: float) -> float:
    """The LR at `epoch` without warm-up (segment of the epoch, not of a step)."""
    idx = max(0, bisect.bisect_right([s.start_epoch for s in self.segments], epoch) - 1)
    seg = self.segments[idx]
    if not self.cosine:
      return seg.lr
    return float(self._cosine(self.config.optim.base_lr * seg.batch_factor, epoch))

  def _cosine(self, peak, epoch):
    """Half-cosine from `peak` at epoch 0 to `optim.cosine_end_lr` at the last epoch
    (scalars or arrays)."""
    end = self.config.optim.cosine_end_lr
    return end + (peak - end) * (np.cos(math.pi * np.asarray(epoch) / self.max_epoch) + 1.0) * 0.5

  @functools.cached_property
  def _arrays(self) -> dict[str, np.ndarray]:
    """Per-segment arrays for vectorised per-step look-ups."""
    pad = 3  # At most three short-cycle positions.
    prefix = np.zeros((len(self.segments), pad), np.int64)
    for i, s in enumerate(self.segments):
      b = [x.batch_size for x in s.short_cycle]
      prefix[i, : len(b)] = np.cumsum([0] + b[:-1])
    return dict(
        first_step=np.array(self._first_steps, np.int64),
        first_example=np.array([s.first_example for s in self.segments], np.int64),
        cycle_len=np.array([len(s.short_cycle) for s in self.segments], np.int64),
        cycle_examples=np.array([s.cycle_examples for s in self.segments], np.int64),
        prefix=prefix,
        lr=np.array([s.lr for s in self.segments], np.float64),
        peak=np.array(
            [self.config.optim.base_lr * s.batch_factor for s in self.segments], np.float64
        ),
    )

  def lr_at(self, steps) -> np.ndarray:
    """The LR of global steps (vectorised).

    Args:
      steps: integer array (or scalar) of global steps.

    Returns:
      The LR of each step (float64).
    """
    a = self._arrays
    o = self.config.optim
    steps = np.clip(np.asarray(steps), 0, self.num_steps - 1)
    seg = np.searchsorted(a["first_step"], steps, side="right") - 1
    epoch = self._epoch_of(steps, seg)
    if self.cosine:
      lr = self._cosine(a["peak"][seg], epoch)
    else:
      lr = a["lr"][seg]
    if o.warmup_epochs > 0:
      slope = (self._warmup_end_lr - o.warmup_start_lr) / o.warmup_epochs
      lr = np.where(epoch < o.warmup_epochs, o.warmup_start_lr + epoch * slope, lr)
    return lr

  def _epoch_of(self, steps, seg):
    a = self._arrays
    j = steps - a["first_step"][seg]
    length = a["cycle_len"][seg]
    q, r = j // length, j % length
    offset = a["first_example"][seg] + q * a["cycle_examples"][seg] + a["prefix"][seg, r]
    return offset / self.num_examples

  # -------------------------------------------------------------- steps
  def step_table(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
    """The per-step table for steps [start, stop).

    Returns:
      Columns (one entry per step): step, batch_size, num_frames, crop_size,
      stride_lo, stride_hi, jitter_lo, jitter_hi, lr, epoch, example_offset,
      segment, short_cycle_index, bn_group_size.
    """
    stop = self.num_steps if stop is None else min(stop, self.num_steps)
    steps = np.arange(start, max(start, stop), dtype=np.int64)
    a = self._arrays
    seg = np.searchsorted(a["first_step"], steps, side="right") - 1
    j = steps - a["first_step"][seg]
    r = j % a["cycle_len"][seg]
    offset = (
        a["first_example"][seg]
        + (j // a["cycle_len"][seg]) * a["cycle_examples"][seg]
        + a["prefix"][seg, r]
    )
    per_seg = lambda f: np.array([f(s) for s in self.segments], np.int64)
    crop = np.zeros((len(self.segments), 3), np.int64)
    batch = np.zeros((len(self.segments), 3), np.int64)
    group = np.zeros((len(self.segments), 3), np.int64)
    for i, s in enumerate(self.segments):
      for p, sc in enumerate(s.short_cycle):
        crop[i, p], batch[i, p] = sc.crop_size, sc.batch_size
        group[i, p] = s.bn_group_size * sc.batch_size // s.batch_size
    s0, j_lo = self.base_shape[2], self.config.data.jitter_scales[0]
    crops = crop[seg, r]
    return dict(
        step=steps,
        batch_size=batch[seg, r],
        num_frames=per_seg(lambda s: s.num_frames)[seg],
        crop_size=crops,
        stride_lo=per_seg(lambda s: s.stride_range[0])[seg],
        stride_hi=per_seg(lambda s: s.stride_range[1])[seg],
        jitter_lo=np.rint(j_lo * crops / s0).astype(np.int64),
        jitter_hi=per_seg(lambda s: s.jitter_high)[seg],
        lr=self.lr_at(steps),
        epoch=offset / self.num_examples,
        example_offset=offset,
        segment=seg,
        short_cycle_index=r,
        bn_group_size=group[seg, r],
    )

  def step(self, k: int) -> StepSpec:
    """The spec of global step k."""
    if not 0 <= k < self.num_steps:
      raise IndexError(f"step {k} outside the plan's {self.num_steps} steps")
    row = {key: v[0].item() for key, v in self.step_table(k, k + 1).items()}
    return StepSpec(
        step=k,
        batch_size=row["batch_size"],
        num_frames=row["num_frames"],
        crop_size=row["crop_size"],
        stride_range=(row["stride_lo"], row["stride_hi"]),
        jitter_range=(row["jitter_lo"], row["jitter_hi"]),
        lr=row["lr"],
        epoch=row["epoch"],
        example_offset=row["example_offset"],
        segment=row["segment"],
        short_cycle_index=row["short_cycle_index"],
        bn_group_size=row["bn_group_size"],
    )

  def segment_of_step(self, k: int) -> Segment:
    return self.segments[bisect.bisect_right(self._first_steps, k) - 1]

  def distinct_shapes(self) -> list[tuple[int, int, int]]:
    """The distinct (global batch, T, S) of the run's steps, in order of first use."""
    seen = {}
    for s in self.segments:
      for p, sc in enumerate(s.short_cycle):
        if p < s.num_steps:
          seen.setdefault((sc.batch_size, s.num_frames, sc.crop_size), None)
    return list(seen)

  def step_of_epoch(self, epoch: float) -> int:
    """The first step whose first example is at or after `epoch`·N."""
    target = int(math.ceil(epoch * self.num_examples))
    idx = bisect.bisect_right([s.first_example for s in self.segments], target) - 1
    idx = max(idx, 0)
    for s in self.segments[idx:]:
      t = self.step_table(s.first_step, s.first_step + s.num_steps)
      hit = np.nonzero(t["example_offset"] >= target)[0]
      if hit.size:
        return int(t["step"][hit[0]])
    return self.num_steps

  # -------------------------------------------------------------- cost
  def segment_cost(self, seg: Segment) -> int:
    """Σ B·T·S² over the segment's steps."""
    q, r = divmod(seg.num_steps, len(seg.short_cycle))
    per = [sc.batch_size * seg.num_frames * sc.crop_size**2 for sc in seg.short_cycle]
    return q * sum(per) + sum(per[:r])

  @functools.cached_property
  def cost(self) -> int:
    """Σ B·T·S² over the run (pixels × frames processed, forward)."""
    return sum(self.segment_cost(s) for s in self.segments)

  @functools.cached_property
  def baseline(self) -> "Plan":
    """The same config with multigrid off: base shape, base epochs, base LR."""
    if not (self.long_cycle or self.short_cycle):
      return self
    c = self.config.copy_and_resolve_references()
    with c.unlocked():
      c.multigrid.long_cycle = False
      c.multigrid.short_cycle = False
    return Plan(c)

  def summary(self) -> dict[str, Any]:
    """The plan as a JSON-friendly dict (the `schedule --json` document)."""
    base = self.baseline
    segs = []
    for s in self.segments:
      ends = self.lr_at(np.array([s.first_step, s.first_step + max(s.num_steps, 1) - 1]))
      segs.append(
          dict(
              index=s.index,
              start_epoch=s.start_epoch,
              end_epoch=s.end_epoch,
              stage=s.stage,
              finetune=s.finetune,
              lr=s.lr,
              lr_first_step=float(ends[0]),
              lr_last_step=float(ends[1]),
              batch_size=s.batch_size,
              num_frames=s.num_frames,
              crop_size=s.crop_size,
              short_cycle=[
                  dict(crop_size=c.crop_size, batch_size=c.batch_size) for c in s.short_cycle
              ],
              stride_range=list(s.stride_range),
              jitter_range=list(s.jitter_range),
              bn_group_size=s.bn_group_size,
              first_step=s.first_step,
              steps=s.num_steps,
              cost=self.segment_cost(s),
              cost_share=self.segment_cost(s) / self.cost,
          )
      )
    return dict(
        max_epoch=self.max_epoch,
        num_examples=self.num_examples,
        base_shape=dict(zip(("batch_size", "num_frames", "crop_size"), self.base_shape)),
        lr_policy=self.config.optim.lr_policy,
        segments=segs,
        steps=self.num_steps,
        cost=self.cost,
        baseline_steps=base.num_steps,
        baseline_cost=base.cost,
        baseline_max_epoch=base.max_epoch,
        iteration_speedup=base.num_steps / self.num_steps,
        theoretical_speedup=base.cost / self.cost,
        distinct_shapes=[list(s) for s in self.distinct_shapes()],
    )
