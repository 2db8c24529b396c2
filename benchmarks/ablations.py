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
"""The supplement's ablations at small scale, next to the published numbers.

  python benchmarks/ablations.py --seeds 0,1,2     # the demo config, 3 seeds (hours on 2 cores)
  python benchmarks/ablations.py --quick           # 1 seed, 3 runs, fewer videos and epochs
  python benchmarks/ablations.py --quick --runs baseline --config.optim.max_epoch=1

The config's fields are overridden as for `python -m mgjax.main`
(`--config.a.b=v`); such overrides win over `--quick`'s.

On the synthetic motion dataset with the demo's small SlowFast (`--config`), the rows
of the supplement's tables that run here:

  §1.2 long-cycle design   baseline, multigrid single-cycle, multi-cycle (default)
  §1.3 LR schedule         stepwise baseline / multigrid; cosine baseline, cosine
                           multigrid with a single and with multiple long cycles
  §1.4 testing             centre crop at S0, 3 crops at S0 and at S0·256/224, for the
                           stepwise baseline and multigrid models (the paper's 224 and
                           256 test sizes relative to its 224 training crop)

Six trainings per seed (the stepwise baseline and multi-cycle runs are shared by the
tables); speedups are the plan's theoretical Σ B·T·S² ratio and the measured
training-loop time ratio to the baseline of the same LR policy. With several seeds the
cells are mean ± standard deviation over seeds, and each multigrid row says whether
its top-1 difference to the baseline exceeds the noise (2 standard errors of the
difference; with one seed the test set's binomial error is the only noise estimate).
§1.1 (R101) and the 64-frame model do not fit a CPU.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import tempfile
from typing import Any, Sequence

from absl import app
from absl import flags
from ml_collections import config_flags

import common  # pylint: disable=g-bad-import-order

# name: (LR policy, multigrid on, long-cycle mode)
RUNS = {
    "baseline": ("steps", False, "multi"),
    "mg_multi": ("steps", True, "multi"),
    "mg_single": ("steps", True, "single"),
    "cos_baseline": ("cosine", False, "multi"),
    "cos_mg_single": ("cosine", True, "single"),
    "cos_mg_multi": ("cosine", True, "multi"),
}
BASELINE_OF = {
    "mg_multi": "baseline",
    "mg_single": "baseline",
    "cos_mg_single": "cos_baseline",
    "cos_mg_multi": "cos_baseline",
}

# The supplement's numbers (Kinetics-400, R50-SlowFast; §1.4: the 64-frame model).
PUBLISHED = {
    "baseline": ("-", 75.6, 91.9),
    "mg_multi": ("4.5×", 76.4, 92.4),
    "mg_single": ("5.2×", 74.4, 91.8),
    "cos_baseline": ("-", 75.8, 92.0),
    "cos_mg_single": ("5.2×", 75.4, 92.1),
    "cos_mg_multi": ("4.2×", 75.3, 92.1),
}
PUBLISHED_TEST = {  # (centre 224, 3-crop 224, 3-crop 256) × (top-1, top-5)
    "baseline": ((75.9, 92.1), (76.5, 92.2), (77.2, 92.5)),
    "mg_multi": ((77.6, 93.2), (78.1, 93.5), (78.1, 93.4)),
}

# --quick: one seed, a fifth of the demo's videos, 3 epochs, and the §1.2 / §1.4 runs only
# (the multigrid runs share most step shapes, so most compiles are paid once: minutes on 2 cores).
QUICK_RUNS = "baseline,mg_multi,mg_single"
QUICK = {
    "data.synthetic_videos": 200,
    "optim.steps": (0, 2),
    "optim.max_epoch": 3,
    "optim.warmup_epochs": 0.25,
    "train.precise_bn_batches": 4,
    "train.checkpoint_every_steps": 1000,
    "train.eval_every_epochs": 0.0,
}


_CONFIG = config_flags.DEFINE_config_file(
    "config",
    "configs/demo.py",
    "Experiment config file; override its fields with --config.a.b=v.",
    lock_config=True,
)
_QUICK = flags.DEFINE_bool(
    "quick", False, "1 seed, fewer videos and epochs (see QUICK; " "--config.a.b=v overrides win)."
)
_SEEDS = flags.DEFINE_list("seeds", ["0"], "Comma-separated seeds (config.seed).")
_RUNS = flags.DEFINE_list(
    "runs", [], "Subset of " + ", ".join(RUNS) + " (default: all; --quick: " + QUICK_RUNS + ")."
)
_NO_TEST_SETTINGS = flags.DEFINE_bool("no_test_settings", False, "Skip §1.4.")
_WORKDIR = flags.DEFINE_string("workdir", "", "Run directories (default: a temporary one).")
_OUTDIR = flags.DEFINE_string("outdir", common.DEFAULT_OUTDIR, "Reports go here.")


def run_config(config, name: str, seed: int):
  policy, mg, mode = RUNS[name]
  config = config.copy_and_resolve_references()
  config.update_from_flattened_dict(
      {
          "seed": seed,
          "optim.lr_policy": policy,
          "multigrid.long_cycle": mg,
          "multigrid.short_cycle": mg,
          "multigrid.long_cycle_mode": mode,
      }
  )
  return config


def test_settings(config) -> list[tuple[str, dict[str, Any]]]:
  """The §1.4 test settings scaled to the training crop S0 (the paper's 224)."""
  s0 = config.data.crop_size
  large = int(round(s0 * 256 / 224))
  views = dict(preset="custom", num_temporal_views=config.eval.num_temporal_views)
  return [
      (f"centre {s0}²", dict(views, num_spatial_crops=1, crop_size=s0)),
      (f"3-crop {s0}²", dict(views, num_spatial_crops=3, crop_size=s0)),
      (f"3-crop {large}²", dict(views, num_spatial_crops=3, crop_size=large)),
  ]


def evaluate_settings(config, workdir: str, final: dict[str, Any]) -> list[dict[str, Any]]:
  """The run's final checkpoint under each test setting (precise BN first).

  The setting the trainer's final evaluation already used is taken from `final`.
  """
  from mgjax import evaluate  # pylint: disable=g-import-not-at-top
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  out = []
  for label, fields in test_settings(config):
    c = config.copy_and_resolve_references()
    c.update_from_flattened_dict({f"eval.{k}": v for k, v in fields.items()})
    if pipeline.eval_views(c) == pipeline.eval_views(config) and "top1" in final:
      metrics = final
    else:
      metrics = evaluate.evaluate_checkpoint(c, workdir)["metrics"]
    out.append(
        dict(
            setting=label,
            top1=metrics["top1"],
            top5=metrics["top5"],
            num_videos=metrics["num_videos"],
        )
    )
  return out


# ----------------------------------------------------------------------------------------
# Statistics over seeds.


def cell(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
  values = [v * scale for v in values if v is not None]
  if not values:
    return "-"
  if len(values) == 1:
    return f"{values[0]:.{digits}f}"
  return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def noise_verdict(a: list[float], b: list[float], num_videos: int) -> str:
  """Whether mean(a) - mean(b) exceeds 2 standard errors of the difference."""
  diff = statistics.fmean(a) - statistics.fmean(b)
  if len(a) > 1 and len(b) > 1:
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    basis = f"seed std, n={len(a)}"
  else:  # One seed: the binomial error of an accuracy on num_videos test videos.
    p = min(max((statistics.fmean(a) + statistics.fmean(b)) / 2, 0.05), 0.95)
    se = math.sqrt(2 * p * (1 - p) / max(num_videos, 1))
    basis = f"binomial, {num_videos} videos"
  within = abs(diff) <= 2 * se
  return (
      f"{100 * diff:+.1f} ({'within noise' if within else 'beyond noise'}: 2·SE = "
      f"{200 * se:.1f}, {basis})"
  )


# ----------------------------------------------------------------------------------------
# Tables in the supplement's layout.


def _row(results, name: str, label: tuple[str, str]) -> list[Any]:
  rs = results[name]
  base = results.get(BASELINE_OF.get(name, name), rs)
  measured = [b["train_seconds"] / r["train_seconds"] for r, b in zip(rs, base)]
  mg = RUNS[name][1]
  theor = f"{rs[0]['theoretical_speedup']:.2f}×" if mg else "-"
  meas = (cell(measured, 1, 2) + "×") if mg else "-"
  top1 = [r["final"].get("top1") for r in rs]
  top5 = [r["final"].get("top5") for r in rs]
  pub = PUBLISHED[name]
  verdict = "-"
  if mg:
    verdict = noise_verdict(top1, [b["final"]["top1"] for b in base], rs[0]["final"]["num_videos"])
  return [
      *label,
      theor,
      meas,
      cell(top1),
      cell(top5),
      pub[0],
      f"{pub[1]:.1f}",
      f"{pub[2]:.1f}",
      verdict,
  ]


HEAD = (
    "speedup (theor.)",
    "speedup (measured)",
    "top-1",
    "top-5",
    "published speedup",
    "published top-1",
    "published top-5",
    "Δ top-1 vs baseline",
)


def tables(results: dict[str, list[dict[str, Any]]], tests: dict[str, list[list[dict]]]) -> str:
  rows = lambda spec: [
      _row(results, n, label) if n in results else [*label] + ["not run"] + [""] * 7
      for n, label in spec
  ]
  t12 = rows(
      [
          ("baseline", ("Baseline", "-")),
          ("mg_single", ("Multigrid", "single-cycle")),
          ("mg_multi", ("Multigrid", "multi-cycle (default)")),
      ]
  )
  t13 = rows(
      [
          ("baseline", ("Stepwise (default)", "Baseline")),
          ("mg_multi", ("Stepwise (default)", "Multigrid")),
          ("cos_baseline", ("Cosine", "Baseline")),
          ("cos_mg_single", ("Cosine", "Multigrid (single long cyc.)")),
          ("cos_mg_multi", ("Cosine", "Multigrid (multi long cyc.)")),
      ]
  )
  out = [
      "### §1.2 Long cycle design",
      "",
      common.markdown_table(("", "long cycle design") + HEAD, t12),
      "",
      "### §1.3 Cosine learning rate schedule",
      "",
      common.markdown_table(("LR schedule", "") + HEAD, t13),
  ]
  if tests:
    settings = [s["setting"] for s in next(iter(tests.values()))[0]]
    rows = []
    for name, label in (("baseline", "Baseline"), ("mg_multi", "Multigrid")):
      if name not in tests:
        continue
      row = [label]
      for i in range(len(settings)):
        row += [
            cell([seed[i]["top1"] for seed in tests[name]]),
            cell([seed[i]["top5"] for seed in tests[name]]),
        ]
      row += [f"{a}/{b}" for a, b in PUBLISHED_TEST[name]]
      rows.append(row)
    head = (
        [""]
        + [f"{s} {m}" for s in settings for m in ("top-1", "top-5")]
        + ["published centre 224² (top-1/5)", "published 3-crop 224²", "published 3-crop 256²"]
    )
    out += ["", "### §1.4 Testing settings", "", common.markdown_table(head, rows)]
    for name, label in (("baseline", "baseline"), ("mg_multi", "multigrid")):
      if name not in tests:
        continue
      base = [seed[0]["top1"] for seed in tests[name]]
      for i in (1, 2):
        other = [seed[i]["top1"] for seed in tests[name]]
        out.append(
            f"- {label}, {settings[i]} vs {settings[0]}: "
            f"{noise_verdict(other, base, tests[name][0][0]['num_videos'])}"
        )
  return "\n".join(out)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  common.quiet_logs()
  common.hide_accelerators_from_tf()
  info = common.machine_info()
  quick = _QUICK.value
  config = common.flag_config(_CONFIG, QUICK if quick else {"train.eval_every_epochs": 0.0})
  seeds = [int(s) for s in _SEEDS.value]
  wanted = _RUNS.value or (QUICK_RUNS.split(",") if quick else list(RUNS))
  if set(wanted) - set(RUNS):
    raise app.UsageError(f"--runs: unknown {sorted(set(wanted) - set(RUNS))}; known: {list(RUNS)}")
  names = [n for n in RUNS if n in wanted]
  for n in list(names):  # Every multigrid row needs its baseline.
    if n in BASELINE_OF and BASELINE_OF[n] not in names:
      names.insert(0, BASELINE_OF[n])

  workdir = _WORKDIR.value or tempfile.mkdtemp(prefix="mgjax_ablations_")
  # One cache: runs and seeds with the same step shapes share executables (the LR is an input).
  cache = os.path.join(workdir, "compile_cache")
  results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
  tests: dict[str, list[list[dict]]] = {}
  for seed in seeds:
    for name in names:
      c = run_config(config, name, seed)
      c.train.compile_cache_dir = cache
      run_dir = os.path.join(workdir, f"{name}_seed{seed}")
      print(f"[{name} seed {seed}] training ...", flush=True)
      r = common.train_run(c, run_dir)
      r.pop("shapes")
      results[name].append(r)
      print(
          f"[{name} seed {seed}] {r['steps']} steps, {r['train_seconds']:.0f} s, top-1 "
          f"{100 * r['final'].get('top1', float('nan')):.1f}",
          flush=True,
      )
      if not _NO_TEST_SETTINGS.value and name in PUBLISHED_TEST:
        tests.setdefault(name, []).append(evaluate_settings(c, run_dir, r["final"]))
      shutil.rmtree(os.path.join(run_dir, "checkpoints"), ignore_errors=True)

  m = config.model
  text = "\n".join(
      [
          "## The supplement's ablations at small scale",
          "",
          common.describe_machine(info, os.getloadavg()),
          "",
          f"Model {m.name} width {m.width} depths {tuple(m.depths)} on the synthetic dataset "
          f"({config.data.synthetic_videos} videos), base shape {config.optim.batch_size}x"
          f"{config.data.num_frames}x{config.data.crop_size}², baseline {config.optim.max_epoch} epochs "
          f"(LR steps {tuple(config.optim.steps)}); seeds {seeds}. Published: Kinetics-400 R50-SlowFast "
          f"(§1.4: 64-frame R50-SlowFast)." + (" QUICK variant." if quick else ""),
          "",
          tables(results, tests),
      ]
  )
  print("\n" + text)
  name = "ablations" + ("_quick" if quick else "")
  common.write_report(
      _OUTDIR.value, name, info, text, dict(runs=results, test_settings=tests, seeds=seeds)
  )
  if not _WORKDIR.value:
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
  app.run(main)
