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
"""See a run's multigrid schedule before paying for it.

  python -m mgjax.schedule --config configs/kinetics/slowfast_r50_8x8_multigrid.py
  python -m mgjax.schedule --config configs/demo.py --json
  python -m mgjax.schedule --config configs/demo.py --plot schedule.png

Takes the same `--config` flag (and `--config.a.b=v` overrides) as `mgjax.main`.
"""

from __future__ import annotations

import json
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from mgjax import config as config_lib
from mgjax import multigrid



def _shape(b: int, t: int, s: int) -> str:
  return f"{b}x{t}x{s}²"


def format_table(plan: multigrid.Plan) -> str:
  """The plan as a readable table of segments and totals.

  Args:
    plan: the plan.

  Returns:
    The table as text.
  """
  summary = plan.summary()
  head = ("seg", "epochs", "steps", "shape BxTxS²", "short cycle (crop:batch)", "stride", "jitter",
          "bn", "lr", "compute")
  rows = []
  for s in summary["segments"]:
    lr = f"{s['lr_first_step']:.3g}"
    if abs(s["lr_first_step"] - s["lr_last_step"]) > 1e-12:
      lr += f"→{s['lr_last_step']:.3g}"
    rows.append((
        f"{s['index']}{'*' if s['finetune'] else ''}", f"{s['start_epoch']}-{s['end_epoch']}",
        str(s["steps"]), _shape(s["batch_size"], s["num_frames"], s["crop_size"]),
        " ".join(f"{c['crop_size']}:{c['batch_size']}" for c in s["short_cycle"]),
        "{}-{}".format(*s["stride_range"]), "{}-{}".format(*s["jitter_range"]),
        str(s["bn_group_size"]), lr, f"{100 * s['cost_share']:.1f}%"))
  widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
  fmt = lambda r: "  ".join(c.rjust(w) for c, w in zip(r, widths))
  lines = [fmt(head), fmt(tuple("-" * w for w in widths))] + [fmt(r) for r in rows]
  b0, t0, s0 = plan.base_shape
  lines += [
      "",
      ("* fine-tuning phase. " if any(s.finetune for s in plan.segments) else "")
      + f"base shape {_shape(b0, t0, s0)}, N = {plan.num_examples} clips/epoch, "
      f"LR policy {summary['lr_policy']}, warm-up {plan.config.optim.warmup_epochs:g} epochs",
      f"epochs   {summary['max_epoch']:>14}   baseline {summary['baseline_max_epoch']}",
      f"steps    {summary['steps']:>14,}   baseline {summary['baseline_steps']:,}"
      f"   iteration speedup {summary['iteration_speedup']:.2f}x",
      f"ΣB·T·S²  {summary['cost']:>14.4g}   baseline {summary['baseline_cost']:.4g}"
      f"   theoretical speedup {summary['theoretical_speedup']:.2f}x",
      f"shapes   {len(summary['distinct_shapes']):>14}   (one compiled step each)",
  ]
  return "\n".join(lines)


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


def plot(plan: multigrid.Plan, path: str) -> None:
  """Writes LR, crop, frames and batch over epochs as one PNG figure.

  The long-cycle shape is drawn as a line and the short cycle's range as a band
  around it (it changes every step, too fast to draw step by step).

  Args:
    plan: the plan.
    path: the PNG file to write.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  base = plan.baseline
  fig, axes = plt.subplots(4, 1, figsize=(10, 8.5), sharex=True)
  # LR per step, subsampled: warm-up and cosine change within a segment.
  for p, color, label in ((base, "0.55", "baseline"), (plan, "C0", "this run")):
    steps = np.unique(np.linspace(0, p.num_steps - 1, 4000).astype(np.int64))
    table = p.step_table()
    axes[0].plot(table["epoch"][steps], p.lr_at(steps), color=color, lw=1.3, label=label)
  axes[0].set_ylabel("learning rate")
  axes[0].set_yscale("log")
  axes[0].legend(loc="upper right")
  series = (("crop S (px)", "crop_size", False), ("frames T", "num_frames", False),
            ("global batch B", "batch_size", True))
  for ax, (label, key, log) in zip(axes[1:], series):
    bx, bline, _, _ = _segment_series(base, key)
    ax.plot(bx, bline, color="0.55", lw=1.3)
    xs, line, lo, hi = _segment_series(plan, key)
    ax.fill_between(xs, lo, hi, color="C0", alpha=0.25, lw=0,
                    label="short-cycle range" if plan.short_cycle else None)
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
      f"theoretical speedup {s['theoretical_speedup']:.2f}x", fontsize=10.5)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  config = flags.FLAGS.config
  if config is None:
    raise app.UsageError("--config is required.")
  try:
    config_lib.validate(config)
    plan = multigrid.Plan.from_config(config)
  except config_lib.ConfigError as e:
    sys.exit(f"error: {e}")
  if flags.FLAGS.json:
    print(json.dumps(plan.summary(), indent=1))
  else:
    print(format_table(plan))
  if flags.FLAGS.plot:
    plot(plan, flags.FLAGS.plot)
    if not flags.FLAGS.json:
      print(f"plot written to {flags.FLAGS.plot}")


if __name__ == "__main__":
  # Flags are defined here, not at import: the trainer imports this module's plot.
  config_flags.DEFINE_config_file("config", None, "Experiment config file.", lock_config=True)
  flags.DEFINE_bool("json", False, "Print the plan as one JSON document.")
  flags.DEFINE_string("plot", None, "Write the schedule figure to this PNG file.")
  app.run(main)
