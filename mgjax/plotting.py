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
"""The schedule figure: LR, crop, frames and batch of a multigrid plan over epochs.

Drawn by the trainer into every workdir and by `python -m mgjax.schedule --plot`.
"""

from __future__ import annotations

from matplotlib import figure
import numpy as np

from mgjax import multigrid


def _segment_series(plan: multigrid.Plan, key: str):
  """Long-cycle value and short-cycle range of `key` per segment, as step lines."""
  xs, line, lo, hi = [], [], [], []
  for s in plan.segments:
    if key == "crop_size":
      values, long_value = [c.crop_size for c in s.short_cycle], s.crop_size
    elif key == "batch_size":
      values, long_value = [c.batch_size for c in s.short_cycle], s.batch_size
    else:
      values, long_value = [s.num_frames], s.num_frames
    xs += [s.start_epoch, s.end_epoch]
    line += [long_value] * 2
    lo += [min(values)] * 2
    hi += [max(values)] * 2
  return xs, line, lo, hi


def plot_schedule(plan: multigrid.Plan, path: str) -> None:
  """Writes LR, crop, frames and batch over epochs as one PNG figure.

  The long-cycle shape is drawn as a line and the short cycle's range as a band
  around it (it changes every step, too fast to draw step by step).

  Args:
    plan: the plan.
    path: the PNG file to write.
  """
  base = plan.baseline
  # A bare Figure, not pyplot: no backend to choose, nothing global changed for a
  # notebook that imports the trainer.
  fig = figure.Figure(figsize=(10, 8.5))
  axes = fig.subplots(4, 1, sharex=True)
  # LR per step, subsampled: warm-up and cosine change within a segment.
  for p, color, label in ((base, "0.55", "baseline"), (plan, "C0", "this run")):
    steps = np.unique(np.linspace(0, p.num_steps - 1, 4000).astype(np.int64))
    table = p.step_table()
    axes[0].plot(table["epoch"][steps], p.lr_at(steps), color=color, lw=1.3, label=label)
  axes[0].set_ylabel("learning rate")
  axes[0].set_yscale("log")
  axes[0].legend(loc="upper right")
  series = (
      ("crop S (px)", "crop_size", False),
      ("frames T", "num_frames", False),
      ("global batch B", "batch_size", True),
  )
  for ax, (label, key, log) in zip(axes[1:], series):
    bx, bline, _, _ = _segment_series(base, key)
    ax.plot(bx, bline, color="0.55", lw=1.3)
    xs, line, lo, hi = _segment_series(plan, key)
    ax.fill_between(
        xs,
        lo,
        hi,
        color="C0",
        alpha=0.25,
        lw=0,
        label="short-cycle range" if plan.short_cycle else None,
    )
    ax.plot(xs, line, color="C0", lw=1.3)
    ax.set_ylabel(label)
    if log:
      ax.set_yscale("log")
    if key == "crop_size" and plan.short_cycle:
      ax.legend(loc="lower right")
  for ax in axes:
    ax.grid(alpha=0.3)
  axes[-1].set_xlabel("epoch")
  s = plan.summary()
  fig.suptitle(
      f"{plan.config.model.name}: {s['steps']:,} steps over {s['max_epoch']} epochs "
      f"(baseline {s['baseline_steps']:,} over {s['baseline_max_epoch']}); "
      f"theoretical speedup {s['theoretical_speedup']:.2f}x",
      fontsize=10.5,
  )
  fig.tight_layout()
  fig.savefig(path, dpi=110)
