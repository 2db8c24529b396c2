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
"""Compilation: cold compile per shape, the executable cache, XLA options, and restarts.

  python benchmarks/compile_cache.py            # every shape of the demo plan
  python benchmarks/compile_cache.py --quick    # the first 2 shapes, no compiler options
  python benchmarks/compile_cache.py --config configs/demo.py --config.optim.batch_size=8 --shapes 1

1. The plan's distinct step shapes (B, T, S, BN group): one executable each.
2. Per shape, in this process, no persistent cache: Python tracing, lowering to
   StableHLO, XLA's compile, storing the executable (`compilation.ExecutableCache`)
   and loading it back, timed apart.
3. XLA:CPU compile options (`OPTION_SETS`): compile seconds against the step time
   they cost, on the plan's first shape and its base shape, each option set twice.
4. The trainer in fresh processes, stopped once its first step is done, with one
   compile cache directory: cold with every shape compiled before step 0 (before
   the executable cache, the only way), warm from JAX's persistent cache alone (the
   restart before the executable cache), warm from the executable cache, and cold
   and warm with the shapes compiled beside training (the default). Reported per
   run: process start to the first training step and to its end, the compile (or
   load) seconds summed over shapes, and how long the loop waited for shapes.

The config's fields are overridden as for `python -m mgjax.main` (`--config.a.b=v`);
the trainer runs get the same config file and overrides.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from typing import Any, Sequence

_PROCESS_START = time.time()  # A child reports its phases from here.

# pylint: disable=g-bad-import-order,wrong-import-position
from absl import app
from absl import flags
from ml_collections import config_flags

import common

# pylint: enable=g-bad-import-order,wrong-import-position

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    "configs/demo.py",
    "Experiment config file; override its fields with --config.a.b=v.",
    lock_config=True,
)
_QUICK = flags.DEFINE_bool(
    "quick", False, "Only the plan's first 2 shapes (unless --shapes) and " "no compiler options."
)
_SHAPES = flags.DEFINE_integer("shapes", 0, "Only the first n shapes (0 = all).")
_OPTIONS = flags.DEFINE_bool("options", True, "Measure the XLA compile options (--quick: off).")
_OPTION_STEPS = flags.DEFINE_integer("option_steps", 5, "Timed steps per shape and option set.")
_OUTDIR = flags.DEFINE_string("outdir", common.DEFAULT_OUTDIR, "Reports go here.")
# A trainer run in a child process: defined under another module name, so --help
# (this script's flags) leaves them out; --helpfull lists them.
_CHILD_WORKDIR = flags.DEFINE_string(
    "child_workdir", "", "Internal: the child's workdir.", module_name="compile_cache_child"
)
_CHILD_JSON = flags.DEFINE_string(
    "child_json",
    "",
    "Internal: the child writes its phase times " "here.",
    module_name="compile_cache_child",
)

# XLA:CPU options that trade code quality for compile time (`Lowered.compile`'s
# compiler_options), measured against the default.
OPTION_SETS = {
    "default": {},
    "LLVM -O1": {"xla_backend_optimization_level": 1},
    "LLVM -O0": {"xla_backend_optimization_level": 0},
    "no expensive LLVM passes": {"xla_llvm_disable_expensive_passes": True},
    "codegen split 4": {"xla_cpu_parallel_codegen_split_count": 4},
}


def plan_keys(config) -> list[tuple[int, int, int, int]]:
  from mgjax import compilation, multigrid  # pylint: disable=g-import-not-at-top,multiple-imports

  return compilation.step_keys(multigrid.Plan.from_config(config))


def steps_to_cover(config, keys) -> int:
  """Steps from 0 until every shape in `keys` has been used once."""
  from mgjax import compilation, multigrid  # pylint: disable=g-import-not-at-top,multiple-imports

  plan = multigrid.Plan.from_config(config)
  table = plan.step_table()
  todo, step = set(map(tuple, keys)), 0
  while todo and step < plan.num_steps:
    todo.discard(compilation.step_key(table, step))
    step += 1
  return step


def per_shape(config, keys, cache_dir: str) -> tuple[Any, list[dict]]:
  """Trace / lower / XLA compile / store / load seconds of each shape (no persistent cache)."""
  from mgjax import compilation, steps  # pylint: disable=g-import-not-at-top,multiple-imports

  bench = common.StepBench(config)
  cache = compilation.ExecutableCache(
      cache_dir,
      compilation.step_context(config, bench.mesh, bench.state, steps.label_spec(config), {}),
  )
  out = []
  for key in keys:
    r = bench.compile(key)
    t0 = time.perf_counter()
    cache.store(key, bench.steps.executables[key])
    t1 = time.perf_counter()
    assert cache.load(key) is not None
    r.update(
        store=t1 - t0,
        load=time.perf_counter() - t1,
        mb=os.path.getsize(os.path.join(cache_dir, cache.key(key) + ".exe")) / 1e6,
    )
    out.append(dict(key=list(key), **r))
    print(
        f"  {key}: trace {r['trace']:.1f} s, lower {r['lower']:.1f} s, XLA {r['compile']:.1f} s, "
        f"store {r['store']:.2f} s, load {r['load']:.2f} s ({r['mb']:.1f} MB)",
        flush=True,
    )
  return bench, out


def compiler_options(bench, keys, num_steps: int) -> list[dict]:
  """Compile seconds and median step ms per option set and shape, two rounds interleaved."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  lr = float(bench.plan.lr_at(0))
  rows = []
  for key in keys:
    batch = bench.random_batch(key)
    for round_ in range(2):
      for name, options in OPTION_SETS.items():
        lowered = bench.steps.lower(key)  # Afresh: a lowering keeps what it compiled.
        t = time.perf_counter()
        executable = lowered.compile(compiler_options=options or None)
        compile_s = time.perf_counter() - t
        state, times = jax.tree.map(lambda x: x.copy(), bench.state), []
        for _ in range(num_steps + 1):  # The first call is not timed.
          t = time.perf_counter()
          state, metrics = executable(state, batch, jax.numpy.float32(lr))
          jax.block_until_ready(metrics)
          times.append(time.perf_counter() - t)
        rows.append(
            dict(
                key=list(key),
                options=name,
                round=round_,
                compile=compile_s,
                step_ms=1e3 * float(np.median(times[1:])),
                loss=float(metrics["loss"]),
            )
        )
        print(
            f"  {key} {name}: compile {compile_s:.1f} s, step {rows[-1]['step_ms']:.0f} ms",
            flush=True,
        )
  return rows


def child() -> None:
  """One trainer run (`--child_json`), stopped after its first step: phase times."""
  common.quiet_logs()
  common.hide_accelerators_from_tf()
  from mgjax import train  # pylint: disable=g-import-not-at-top

  def stop_after_the_first_step(done: int) -> None:
    if done == 1:  # As a preemption would: the trainer saves and returns at this step.
      os.kill(os.getpid(), signal.SIGTERM)

  imported = time.time()
  summary = train.train_and_evaluate(
      _CONFIG.value,
      _CHILD_WORKDIR.value,
      evaluate_at_end=False,
      hooks=[stop_after_the_first_step],
  )
  marks = {k: imported - _PROCESS_START + v for k, v in summary["marks"].items()}
  common.write_json(
      _CHILD_JSON.value,
      dict(
          imports=imported - _PROCESS_START,
          until_compile=marks["compile_start"],
          compile=summary["compile_seconds"],
          compile_wait=summary["compile_wait_seconds"],
          until_training=marks["loop_start"],
          until_first_step_end=marks["first_step"],
          process_start=_PROCESS_START,
          shapes=summary["compiled_shapes"],
          loaded=summary["loaded_shapes"],
      ),
  )


def config_args(fields: dict[str, Any]) -> list[str]:
  """`--config` and its `--config.a.b=v` overrides as this process got them, then `fields`.

  Args:
    fields: dotted field -> value, set over the command line's overrides.

  Returns:
    Command-line arguments that give a child process this config with `fields` set.
  """
  flag = flags.FLAGS["config"]
  args = [f"--config={config_flags.get_config_filename(flag)}"]
  for field in config_flags.get_override_values(flag):
    if field not in fields:  # A tuple's serialization is one `--config.a.b=v` line per item.
      args += flags.FLAGS[f"config.{field}"].serialize().splitlines()
  return args + [f"--config.{k}={v}" for k, v in fields.items()]


def trainer_run(workdir: str, cache: str, max_steps: int, background: bool) -> dict:
  out = os.path.join(workdir + ".json")
  launch = time.time()
  cmd = [
      os.path.abspath(__file__),
      f"--child_workdir={workdir}",
      f"--child_json={out}",
      *config_args(
          {
              "train.compile_cache_dir": cache,
              "train.max_steps": max_steps,
              "train.background_compile": background,
              "train.eval_every_epochs": 0.0,
              "train.checkpoint_every_steps": 100000,
          }
      ),
  ]
  wall, _ = common.run_child(cmd)
  with open(out) as f:
    r = json.load(f)
  r["launch_overhead"] = r.pop("process_start") - launch  # Interpreter start-up.
  for k in ("imports", "until_compile", "until_training", "until_first_step_end"):
    r[k] += r["launch_overhead"]
  r["process_wall"] = wall
  return r


def cache_size(path: str) -> tuple[int, int]:
  files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
  return len(files), sum(os.path.getsize(f) for f in files)


RUNS = (  # name, cache directory, shapes compiled beside training, what is removed first.
    ("cold, all before step 0", "a", False, None),
    ("warm, all before step 0", "a", False, None),
    ("warm, beside training (default)", "a", True, None),
    # JAX's persistent cache alone (the restart before the executable cache): its
    # executables are not stored again (`CompiledSteps._build`), so this run comes last.
    ("warm (JAX cache only), all before step 0", "a", False, "steps"),
    ("cold, beside training (default)", "b", True, None),
)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  if _CHILD_JSON.value:
    child()
    return
  shapes = _SHAPES.value or (2 if _QUICK.value else 0)
  common.quiet_logs()
  info = common.machine_info()
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  common.hide_accelerators_from_tf()
  config = pipeline.prepare(_CONFIG.value.copy_and_resolve_references())
  all_keys = plan_keys(config)
  keys = all_keys[:shapes] if shapes else all_keys
  max_steps = steps_to_cover(config, keys)  # The runs compile these shapes, then stop.
  tmp = tempfile.mkdtemp(prefix="mgjax_compile_cache_")

  print(f"{len(all_keys)} distinct step shapes; per shape in this process:", flush=True)
  bench, cold = per_shape(config, keys, os.path.join(tmp, "inprocess"))
  options = []
  if _OPTIONS.value and not _QUICK.value:
    print("XLA compile options:", flush=True)
    options = compiler_options(bench, [keys[0], all_keys[-1]], _OPTION_STEPS.value)
  del bench

  runs = {}
  for name, cache_name, background, remove in RUNS:
    cache = os.path.join(tmp, cache_name)
    if remove:
      shutil.rmtree(os.path.join(cache, remove), ignore_errors=True)
    print(f"trainer: {name} ...", flush=True)
    runs[name] = trainer_run(os.path.join(tmp, f"run{len(runs)}"), cache, max_steps, background)
    runs[name]["cache_files"], runs[name]["cache_bytes"] = cache_size(cache)
  shutil.rmtree(tmp, ignore_errors=True)
  text = report(config, all_keys, keys, cold, options, runs, max_steps, info)
  print("\n" + text)
  name = "compile_cache" + ("_quick" if _QUICK.value else "")
  common.write_report(
      _OUTDIR.value,
      name,
      info,
      text,
      dict(
          distinct_shapes=len(all_keys),
          per_shape=cold,
          compiler_options=options,
          runs=runs,
          max_steps=max_steps,
      ),
  )


def report(config, all_keys, keys, cold, options, runs, max_steps, info) -> str:
  """The markdown report: per-shape table, options table, trainer runs and the goals."""
  import numpy as np  # pylint: disable=g-import-not-at-top

  del config
  label = lambda k: f"{k[0]}x{k[1]}x{k[2]}² g{k[3]}"
  cols = ("trace", "lower", "compile", "store", "load")
  rows = [(label(c["key"]), *(c[k] for k in cols)) for c in cold]
  rows.append(("total", *(sum(c[k] for c in cold) for k in cols)))
  shape_table = common.markdown_table(
      ("shape BxTxS² (BN group)", "trace s", "lower s", "XLA compile s", "store s", "load s"), rows
  )
  parts = [
      "## Compilation: executable cache and compiling beside training",
      "",
      common.describe_machine(info, os.getloadavg()),
      "",
      f"Config {config_flags.get_config_filename(flags.FLAGS['config'])}"
      f"{' (QUICK: first ' + str(len(keys)) + ' shapes)' if _QUICK.value else ''}: "
      f"{len(all_keys)} distinct step shapes (B, T, S, BN group) in the plan.",
      "",
      "Per shape, one at a time in one process, no persistent cache (store: serialize and write "
      "the executable; load: read and deserialize it):",
      "",
      shape_table,
      "",
  ]
  if options:
    rows = []
    for key in {tuple(o["key"]) for o in options}:
      base = [o for o in options if tuple(o["key"]) == key and o["options"] == "default"]
      for name in OPTION_SETS:
        mine = [o for o in options if tuple(o["key"]) == key and o["options"] == name]
        rows.append(
            (
                label(key),
                name,
                *(f"{m['compile']:.1f}" for m in mine),
                *(f"{m['step_ms']:.0f}" for m in mine),
                np.mean([m["compile"] for m in mine]) / np.mean([b["compile"] for b in base]),
                np.mean([m["step_ms"] for m in mine]) / np.mean([b["step_ms"] for b in base]),
            )
        )
    parts += [
        "XLA:CPU compile options (two rounds, interleaved; step: median of "
        f"{_OPTION_STEPS.value} steps on random data):",
        "",
        common.markdown_table(
            (
                "shape",
                "options",
                "compile s (1)",
                "compile s (2)",
                "step ms (1)",
                "step ms (2)",
                "compile / default",
                "step / default",
            ),
            rows,
        ),
        "",
    ]
  phases = [
      ("start → compile begins", "until_compile"),
      ("compile/load, summed over shapes", "compile"),
      ("loop waited for shapes", "compile_wait"),
      ("start → first batch requested", "until_training"),
      ("start → first step done", "until_first_step_end"),
      ("whole process", "process_wall"),
  ]
  run_rows = [
      (name, r["shapes"], r["loaded"], *(r[k] for _, k in phases)) for name, r in runs.items()
  ]
  run_table = common.markdown_table(
      ("trainer run", "shapes", "loaded", *(p for p, _ in phases)), run_rows
  )
  cold_old, warm_all, warm_new = (runs[RUNS[i][0]] for i in range(3))
  goals = [
      f"- warm restart (default) / cold start (before): time to the first step "
      f"{warm_new['until_first_step_end']:.1f} / {cold_old['until_first_step_end']:.1f} s = "
      f"{warm_new['until_first_step_end'] / cold_old['until_first_step_end']:.3f} (goal ≤ 0.1);",
      f"- warm compile phase per shape: loading all before step 0 {warm_all['compile'] / warm_all['shapes']:.2f} s; "
      f"beside training the loop waited {warm_new['compile_wait']:.2f} s for "
      f"{warm_new['shapes']} shapes (goal ≤ 0.5 s a shape);",
      f"- cold start (default): first step done {runs[RUNS[4][0]]['until_first_step_end']:.1f} s after "
      "the process started (goal ≤ 30 s).",
  ]
  parts += [
      f"The trainer in fresh processes, train.max_steps={max_steps} (so that the runs compile "
      f"{len(keys)} shapes), stopped after its first step:",
      "",
      run_table,
      "",
      *goals,
  ]
  return "\n".join(parts)


if __name__ == "__main__":
  app.run(main)
