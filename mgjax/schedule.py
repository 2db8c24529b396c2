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
from mgjax import plotting

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file.", lock_config=True
)
_JSON = flags.DEFINE_bool("json", False, "Print the plan as one JSON document.")
_PLOT = flags.DEFINE_string("plot", None, "Write the schedule figure to this PNG file.")


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
  head = (
      "seg",
      "epochs",
      "steps",
      "shape BxTxS²",
      "short cycle (crop:batch)",
      "stride",
      "jitter",
      "bn",
      "lr",
      "compute",
  )
  rows = []
  for s in summary["segments"]:
    lr = f"{s['lr_first_step']:.3g}"
    if abs(s["lr_first_step"] - s["lr_last_step"]) > 1e-12:
      lr += f"→{s['lr_last_step']:.3g}"
    rows.append(
        (
            f"{s['index']}{'*' if s['finetune'] else ''}",
            f"{s['start_epoch']}-{s['end_epoch']}",
            str(s["steps"]),
            _shape(s["batch_size"], s["num_frames"], s["crop_size"]),
            " ".join(f"{c['crop_size']}:{c['batch_size']}" for c in s["short_cycle"]),
            "{}-{}".format(*s["stride_range"]),
            "{}-{}".format(*s["jitter_range"]),
            str(s["bn_group_size"]),
            lr,
            f"{100 * s['cost_share']:.1f}%",
        )
    )
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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  config = _CONFIG.value
  if config is None:
    raise app.UsageError("--config is required.")
  try:
    config_lib.validate(config)
    plan = multigrid.Plan.from_config(config)
  except config_lib.ConfigError as e:
    sys.exit(f"error: {e}")
  if _JSON.value:
    print(json.dumps(plan.summary(), indent=1))
  else:
    print(format_table(plan))
  if _PLOT.value:
    plotting.plot_schedule(plan, _PLOT.value)
    if not _JSON.value:
      print(f"plot written to {_PLOT.value}")


if __name__ == "__main__":
  app.run(main)
