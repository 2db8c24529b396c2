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
"""Compilation: shapes of a plan, cold compile per shape, and a restart with the cache warm.

  python benchmarks/compile_cache.py            # every shape of the demo plan
  python benchmarks/compile_cache.py --quick    # the first 2 shapes, 3 trainer steps
  python benchmarks/compile_cache.py --config configs/demo.py --config.optim.batch_size=8 --shapes 1

1. The plan's distinct step shapes (B, T, S, BN group): one executable each.
2. Cold compile of each shape in this process, no persistent cache, one at a time:
   Python tracing, lowering to StableHLO, and XLA's compile, timed apart.
3. The trainer twice, in fresh processes, with the same `train.compile_cache_dir`
   and `train.max_steps` just past the last new shape (or `--max_steps`): the first
   run compiles cold and fills the cache, the second is a restart with the cache
   warm. Reported per run: process start to the first training step (imports,
   model init, data, compiles), the compile phase alone, and warm/cold ratios.

The config's fields are overridden as for `python -m mgjax.main` (`--config.a.b=v`);
the trainer runs get the same config file and overrides.
"""

from __future__ import annotations

import json
import os
import shutil
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
    "config", "configs/demo.py", "Experiment config file; override its fields with --config.a.b=v.",
    lock_config=True)
_QUICK = flags.DEFINE_bool("quick", False, "Only the plan's first 2 shapes (unless --shapes).")
_SHAPES = flags.DEFINE_integer("shapes", 0, "Only the first n shapes (0 = all).")
_MAX_STEPS = flags.DEFINE_integer(
    "max_steps", 0, "train.max_steps of the trainer runs (0 = until every measured shape ran).")
_OUTDIR = flags.DEFINE_string("outdir", common.DEFAULT_OUTDIR, "Reports go here.")
# A trainer run in a child process: defined under another module name, so --help
# (this script's flags) leaves them out; --helpfull lists them.
_CHILD_WORKDIR = flags.DEFINE_string("child_workdir", "", "Internal: the child's workdir.",
                                     module_name="compile_cache_child")
_CHILD_JSON = flags.DEFINE_string("child_json", "", "Internal: the child writes its phase times "
                                  "here.", module_name="compile_cache_child")


def plan_keys(config) -> list[tuple[int, int, int, int]]:
  from mgjax import multigrid, train  # pylint: disable=g-import-not-at-top,multiple-imports
  return train.step_keys(multigrid.Plan.from_config(config))


def steps_to_cover(config, keys) -> int:
  """Steps from 0 until every shape in `keys` has been used once."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from mgjax import multigrid  # pylint: disable=g-import-not-at-top
  table = multigrid.Plan.from_config(config).step_table()
  cols = np.stack([table[k] for k in ("batch_size", "num_frames", "crop_size", "bn_group_size")], 1)
  last = 0
  for key in keys:
    last = max(last, int(np.nonzero((cols == np.array(key)).all(1))[0][0]))
  return last + 1


def cold_per_shape(config, keys) -> list[dict]:
  """Trace / lower / XLA compile seconds of each shape (this process, no cache)."""
  bench = common.StepBench(config)
  out = []
  for key in keys:
    r = bench.compile(key)
    out.append(dict(key=list(key), **r))
    print(f"  {key}: trace {r['trace']:.1f} s, lower {r['lower']:.1f} s, "
          f"XLA {r['compile']:.1f} s", flush=True)
  return out


def child() -> None:
  """One trainer run (`--child_json`): phase times since process start."""
  common.quiet_logs()
  common.hide_accelerators_from_tf()
  from mgjax import train  # pylint: disable=g-import-not-at-top
  imported = time.time()
  config = _CONFIG.value
  probe = common.RunProbe()
  with probe.attach():
    train.train_and_evaluate(config, _CHILD_WORKDIR.value, evaluate_at_end=False)
  to_wall = time.time() - time.perf_counter()
  first_compile_start = min((end - s for _, s, end in probe.compiles), default=probe.start)
  # Step k's batch is requested after step k-2 finished (the trainer checks each step's
  # metrics one step late), so the third request marks the end of the first step.
  first_step_end = probe.calls[2] if len(probe.calls) > 2 else probe.end
  common.write_json(_CHILD_JSON.value, dict(
      imports=imported - _PROCESS_START,
      until_compile=first_compile_start + to_wall - _PROCESS_START,
      compile=probe.compile_seconds,
      until_training=probe.first_step_time + to_wall - _PROCESS_START,
      until_first_step_end=first_step_end + to_wall - _PROCESS_START,
      process_start=_PROCESS_START, shapes=len(probe.compiled_keys), steps=len(probe.calls)))


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


def trainer_run(workdir: str, cache: str, max_steps: int) -> dict:
  out = os.path.join(workdir + ".json")
  launch = time.time()
  cmd = [os.path.abspath(__file__), f"--child_workdir={workdir}", f"--child_json={out}",
         *config_args({"train.compile_cache_dir": cache, "train.max_steps": max_steps,
                       "train.eval_every_epochs": 0.0, "train.checkpoint_every_steps": 100000})]
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
  # At least 3 steps: the third batch request marks the end of the first step.
  max_steps = _MAX_STEPS.value or max(3, steps_to_cover(config, keys))

  print(f"{len(all_keys)} distinct step shapes; cold compile of {len(keys)} in this process:",
        flush=True)
  cold = cold_per_shape(config, keys)

  tmp = tempfile.mkdtemp(prefix="mgjax_compile_cache_")
  cache = os.path.join(tmp, "cache")
  runs = {}
  for name in ("cold", "warm"):
    print(f"trainer, {name} cache, max_steps={max_steps} ...", flush=True)
    runs[name] = trainer_run(os.path.join(tmp, name), cache, max_steps)
    runs[name]["cache_files"], runs[name]["cache_bytes"] = cache_size(cache)
  shutil.rmtree(tmp, ignore_errors=True)

  rows = [(f"{k[0]}x{k[1]}x{k[2]}² g{k[3]}", c["trace"], c["lower"], c["compile"],
           c["trace"] + c["lower"] + c["compile"]) for k, c in zip(keys, cold)]
  total = [sum(r[i] for r in rows) for i in range(1, 5)]
  rows.append(("total", *total))
  shape_table = common.markdown_table(("shape BxTxS² (BN group)", "trace s", "lower s", "XLA compile s",
                                       "total s"), rows)
  c, w = runs["cold"], runs["warm"]
  phases = [("interpreter + imports", "imports"), ("start → compile begins (init, data)", "until_compile"),
            ("compile phase (trainer's compile_all)", "compile"),
            ("start → first batch requested", "until_training"),
            ("start → first step done", "until_first_step_end"), ("whole process", "process_wall")]
  run_rows = [(label, c[k], w[k], w[k] / c[k] if c[k] else None) for label, k in phases]
  run_table = common.markdown_table(("phase (s)", "cold cache", "warm cache", "warm/cold"), run_rows)
  text = "\n".join([
      "## Compilation and the persistent cache", "",
      common.describe_machine(info, os.getloadavg()), "",
      f"Config {config_flags.get_config_filename(flags.FLAGS['config'])}"
      f"{' (QUICK: first ' + str(len(keys)) + ' shapes)' if _QUICK.value else ''}: "
      f"{len(all_keys)} distinct step shapes (B, T, S, BN group) in the plan.", "",
      "Cold compile per shape, one at a time in one process, no persistent cache:", "", shape_table, "",
      f"Trainer restarted with the same compile cache (train.max_steps={max_steps}: {c['shapes']} shapes "
      f"compiled; cache {w['cache_files']} files, "
      f"{w['cache_bytes'] / 1e6:.1f} MB):", "", run_table])
  print("\n" + text)
  name = "compile_cache" + ("_quick" if _QUICK.value else "")
  common.write_report(_OUTDIR.value, name, info, text, dict(
      distinct_shapes=len(all_keys), cold_per_shape=cold, runs=runs, max_steps=max_steps))


if __name__ == "__main__":
  app.run(main)
