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
"""Helpers shared by the benchmark scripts.

A config flag's value with a script's defaults under the command line's
overrides, the machine and versions a result was measured on, tables, timing
statistics, one compiled train step per shape on random data, and `train_run`: a
whole training run with the times the trainer measured itself (its summary).

Benchmarks are measurements, not tests: they print a table, write a JSON (and a
plot) under `--outdir`, and say what they ran on. Nothing here asserts a speed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Iterable, Sequence

from absl import flags
from ml_collections import config_flags

# Runnable from a checkout without installing mgjax.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

DEFAULT_OUTDIR = os.path.join(REPO, "benchmarks", "results")


# ----------------------------------------------------------------------------------------
# Environment.


def quiet_logs() -> None:
  """Keeps TensorFlow's and XLA's C++ start-up chatter, and the libraries' INFO lines
  (orbax's checkpoint scheduling: some 70 lines per save), out of the tables.

  Accelerators stay visible: on a GPU machine JAX and torch use the GPU, and
  TensorFlow (tf.data only) is kept off it by `hide_accelerators_from_tf`.
  """
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  from mgjax import logs  # pylint: disable=g-import-not-at-top

  logs.hide_library_info()


def hide_accelerators_from_tf() -> None:
  """TensorFlow only feeds tf.data: keep it off any GPU JAX may use."""
  from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top

  tf = frame_store.import_tf()
  tf.config.set_visible_devices([], "GPU")


# ----------------------------------------------------------------------------------------
# Configs.


def flag_config(config_flag: flags.FlagHolder, defaults: dict[str, Any] | None = None):
  """The value of a `config_flags.DEFINE_config_file` flag, with defaults under its overrides.

  The command line's overrides (`--config.a.b=v`) are already applied; `defaults`
  are applied to the fields the command line did not override, so they sit between
  the config file and the user's overrides.

  Args:
    config_flag: the parsed flag, as `DEFINE_config_file` returned it.
    defaults: dotted field -> value, e.g. {"data.synthetic_videos": 200}.

  Returns:
    A copy of the flag's (locked) ConfigDict.
  """
  given = config_flags.get_override_values(flags.FLAGS[config_flag.name])
  config = config_flag.value.copy_and_resolve_references()
  config.update_from_flattened_dict({k: v for k, v in (defaults or {}).items() if k not in given})
  return config


def config_from_file(path: str, overrides: Sequence[str] = ()):
  """`get_config()` of a config file, as the trainer would see it, with overrides.

  Args:
    path: the config file, relative to the repository or absolute.
    overrides: "a.b=value" strings; values are Python literals, else strings.

  Returns:
    The config (for the synthetic dataset with `model.num_classes` set as
    `pipeline.prepare` sets it).
  """
  import ast  # pylint: disable=g-import-not-at-top
  import importlib.util  # pylint: disable=g-import-not-at-top

  spec = importlib.util.spec_from_file_location("config_file", os.path.join(REPO, path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config()
  if config.data.dataset == "synthetic":
    from mgjax.data import synthetic  # pylint: disable=g-import-not-at-top

    config.model.num_classes = synthetic.num_classes(config.data.synthetic_task)
  values: dict[str, Any] = {}
  for item in overrides:
    field, _, text = item.partition("=")
    try:
      values[field] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      values[field] = text
  config.update_from_flattened_dict(values)
  return config


# ----------------------------------------------------------------------------------------
# What a result was measured on.


def _cpu_model() -> str:
  """The CPU's model name and its widest vector extension (the same model name is sold
  with and without AVX-512, and XLA:CPU's steps differ by about 2x between them)."""
  model, flags = platform.processor() or platform.machine(), set()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          model = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
          flags = set(line.split(":", 1)[1].split())
          break
  except OSError:
    return model
  isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
  return f"{model} ({isa})" if isa else model


def _version(module: str) -> str:
  try:
    from importlib import metadata  # pylint: disable=g-import-not-at-top

    return metadata.version(module)
  except Exception:  # pylint: disable=broad-except
    return "-"


def _git_commit() -> str:
  try:
    out = subprocess.run(
        ["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).stdout.strip()
    return out + ("+dirty" if dirty else "")
  except (OSError, subprocess.SubprocessError):
    return "-"


def shown_path(path: str) -> str:
  """A path as a report may print it: relative to the checkout, or `DIR` outside it.

  A report is read on other machines, where this machine's temporary directories mean
  nothing; only paths inside the checkout (configs, earlier reports) say something there.

  Args:
    path: a file or directory, absolute or relative to the working directory.

  Returns:
    The path relative to the checkout's root if it lies inside it, else "DIR".
  """
  rel = os.path.relpath(os.path.abspath(path), REPO)
  return "DIR" if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def shown_command(argv: Sequence[str]) -> str:
  """A command line as `shown_path` prints its paths (flag values and positionals).

  Args:
    argv: the script's `sys.argv`.

  Returns:
    The command line, with every argument that is an absolute path or names an existing
    file or directory replaced by `shown_path` of it (a `--flag=value` form keeps its flag).
  """

  def shown(arg: str) -> str:
    flag, eq, value = arg.partition("=") if arg.startswith("-") else ("", "", arg)
    if value and (os.path.isabs(value) or os.path.exists(value)):
      value = shown_path(value)
    return flag + eq + value

  return " ".join([shown_path(argv[0])] + [shown(a) for a in argv[1:]])


def machine_info() -> dict[str, Any]:
  """Date, CPU, cores, load average, package versions, commit and command line."""
  info = dict(
      date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
      cpu=_cpu_model(),
      cores=os.cpu_count(),
      python=platform.python_version(),
      load_average=[round(x, 2) for x in os.getloadavg()],
      commit=_git_commit(),
      command=shown_command(sys.argv),
  )
  for pkg in ("jax", "jaxlib", "flax", "optax", "tensorflow", "torch", "pytorchvideo", "numpy"):
    info[pkg] = _version(pkg)
  xla_flags = os.environ.get("XLA_FLAGS", "")
  if xla_flags:
    info["XLA_FLAGS"] = xla_flags
  return info


def describe_machine(info: dict[str, Any], load_after: Sequence[float] | None = None) -> str:
  """One paragraph for the top of a report."""
  load = "/".join(f"{x:.2f}" for x in info["load_average"])
  after = f", after {'/'.join(f'{x:.2f}' for x in load_after)}" if load_after else ""
  versions = ", ".join(
      f"{k} {info[k]}"
      for k in ("jax", "jaxlib", "flax", "tensorflow", "torch", "pytorchvideo")
      if info.get(k, "-") != "-"
  )
  return (
      f"{info['date']} · {info['cpu']}, {info['cores']} cores · load average (1/5/15 min) "
      f"{load} at start{after} · Python {info['python']}, {versions} · commit {info['commit']}\n"
      f"command: python {info['command']}"
  )


# ----------------------------------------------------------------------------------------
# Tables, statistics, files.


def fmt(v: Any, digits: int = 3) -> str:
  """A table cell: floats with `digits` significant digits, the rest as str."""
  if isinstance(v, float):
    if v != v:  # NaN.
      return "-"
    if v == 0 or 1e-3 <= abs(v) < 1e6:
      return f"{v:.{digits}g}" if abs(v) < 10**digits else f"{v:.0f}"
    return f"{v:.{digits - 1}e}"
  return "-" if v is None else str(v)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], digits: int = 3) -> str:
  """A GitHub-markdown table (also readable as plain text)."""
  cells = [[fmt(v, digits) for v in row] for row in rows]
  widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
  line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"
  sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
  return "\n".join([line(headers), sep] + [line(r) for r in cells])


@dataclasses.dataclass
class Stats:
  """Summary of repeated timings (seconds)."""

  n: int
  median: float
  mean: float
  stdev: float
  min: float

  @classmethod
  def of(cls, times: Sequence[float]) -> "Stats":
    times = list(times)
    if not times:
      return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
    return cls(
        len(times),
        statistics.median(times),
        statistics.fmean(times),
        statistics.stdev(times) if len(times) > 1 else 0.0,
        min(times),
    )


def write_json(path: str, payload: Any) -> None:
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  # Plain JSON values first (dataclasses and numpy arrays through `_json_default`), so that
  # the layout sees only dicts and lists and breaks a long array over lines like a list.
  plain = json.loads(json.dumps(payload, default=_json_default))
  with open(path, "w") as f:
    f.write(_json_lines(plain) + "\n")


def _json_lines(o: Any, indent: str = "", width: int = 100) -> str:
  """Indented JSON of plain values (dicts, lists, scalars), each value on one line where it
  fits in `width` columns.

  `json.dump(indent=1)` puts every number of a per-step timing list on its own line (a
  100,000-line file for one `multigrid_speedup.py` run); one row per line is as easy to
  read and to diff.
  """
  flat = json.dumps(o)
  if len(indent) + len(flat) <= width or not isinstance(o, (dict, list)) or not o:
    return flat
  inner = indent + " "
  if isinstance(o, dict):
    items = [f"{json.dumps(k)}: {_json_lines(v, inner, width)}" for k, v in o.items()]
    opening, closing = "{", "}"
  else:
    items = [_json_lines(v, inner, width) for v in o]
    opening, closing = "[", "]"
  return opening + "\n" + ",\n".join(inner + i for i in items) + "\n" + indent + closing


def _json_default(o):
  if dataclasses.is_dataclass(o):
    return dataclasses.asdict(o)
  try:
    import numpy as np  # pylint: disable=g-import-not-at-top

    if isinstance(o, np.generic):
      return o.item()
    if isinstance(o, np.ndarray):
      return o.tolist()
  except ImportError:
    pass
  return str(o)


def write_report(outdir: str, name: str, info: dict[str, Any], text: str, data: Any) -> None:
  """`<outdir>/<name>.md` (the printed report) and `<name>.json` (everything measured)."""
  os.makedirs(outdir, exist_ok=True)
  with open(os.path.join(outdir, f"{name}.md"), "w") as f:
    f.write(text.rstrip() + "\n")
  write_json(os.path.join(outdir, f"{name}.json"), dict(machine=info, results=data))


def matplotlib_pyplot():
  """pyplot with a file-only backend (no display on servers)."""
  import matplotlib  # pylint: disable=g-import-not-at-top

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  return plt


def run_child(
    args: Sequence[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> tuple[float, subprocess.CompletedProcess]:
  """Runs `python <args>` in a fresh process; returns (wall seconds, result)."""
  full_env = dict(os.environ, **(env or {}))
  full_env["PYTHONPATH"] = REPO + os.pathsep + full_env.get("PYTHONPATH", "")
  start = time.time()
  result = subprocess.run(
      [sys.executable, *args],
      env=full_env,
      capture_output=True,
      text=True,
      timeout=timeout,
      check=False,
  )
  wall = time.time() - start
  if result.returncode:
    sys.stderr.write(result.stdout[-3000:] + result.stderr[-6000:])
    raise RuntimeError(f"child {' '.join(args)} exited with {result.returncode}")
  return wall, result


# ----------------------------------------------------------------------------------------
# One compiled train step per shape, on random data.


class StepBench:
  """The trainer's train step for a config, compiled per shape and timed on random data.

  Uses the trainer's own pieces (`steps.init_state`, `steps.train_step`, the mesh and
  batch shardings), so the measured step is the step `train_and_evaluate` runs.
  """

  def __init__(self, config, mesh=None):
    import functools  # pylint: disable=g-import-not-at-top
    import jax  # pylint: disable=g-import-not-at-top
    from mgjax import compilation, multigrid, sharding, steps  # pylint: disable=g-import-not-at-top,multiple-imports

    self.config = config
    self.mesh = mesh or sharding.make_mesh()
    self.plan = multigrid.Plan.from_config(config)
    start = time.perf_counter()
    self.model_def, self.state = steps.init_state(config, self.mesh)
    jax.block_until_ready(self.state)
    self.init_seconds = time.perf_counter() - start
    step_fn = functools.partial(steps.train_step, model_def=self.model_def, config=config)
    self.steps = compilation.CompiledSteps(step_fn, self.mesh, steps.label_spec(config), self.state)

  def compile(self, key: tuple[int, int, int, int]) -> dict[str, float]:
    """Compiles the step of (B, T, S, BN group); returns seconds per phase and XLA's FLOPs.

    Returns:
      {"trace": s, "lower": s, "compile": s, "flops": FLOPs of one step (XLA cost
      analysis; -1 when the backend does not report it)}.
    """
    fn, args = self.steps.jitted(key)
    t0 = time.perf_counter()
    traced = fn.trace(*args)
    t1 = time.perf_counter()
    lowered = traced.lower()
    t2 = time.perf_counter()
    compiled = lowered.compile()
    t3 = time.perf_counter()
    self.steps.executables[key] = compiled
    return dict(trace=t1 - t0, lower=t2 - t1, compile=t3 - t2, flops=step_flops(lowered))

  def random_batch(self, key: tuple[int, int, int, int], seed: int = 0) -> dict[str, Any]:
    import numpy as np  # pylint: disable=g-import-not-at-top
    from mgjax import sharding  # pylint: disable=g-import-not-at-top

    b, t, s, _ = key
    rng = np.random.default_rng(seed)
    local = {"video": rng.integers(0, 256, (b, t, s, s, 3), dtype=np.uint8)}
    if self.config.data.multi_label:
      local["label"] = (rng.random((b, self.config.model.num_classes)) < 0.1).astype(np.float32)
    else:
      local["label"] = rng.integers(0, self.config.model.num_classes, (b,), dtype=np.int32)
    return sharding.global_batch(self.mesh, local)

  def time_steps(
      self, key: tuple[int, int, int, int], num_steps: int, batch: dict[str, Any] | None = None
  ) -> list[float]:
    """Seconds of each of `num_steps` steps (each waited for), after compiling if needed."""
    import jax  # pylint: disable=g-import-not-at-top

    if key not in self.steps.executables:
      self.compile(key)
    batch = batch if batch is not None else self.random_batch(key)
    lr = float(self.plan.lr_at(0))
    times = []
    for _ in range(num_steps):
      start = time.perf_counter()
      self.state, metrics = self.steps(key, self.state, batch, lr)
      jax.block_until_ready((self.state, metrics))
      times.append(time.perf_counter() - start)
    return times


def step_flops(lowered) -> float:
  """FLOPs of a lowered computation from XLA's cost analysis (-1 if unavailable).

  Counted on the lowered (backend-independent) program: a GPU executable's own cost
  analysis leaves out the convolutions that run as cuDNN calls (on an H200 it gave
  48 GFLOP for a SlowFast R50 step of 2.28 TFLOP). Backends behind the PJRT plugin
  interface (the CUDA plugin) do not analyse a lowering at all (`cost_analysis()` is
  None), so the same HLO module is then analysed by the CPU client, which is always
  there.
  """
  try:
    ca = lowered.cost_analysis()
    if ca is None:
      import jax  # pylint: disable=g-import-not-at-top
      from jax._src.lib import _jax  # pylint: disable=g-import-not-at-top

      ca = _jax.hlo_module_cost_analysis(
          jax.devices("cpu")[0].client, lowered.compiler_ir("hlo").as_hlo_module()
      )
    if isinstance(ca, (list, tuple)):
      ca = ca[0]
    return float(ca.get("flops", -1.0))
  except Exception:  # pylint: disable=broad-except
    return -1.0


def bts2(key: Sequence[int]) -> int:
  """B·T·S² of a (B, T, S, ...) shape: the plan's cost unit."""
  return int(key[0]) * int(key[1]) * int(key[2]) ** 2


# ----------------------------------------------------------------------------------------
# A trainer run.


def parse_shape(name: str) -> tuple[int, int, int]:
  """(B, T, S) of the trainer's name of a shape, "BxTxS²"."""
  b, t, s = name.rstrip("²").split("x")
  return int(b), int(t), int(s)


def train_run(config, workdir: str, *, evaluate_at_end: bool = True) -> dict[str, Any]:
  """Trains `config` from scratch in `workdir` with the real trainer.

  Every shape is compiled before step 0: a compile beside the loop would share the
  host's cores with the steps being timed.

  Returns:
    The plan's steps, epochs, Σ B·T·S² and theoretical speedup over its baseline, and
    what the trainer measured (`train.train_and_evaluate`'s summary): the training-loop
    seconds (compiles and evaluations excluded), compile, input-wait and evaluation
    seconds, the accuracy curve (one point per evaluation, against the loop's seconds),
    the final evaluation's metrics, and per step shape [(B, T, S), steps, loop seconds,
    input-wait seconds].
  """
  import shutil  # pylint: disable=g-import-not-at-top
  from mgjax import multigrid, train  # pylint: disable=g-import-not-at-top,multiple-imports
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  plan = multigrid.Plan.from_config(pipeline.prepare(config))
  if os.path.exists(workdir):  # Never resume an earlier measurement.
    shutil.rmtree(workdir)
  config = config.copy_and_resolve_references()
  config.train.background_compile = False
  summary = train.train_and_evaluate(config, workdir, evaluate_at_end=evaluate_at_end)
  return dict(
      steps=plan.num_steps,
      epochs=plan.max_epoch,
      cost=plan.cost,
      theoretical_speedup=plan.baseline.cost / plan.cost,
      iteration_speedup=plan.baseline.num_steps / plan.num_steps,
      train_seconds=summary["train_seconds"],
      compile_seconds=summary["compile_seconds"],
      compiled_shapes=summary["compiled_shapes"],
      wait_seconds=summary["input_wait_seconds"],
      wait_fraction=summary["input_wait_seconds"] / max(summary["train_seconds"], 1e-9),
      eval_seconds=summary["eval_seconds"] + summary["precise_bn_seconds"],
      total_seconds=summary["total_seconds"],
      clips=int(sum(plan.step_table()["batch_size"])),
      final=dict(summary.get("eval", {})),
      curve=summary["evals"],
      shapes=[
          [parse_shape(k), v["steps"], v["seconds"], v["input_wait_seconds"]]
          for k, v in summary["shapes"].items()
      ],
  )


def paired_interval(
    base_runs: Sequence[dict[str, Any]],
    mg_runs: Sequence[dict[str, Any]],
    samples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float, float] | None:
  """The mean top-1 difference (multigrid − baseline, points) and its 95% interval.

  A paired bootstrap over test videos and seeds: each sample draws the test videos with
  replacement (the same draw for every run, so each video is compared with itself) and the
  seed pairs with replacement, and averages the per-video differences of the drawn pairs.
  The interval is the 2.5 and 97.5 percentiles.

  Args:
    base_runs, mg_runs: the runs of each seed, paired by position, with `per_video`.
    samples: bootstrap samples.
    seed: the bootstrap's random seed.

  Returns:
    (difference, low, high) in points, or None without per-video results.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top

  tables = []
  for runs in (base_runs, mg_runs):
    rows = [dict(map(tuple, r.get("per_video") or [])) for r in runs]
    tables.append(rows)
  videos = sorted(set.intersection(*(set(r) for rows in tables for r in rows)))
  if not videos or not all(len(r) for rows in tables for r in rows):
    return None
  correct = np.array([[[r[v] for v in videos] for r in rows] for rows in tables], np.float64)
  diff = correct[1] - correct[0]  # [seeds, videos]
  n_seeds, n_videos = diff.shape
  rng = np.random.default_rng(seed)
  stats = np.empty(samples)
  for lo in range(0, samples, 500):  # In chunks, to bound memory.
    hi = min(samples, lo + 500)
    w = rng.multinomial(n_videos, np.full(n_videos, 1 / n_videos), hi - lo)  # [b, videos]
    u = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), hi - lo)  # [b, seeds]
    stats[lo:hi] = np.einsum("bs,sv,bv->b", u, diff, w) / (n_seeds * n_videos)
  low, high = np.percentile(stats, [2.5, 97.5])
  return 100 * float(diff.mean()), 100 * float(low), 100 * float(high)
