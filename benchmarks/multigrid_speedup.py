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
"""Multigrid vs baseline: the same model and data, measured wall-clock speedup and accuracy.

  python benchmarks/multigrid_speedup.py --variants baseline,long_short   # one seed, ~80 min
  python benchmarks/multigrid_speedup.py                    # + the 4 ablation rows (~3 h)
  python benchmarks/multigrid_speedup.py --seeds 0,1,2      # 3 seeds of baseline and multigrid
  python benchmarks/multigrid_speedup.py --quick            # fewer videos and epochs (minutes)
  python benchmarks/multigrid_speedup.py --quick --config.optim.max_epoch=2 --config.optim.steps="(0,1)" --variants baseline

Trains the model of `--config` (default `configs/demo_stride8_pool.py`: the demo's small
SlowFast on the synthetic motion dataset at 48 base epochs) with the real trainer
(`train.train_and_evaluate`), one run after the other: the baseline (base shape, the
config's epochs) and default multigrid (long and short cycles, stepwise, multi-cycle) for
every seed of `--seeds`, and, for the first seed only, the supplement's ablations: the long
cycle only, the short cycle only, a single long cycle and the cosine LR (1.5x the epochs,
as the paper's budget rule).

For each run it reports the plan's steps and Σ B·T·S², the training-loop wall time
(compiles and evaluations excluded, as the trainer measures it), the measured speedup
over the baseline of the same seed and its ratio to the plan's theoretical speedup,
compile time, the input wait and the final multi-view accuracy on the test split; the
means and spreads over seeds; each final model's accuracy at other test crops (0.5x-2x
the training crop and one odd size, after precise BN, as the paper's 3-crop-256 rows);
the step time of every shape per B·T·S²; and where the time goes when measured <
theoretical. Accuracy against training time (an evaluation every
`--eval_every_epochs`) goes into one plot, with the mean over seeds.

The config's fields are overridden as for `python -m mgjax.main` (`--config.a.b=v`);
such overrides win over `--quick`'s and `--eval_every_epochs`.

The report (markdown, JSON, plot) is rewritten after every run. `--reuse_from` an
earlier report's JSON reuses its finished runs whose settings are the same, so the seeds
and ablation rows of one table can be run over several sittings, on one machine or on
several (`--seeds 0` today; `--seeds 0,1,2 --reuse_from=<its JSON>` tomorrow trains only
seeds 1 and 2). The report names every reused run's date, CPU and commit.

The measured speedup compares training loops; "speedup incl. compile" adds each
run's cold compile. Each run names its own compile cache directory (in its fresh
workdir), and JAX's persistent-cache key includes the directory, so no run reads
another's executables even though their step shapes overlap.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import tempfile
from typing import Any, Sequence

from absl import app
from absl import flags
from flax import traverse_util
from ml_collections import config_flags

import common  # pylint: disable=g-bad-import-order
import variants  # pylint: disable=g-bad-import-order
from variants import DEFAULT_VARIANTS, LABELS, PAPER, PAPER_VIEWS, REFERENCE, SEEDED, VARIANTS  # pylint: disable=g-bad-import-order

# Test crops relative to the training crop; plus the odd size S0·256/224 (the paper's
# 3-crop-256 test of a 224-trained model), whose feature maps do not halve evenly.
CROP_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)

# --quick: a fifth of the demo's videos, 3 epochs in one LR stage and the fine-tuning
# phase, the baseline and long+short runs only.
QUICK_VARIANTS = "baseline,long_short"
QUICK = {
    "data.synthetic_videos": 200,
    "optim.steps": (0, 2),
    "optim.max_epoch": 3,
    "optim.warmup_epochs": 0.25,
    "train.precise_bn_batches": 4,
    "train.checkpoint_every_steps": 1000,
}


_CONFIG = config_flags.DEFINE_config_file(
    "config",
    "configs/demo_stride8_pool.py",
    "Experiment config file; override its fields with --config.a.b=v.",
    lock_config=True,
)
_QUICK = flags.DEFINE_bool(
    "quick", False, "Fewer videos and epochs (see QUICK; --config.a.b=v " "overrides win)."
)
_VARIANTS = flags.DEFINE_list(
    "variants",
    [],
    "Comma-separated subset of "
    + ", ".join(VARIANTS)
    + " (default: "
    + ",".join(DEFAULT_VARIANTS)
    + "; --quick: "
    + QUICK_VARIANTS
    + ").",
)
_SEEDS = flags.DEFINE_list(
    "seeds",
    ["0"],
    "Seeds (config.seed) of the baseline and long+short "
    "runs; the other variants run with the first.",
)
_NO_CROPS = flags.DEFINE_bool(
    "no_crops", False, "Skip evaluating each final model at other " "test crops."
)
_EVAL_EVERY_EPOCHS = flags.DEFINE_float(
    "eval_every_epochs",
    None,
    "Evaluate during training for the accuracy/time curves (default: "
    "2 epochs; --quick: only at the end). Sets train.eval_every_epochs unless --config.train."
    "eval_every_epochs does.",
)
_NO_ISOLATED_STEP = flags.DEFINE_bool(
    "no_isolated_step",
    False,
    "Skip timing the base-shape step alone after the runs (one more " "compile).",
)
_WORKDIR = flags.DEFINE_string(
    "workdir",
    "",
    "Keep each run's directory (checkpoints, TensorBoard events) here (default: a "
    "temporary one, removed at the end).",
)
_REUSE_FROM = flags.DEFINE_string(
    "reuse_from",
    "",
    "The JSON of an earlier report of this benchmark: its finished runs with the same "
    "settings are reused, not retrained (the report is rewritten after every run, so an "
    "interrupted invocation resumes from its own).",
)
_OUTDIR = flags.DEFINE_string("outdir", common.DEFAULT_OUTDIR, "Reports and the plot go here.")


def test_crops(config) -> list[int]:
  """The test crops of the crop sweep: CROP_FACTORS x S0 and S0·256/224 (odd)."""
  s0 = config.data.crop_size
  crops = {max(1, round(f * s0)) for f in CROP_FACTORS} | {round(s0 * 256 / 224)}
  return sorted(crops)


def crop_sweep(config, workdir: str, crops: Sequence[int]) -> dict[str, dict]:
  """Top-1 of the final checkpoint of `workdir` at each test crop and each `test_views`
  view (precise BN once first).

  Returns:
    {"crops": {crop: top-1}, "views": {view: top-1}}.
  """
  import jax  # pylint: disable=g-import-not-at-top
  from mgjax import checkpointing, evaluate, multigrid, sharding, steps  # pylint: disable=g-import-not-at-top,multiple-imports
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  config = pipeline.prepare(config.copy_and_resolve_references())
  mesh = sharding.make_mesh()
  plan = multigrid.Plan.from_config(config)
  model_def, state = steps.init_state(config, mesh)
  ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"), 1)
  state = ckpt.restore(state, ckpt.latest_step())
  ckpt.close()
  state = evaluate.precise_bn(config, plan, mesh, model_def, state)

  def top1(spatial: int, crop: int) -> float:
    c = config.copy_and_resolve_references()
    c.eval.preset, c.eval.num_spatial_crops, c.eval.crop_size = "custom", spatial, crop
    predict = functools.partial(steps.eval_step, model_def=model_def, config=c)
    return evaluate.evaluate(c, mesh, predict, state)["metrics"]["top1"]

  spatial = config.eval.num_spatial_crops
  out = dict(
      crops={crop: top1(spatial, crop) for crop in crops},
      views={name: top1(*view) for name, view in variants.test_views(config).items()},
  )
  jax.clear_caches()
  return out


def per_video(workdir: str) -> list[list[int]]:
  """[video id, 1 if its top-1 is right else 0] of the run's last evaluation in `workdir`
  (the trainer writes each evaluation's predictions to `eval_<step>.json`)."""
  import glob  # pylint: disable=g-import-not-at-top

  paths = glob.glob(os.path.join(workdir, "eval_*.json"))
  steps_ = {int(os.path.basename(p)[5:-5]): p for p in paths if os.path.basename(p)[5:-5].isdigit()}
  if not steps_:
    return []
  with open(steps_[max(steps_)]) as f:
    predictions = json.load(f)["predictions"]
  return [[p["video_id"], int(p["top5"][0] == p["label"])] for p in predictions]


def settings(config) -> dict[str, Any]:
  """The config's settings: what decides whether a finished run can be reused.

  `config.reference` is left out: it records results measured with the config (printed
  beside a run), so adding them after a run must not make that run look different.

  Args:
    config: the run's config.

  Returns:
    The settings as JSON types (tuples as lists), as they read back from a report.
  """
  out = json.loads(config.to_json_best_effort(sort_keys=True))
  out.pop("reference", None)
  return out


def load_finished(
    saved: list[dict[str, Any]],
    name: str,
    seed: int,
    run_settings: dict[str, Any],
    crops: Sequence[int],
) -> dict[str, Any] | None:
  """The measurement of a finished run in an earlier report, if it ran these very settings.

  A run takes up to two hours on 2 cores, so `--reuse_from` lets one table be completed
  over several invocations, on this machine or another (seeds and ablation rows), without
  retraining the runs that are done. Only identical settings (and a crop sweep over the
  same crops) are reused; anything else trains again, after naming what differs.

  Args:
    saved: the results of an earlier report of this benchmark (its JSON's "results").
    name: the variant.
    seed: its seed.
    run_settings: the run's settings as `settings` returns them.
    crops: the test crops the run must have been swept over ([] for none).

  Returns:
    The run's result as `run_variant` returned it, or None.
  """
  result = next((r for r in saved if (r["name"], r["seed"]) == (name, seed)), None)
  if result is None:
    return None
  if result.get("settings") != run_settings:
    old, new = (
        traverse_util.flatten_dict(d, sep=".") for d in (result.get("settings") or {}, run_settings)
    )
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    print(
        f"[{name} seed {seed}] the earlier run had other settings "
        f"({', '.join(changed[:8])}{', ...' if len(changed) > 8 else ''}); training again.",
        flush=True,
    )
    return None
  if "per_step" in result:  # Measured before the trainer timed its shapes: converted once.
    by_shape: dict[tuple[int, int, int], list] = {}
    for _, dt, shape in result.pop("per_step"):
      entry = by_shape.setdefault(tuple(shape), [tuple(shape), 0, 0.0, 0.0])
      entry[1] += 1
      entry[2] += dt
    result["shapes"] = list(by_shape.values())
  result["shapes"] = [[tuple(shape), *rest] for shape, *rest in result["shapes"]]
  if crops:
    if sorted(int(c) for c in result.get("crops", {})) != sorted(crops):
      print(f"[{name} seed {seed}] its finished run was swept over other crops; training again.")
      return None
    result["crops"] = {int(c): a for c, a in result["crops"].items()}
  return result


def run_variant(
    config,
    name: str,
    seed: int,
    workdir: str,
    crops: Sequence[int],
    info: dict[str, Any],
    saved: list[dict[str, Any]],
) -> dict[str, Any]:
  """Trains one variant with the real trainer (`common.train_run`).

  Reuses the measurement of a finished run with the same settings in `saved` (the
  results of `--reuse_from`) instead.
  """
  config = variants.variant_config(config, name, seed)
  run_settings = settings(config)
  result = load_finished(saved, name, seed, run_settings, crops)
  if result is not None:
    print(
        f"[{name} seed {seed}] reusing the finished run of {_REUSE_FROM.value} (measured "
        f"{result['measured']['date']}, commit {result['measured']['commit']})",
        flush=True,
    )
    return result
  print(f"[{name} seed {seed}] training ...", flush=True)
  result = common.train_run(config, workdir)
  final = result["final"]
  result.update(
      name=name,
      seed=seed,
      top1=final.get("top1"),
      top5=final.get("top5"),
      num_eval_videos=final.get("num_videos"),
  )
  print(
      f"[{name} seed {seed}] {result['steps']} steps, train {result['train_seconds']:.0f} s, "
      f"compile {result['compile_seconds']:.0f} s, top-1 {fmt_pct(result['top1'])}",
      flush=True,
  )
  result["per_video"] = per_video(workdir)
  if crops:
    result.update(crop_sweep(config, workdir, crops))
    print(
        f"[{name} seed {seed}] top-1 by test crop: "
        + ", ".join(f"{c}: {fmt_pct(a)}" for c, a in result["crops"].items())
        + "; by view: "
        + ", ".join(f"{v}: {fmt_pct(a)}" for v, a in result["views"].items()),
        flush=True,
    )
  result["measured"] = dict(date=info["date"], commit=info["commit"], cpu=info["cpu"])
  result["settings"] = run_settings
  return result


def fmt_pct(x) -> str:
  return "-" if x is None else f"{100 * x:.1f}"


def shape_table(results: list[dict[str, Any]]) -> tuple[str, dict[tuple[int, int, int], float]]:
  """Mean step time per shape over all runs, per B·T·S² relative to the base shape."""
  steps: dict[tuple[int, int, int], int] = {}
  seconds: dict[tuple[int, int, int], float] = {}
  for r in results:
    for shape, n, secs, _ in r["shapes"]:
      steps[shape] = steps.get(shape, 0) + n
      seconds[shape] = seconds.get(shape, 0.0) + secs
  means = {s: seconds[s] / steps[s] for s in steps if steps[s]}
  base = max(means, key=lambda s: (s[1], s[2], -s[0])) if means else None  # Largest T, S.
  rows = []
  for s in sorted(means, key=lambda s: (s[1], s[2], -s[0])):
    rate = means[s] / common.bts2(s) * 1e6
    rel = rate / (means[base] / common.bts2(base) * 1e6)
    rows.append(
        (
            f"{s[0]}x{s[1]}x{s[2]}²",
            steps[s],
            1e3 * means[s],
            f"{common.bts2(s):.3g}",
            rate * 1e3,
            rel,
            s[0] / means[s],
        )
    )
  head = (
      "shape BxTxS²",
      "steps",
      "mean ms/step",
      "B·T·S²",
      "ns per B·T·S²",
      "rel. to base",
      "clips/s",
  )
  return common.markdown_table(head, rows), means


def isolated_base_step(config, steps: int = 3) -> float:
  """Median base-shape step time with nothing else running (no input pipeline)."""
  from mgjax import multigrid  # pylint: disable=g-import-not-at-top
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  config = pipeline.prepare(variants.variant_config(config, "baseline"))
  bench = common.StepBench(config)
  b, t, s = multigrid.Plan.from_config(config).base_shape
  key = (b, t, s, config.multigrid.bn_group_size)
  return common.Stats.of(bench.time_steps(key, steps + 1)[1:]).median


def time_budget(result: dict[str, Any], base: dict[str, Any], means) -> str:
  """Where the multigrid run's time goes relative to the theoretical speedup."""
  base_shape = max(means, key=lambda s: (s[1], s[2], -s[0]))
  rate = means[base_shape] / common.bts2(base_shape)  # Seconds per B·T·S² at the base shape.
  ideal = base["train_seconds"] / result["theoretical_speedup"]
  shape_excess = sum(n * (means[s] - rate * common.bts2(s)) for s, n, _, _ in result["shapes"])
  counted = sum(n for _, n, _, _ in result["shapes"])
  shape_excess *= result["steps"] / max(counted, 1)  # Results from before every step counted.
  rest = result["train_seconds"] - ideal - shape_excess - result["wait_seconds"]
  return (
      f"{LABELS[result['name']]}: measured {result['train_seconds']:.0f} s vs "
      f"{ideal:.0f} s at the theoretical speedup; {shape_excess:+.0f} s from steps at "
      f"small shapes costing more per B·T·S² than the base shape (from the per-shape "
      f"means), {result['wait_seconds']:.0f} s waiting for input "
      f"({100 * result['wait_fraction']:.0f}% of the loop), {rest:+.0f} s other (base-shape "
      f"noise); compile {result['compile_seconds']:.0f} s and "
      f"evaluations {result['eval_seconds']:.0f} s are outside the loop time."
  )


def _label(r: dict[str, Any]) -> str:
  return f"{LABELS[r['name']]}, seed {r['seed']}"


def mean_curve(runs: list[dict[str, Any]]) -> list[tuple[float, float]]:
  """(minutes, top-1 %) per evaluation, averaged over runs (the seeds of one variant).

  The runs share their evaluation steps, so the i-th points are averaged; only points
  every run has are kept.
  """
  curves = [
      [(c["train_seconds"] / 60, 100 * c["top1"]) for c in r["curve"] if c.get("top1") is not None]
      for r in runs
  ]
  n = min((len(c) for c in curves), default=0)
  return [
      (statistics.fmean(c[i][0] for c in curves), statistics.fmean(c[i][1] for c in curves))
      for i in range(n)
  ]


def curve_above(mg: list[tuple[float, float]], base: list[tuple[float, float]]) -> tuple[int, int]:
  """How many of multigrid's curve points lie above the baseline's curve at the same time.

  The baseline's accuracy at a time is interpolated linearly between its evaluations
  (0 before its first); points past the baseline's last evaluation are not counted.

  Returns:
    (points above, points compared).
  """
  above = compared = 0
  for t, acc in mg:
    if not base or t > base[-1][0]:
      continue
    prev = (0.0, 0.0)
    for point in base:
      if point[0] >= t:
        f = (t - prev[0]) / max(point[0] - prev[0], 1e-9)
        ref = prev[1] + f * (point[1] - prev[1])
        break
      prev = point
    compared += 1
    above += acc > ref
  return above, compared


def plot(results: list[dict[str, Any]], path: str, num_classes: int) -> None:
  plt = common.matplotlib_pyplot()
  fig, ax = plt.subplots(figsize=(7.0, 4.6))
  ax.axhline(
      100 / num_classes, color="gray", linestyle=":", label=f"chance ({num_classes} classes)"
  )
  colors = dict(zip(VARIANTS, plt.get_cmap("tab10").colors))
  for name in VARIANTS:
    runs = [r for r in results if r["name"] == name]
    if not runs:
      continue
    many = len(runs) > 1
    for r in runs:
      pts = [
          (c["train_seconds"] / 60, 100 * c["top1"])
          for c in r["curve"]
          if c.get("top1") is not None
      ]
      if pts:
        xs, ys = zip(*pts)
        ax.plot(
            xs,
            ys,
            color=colors[name],
            alpha=0.3 if many else 0.9,
            lw=1,
            marker=None if many else "o",
            ms=3,
            linestyle=":"
            if name.endswith("baseline") and name not in SEEDED
            else ("-" if name in SEEDED else "--"),
            label=None if many else f"{_label(r)} ({r['train_seconds'] / 60:.1f} min)",
        )
    if many:
      xs, ys = zip(*mean_curve(runs))
      minutes = statistics.fmean(r["train_seconds"] for r in runs) / 60
      ax.plot(
          xs,
          ys,
          color=colors[name],
          lw=2.2,
          marker="o",
          ms=4,
          label=f"{LABELS[name]}, mean of {len(runs)} seeds ({minutes:.1f} min)",
      )
  ax.set_xlabel("training time (min; compiles and evaluations excluded)")
  ax.set_ylabel("multi-view top-1 on the test split (%)")
  ax.set_title("Multigrid vs baseline: accuracy vs wall-clock time")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _mean_sd(xs: Sequence[float]) -> str:
  xs = [100 * x for x in xs]
  if len(xs) == 1:
    return f"{xs[0]:.1f}"
  return f"{statistics.fmean(xs):.1f} ± {statistics.stdev(xs):.1f} ({', '.join(f'{x:.1f}' for x in xs)})"


def _mean_rows(
    results: list[dict[str, Any]],
    key: str,
    columns: Sequence[Any],
    paper: dict[str, Sequence[float]] | None = None,
) -> list[tuple]:
  """Rows of (label, seeds, mean top-1 % per column) of each variant's `r[key]`.

  Args:
    results: the runs.
    key: the per-run dict of top-1 by column ("crops" or "views").
    columns: its keys, in the table's order.
    paper: the supplement's numbers per variant and column, shown in brackets.

  Returns:
    One row per variant that has `key`, in `VARIANTS` order.
  """
  rows = []
  for name in VARIANTS:
    runs = [r for r in results if r["name"] == name and key in r]
    if runs:
      rows.append(
          (LABELS[name], len(runs))
          + tuple(
              f"{100 * statistics.fmean(r[key][c] for r in runs):.1f}"
              + (f" ({paper[name][i]})" if paper and name in paper else "")
              for i, c in enumerate(columns)
          )
      )
  return rows


def report(results: list[dict[str, Any]], info, quick: bool, config) -> str:
  bases = {r["seed"]: r for r in results if r["name"] == "baseline"}
  rows = []
  for r in results:
    base = variants.reference_run(results, r)
    speedup = base["train_seconds"] / r["train_seconds"]
    e2e = (base["train_seconds"] + base["compile_seconds"]) / (
        r["train_seconds"] + r["compile_seconds"]
    )
    paper = PAPER.get(r["name"], ("", None))
    rows.append(
        (
            LABELS[r["name"]],
            r["seed"],
            LABELS[base["name"]] if base is not r else "-",
            r["epochs"],
            r["steps"],
            f"{r['cost']:.3g}",
            r["theoretical_speedup"],
            r["train_seconds"] / 60,
            speedup,
            speedup / r["theoretical_speedup"],
            e2e,
            f"{r['compile_seconds']:.0f} ({r['compiled_shapes']})",
            100 * r["wait_fraction"],
            fmt_pct(r["top1"]),
            fmt_pct(r["top5"]),
            f"{paper[0]} / {paper[1]}" if paper[1] is not None else "",
        )
    )
  head = (
      "run",
      "seed",
      "against",
      "epochs",
      "steps",
      "Σ B·T·S²",
      "theor. speedup",
      "train min",
      "measured speedup",
      "measured/theor.",
      "speedup incl. compile",
      "compile s (shapes)",
      "input wait %",
      "top-1",
      "top-5",
      "paper: speedup / top-1",
  )
  shapes, means = shape_table(results)
  m = config.model
  lines = [
      "## Multigrid vs baseline",
      "",
      common.describe_machine(info, os.getloadavg()),
      "",
      f"Model {m.name} width {m.width} depths {tuple(m.depths)} (stem stride "
      f"{m.stem_stride or 2}, stem pool {m.stem_pool}, stage strides "
      f"{tuple(m.spatial_strides) or (1, 2, 2, 2)}), synthetic dataset "
      f"({config.data.synthetic_videos} videos, seed {config.data.synthetic_seed}), base shape "
      f"{config.optim.batch_size}x{config.data.num_frames}x{config.data.crop_size}², baseline "
      f"{config.optim.max_epoch} epochs; evaluated on the `{config.data.eval_split}` split, "
      f"{results[0].get('num_eval_videos')} videos x {config.eval.num_temporal_views} views."
      + (" QUICK variant." if quick else ""),
      "",
      common.markdown_table(head, rows),
      "",
  ]
  earlier = [r for r in results if r["measured"]["date"] != info["date"]]
  if earlier:
    lines += [
        "Reused from earlier invocations (same config; their times were measured then, so a "
        "speedup across invocations compares two sittings of the machine): "
        + "; ".join(
            f"{_label(r)} ({r['measured']['date']}, {r['measured']['cpu']}, commit "
            f"{r['measured']['commit']})"
            for r in earlier
        ),
        "",
    ]
  mg = [r for r in results if r["name"] == "long_short"]
  if mg:
    seeds = sorted(r["seed"] for r in mg if r["seed"] in bases)
    base_runs, mg_runs = [bases[s] for s in seeds], [
        next(r for r in mg if r["seed"] == s) for s in seeds
    ]
    diffs = [m["top1"] - b["top1"] for m, b in zip(mg_runs, base_runs)]
    speed = [b["train_seconds"] / m["train_seconds"] for m, b in zip(mg_runs, base_runs)]
    above, compared = curve_above(mean_curve(mg_runs), mean_curve(base_runs))
    interval = common.paired_interval(base_runs, mg_runs)
    lines += [
        f"Over seeds {', '.join(map(str, seeds))} (mean ± standard deviation, then each seed):",
        "",
        f"- baseline top-1: {_mean_sd([r['top1'] for r in base_runs])}",
        f"- multigrid long+short top-1: {_mean_sd([r['top1'] for r in mg_runs])}",
        f"- difference (multigrid − baseline, per seed): {_mean_sd(diffs)} points",
    ]
    if interval:
      lines.append(
          f"- paired difference {interval[0]:+.2f} points, 95% interval [{interval[1]:+.2f}, "
          f"{interval[2]:+.2f}] (bootstrap over the {results[0].get('num_eval_videos')} test "
          f"videos and the {len(seeds)} seed pairs)"
      )
    lines += [
        f"- measured training-loop speedup: {statistics.fmean(speed):.2f}x "
        f"({', '.join(f'{x:.2f}' for x in speed)}); theoretical "
        f"{mg_runs[0]['theoretical_speedup']:.2f}x",
        f"- the mean multigrid curve lies above the mean baseline curve at {above} of the "
        f"{compared} evaluation times where both exist",
        "",
    ]
  if any("crops" in r for r in results):
    crops = sorted({c for r in results for c in r.get("crops", {})})
    s0 = config.data.crop_size
    lines += [
        f"Top-1 (%) at other test crops (training crop {s0}; after precise BN; mean over "
        "the seeds run):",
        "",
        common.markdown_table(
            ("run", "seeds") + tuple(f"{c} ({c / s0:.3g}x)" for c in crops),
            _mean_rows(results, "crops", crops),
        ),
        "",
    ]
  if any("views" in r for r in results):
    views = variants.test_views(config)
    lines += [
        "Top-1 (%) by test view (§1.4; each with "
        f"{config.eval.num_temporal_views} temporal views; mean over the seeds run; in "
        "brackets the supplement's 64-frame R50 at center 224, 3-crop 224 and 3-crop 256):",
        "",
        common.markdown_table(
            ("run", "seeds")
            + tuple(f"{v} ({n} crop{'s' if n > 1 else ''} at {c})" for v, (n, c) in views.items()),
            _mean_rows(results, "views", list(views), PAPER_VIEWS),
        ),
        "",
    ]
  lines += [
      "Step time per shape (all runs; the trainer's loop time at the shape over its steps):",
      "",
      shapes,
      "",
      "Where the time goes:",
      "",
  ]
  lines += [
      f"- seed {r['seed']}: {time_budget(r, variants.reference_run(results, r), means)}"
      for r in results
      if variants.reference_run(results, r) is not r
  ]
  if results[0].get("isolated_base_step"):
    base_shape = max(means, key=lambda s: (s[1], s[2], -s[0]))
    in_loop, alone = means[base_shape], results[0]["isolated_base_step"]
    verdict = (
        f"the tf.data workers that decode and augment clips compete with XLA for the "
        f"{os.cpu_count()} cores even when the input wait is ~0"
        if in_loop > 1.15 * alone
        else "no sign (beyond 15% noise) of the input pipeline slowing the step down"
    )
    lines.append(
        f"- The base-shape step: {in_loop:.2f} s in the trainer (its mean, logs and checkpoints "
        f"included) vs {alone:.2f} s timed alone "
        f"right after (same process, no input pipeline running): {verdict}."
    )
  return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  common.quiet_logs()
  common.hide_accelerators_from_tf()
  info = common.machine_info()

  quick = _QUICK.value
  defaults = dict(QUICK) if quick else {}
  every = _EVAL_EVERY_EPOCHS.value
  defaults["train.eval_every_epochs"] = every if every is not None else (0.0 if quick else 2.0)
  config = common.flag_config(_CONFIG, defaults)
  names = list(_VARIANTS.value or (QUICK_VARIANTS.split(",") if quick else DEFAULT_VARIANTS))
  if set(names) - set(VARIANTS):
    raise app.UsageError(
        f"--variants: unknown {sorted(set(names) - set(VARIANTS))}; " f"known: {list(VARIANTS)}"
    )
  if "baseline" not in names:
    names.insert(0, "baseline")
  names.sort(key=list(VARIANTS).index)
  seeds = [int(x) for x in _SEEDS.value]
  crops = [] if _NO_CROPS.value else test_crops(config)

  # One report per config file, named after it.
  stem = os.path.splitext(
      os.path.basename(config_flags.get_config_filename(flags.FLAGS["config"]))
  )[0]
  name = f"multigrid_speedup_{stem}" + ("_quick" if quick else "")
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  num_classes = pipeline.prepare(config).model.num_classes

  def write(results: list[dict[str, Any]]) -> str:
    """The report of the runs so far: markdown, JSON and plot in `--outdir`."""
    text = report(results, info, quick, config)
    plot_path = os.path.join(_OUTDIR.value, f"{name}.png")
    os.makedirs(_OUTDIR.value, exist_ok=True)
    plot(results, plot_path, num_classes)
    text += f"\n\nPlot: {os.path.join(common.shown_path(_OUTDIR.value), name)}.png"
    common.write_report(_OUTDIR.value, name, info, text, results)
    return text

  saved = []  # Read before the first write: --reuse_from may be the report being written.
  if _REUSE_FROM.value:
    with open(_REUSE_FROM.value) as f:
      saved = json.load(f)["results"]
  workdir = _WORKDIR.value or tempfile.mkdtemp(prefix="mgjax_mg_speedup_")
  results = []
  for i, seed in enumerate(seeds):  # Own cache directory per run: every run compiles cold.
    for variant in names:
      if i == 0 or variant in SEEDED:
        run_dir = os.path.join(workdir, f"{variant}_seed{seed}")
        results.append(run_variant(config, variant, seed, run_dir, crops, info, saved))
        write(results)  # A run takes up to two hours: keep what is done.
  if not _NO_ISOLATED_STEP.value:
    print("[baseline] base-shape step alone ...", flush=True)
    results[0]["isolated_base_step"] = isolated_base_step(config)
  print("\n" + write(results))
  if not _WORKDIR.value:
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
  app.run(main)
