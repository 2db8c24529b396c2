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
"""Train-step time of mgjax vs PyTorchVideo's equivalent model, same shapes, same cores.

  python benchmarks/step_time.py                 # R50 SlowFast + I3D + every demo plan shape
  python benchmarks/step_time.py --quick         # R50 SlowFast + two demo plan shapes
  python benchmarks/step_time.py --model_batch 8 --model_crop 224 --dtype bfloat16 \
      --plan_config configs/kinetics/slowfast_r50_8x8_multigrid.py --plan_set optim.batch_size=8 \
      --peak_tflops 989                       # a GPU: full-size models, the paper's plan per GPU

Each case is one (model, B, T, S): mgjax's train step (the trainer's `train_step`:
normalisation, forward, softmax cross-entropy, backward, SGD with Nesterov momentum
and weight decay, compiled ahead of time) against the same step of the PyTorchVideo
model (`create_slowfast` / `create_resnet` as `tests/torch_reference.py` builds them,
with a global average pool head so any clip size works; eager, on the GPU when there is
one, under bf16 autocast with `--dtype bfloat16`). The two frameworks alternate in
rounds within this process so machine noise hits both; on CPU torch gets
`torch.set_num_threads(<cores>)` and XLA:CPU uses all cores. Reported: median step
time, the mgjax/torch ratio, compile time, the step's FLOPs from XLA's cost analysis,
achieved GFLOP/s and, given `--peak_tflops`, the model FLOP utilisation.

Cases:
  slowfast_r50   SlowFast R50 8x8, batch 2, slow 8x112², fast 32x112² (`--model_batch` and
                 `--model_crop` change batch and crop).
  i3d_r50        I3D R50 (the zoo's), batch 2, 8x112² (likewise).
  plan           every step shape (B, T, S, BN group) of `--plan_config`'s multigrid plan
                 (with `--plan_set` overrides), with that config's model (default: the
                 demo's small SlowFast). When every shape is measured, the plan's step
                 counts turn the per-shape times into the time of the multigrid run and of
                 its baseline: the speedup the plan reaches on this machine from step time
                 alone, next to the theoretical one (Σ B·T·S²).

`--xla_flag_sets` re-runs the mgjax side in child processes with other XLA_FLAGS
(process-wide, so one child per set), e.g. "--xla_cpu_use_onednn=true".
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from typing import Any, Sequence

import common  # pylint: disable=g-bad-import-order

ALL_CASES = ("slowfast_r50", "i3d_r50", "plan")
# mgjax's sides: the config as it is (on CPU, every convolution in its `layers.cpu_form`),
# and the same with XLA's 3-D convolutions but the im2col stem (`model.factorized_conv=False`).
JAX_SIDES = ("jax", "jax3d")
SIDE_NAMES = {"jax": "mgjax", "jax3d": "mgjax 3-D conv", "torch": "torch"}


def side_config(config, side: str):
  """The config one side of the comparison trains with."""
  if side == "jax":
    return config
  config = config.copy_and_resolve_references()
  config.model.factorized_conv = False
  return config


# ----------------------------------------------------------------------------------------
# Cases.


def model_case_config(name: str, batch: int, crop: int, dtype: str):
  """A config whose base shape is the case's clip (no multigrid)."""
  from mgjax import config as config_lib  # pylint: disable=g-import-not-at-top

  frames = {"slowfast_r50": 32, "i3d_r50": 8}[name]
  model = {"slowfast_r50": "slowfast_r50_8x8", "i3d_r50": "i3d_r50"}[name]
  config = config_lib.base()
  config.update_from_flattened_dict(
      {
          "model.name": model,
          "model.num_classes": 400,
          "model.dtype": dtype,
          "data.num_frames": frames,
          "data.crop_size": crop,
          "data.jitter_scales": (crop * 8 // 7, crop * 10 // 7),
          "optim.batch_size": batch,
          "multigrid.long_cycle": False,
          "multigrid.short_cycle": False,
          # The paper's BN group is 8 clips; fewer when the batch is smaller.
          "multigrid.bn_group_size": math.gcd(batch, 8),
      }
  )
  return config


def plan_config(path: str, overrides: Sequence[str] = (), dtype: str = ""):
  """`common.config_from_file` with the model's compute dtype ("": the config's)."""
  return common.config_from_file(
      path, list(overrides) + ([f"model.dtype={dtype}"] if dtype else [])
  )


def cases(names: list[str], args: argparse.Namespace) -> list[tuple[str, Any, tuple]]:
  """(label, config, step key) of each measurement, grouped by config."""
  from mgjax import compilation, multigrid  # pylint: disable=g-import-not-at-top,multiple-imports

  out = []
  plan_shapes = args.plan_shapes
  for name in names:
    if name == "plan":
      config = plan_config(args.plan_config, args.plan_set, args.dtype)
      keys = compilation.step_keys(multigrid.Plan.from_config(config))
      if plan_shapes:  # The base shape and the smallest-crop shapes first.
        base = (
            keys[-1] if keys[-1][:3] == multigrid.Plan.from_config(config).base_shape else keys[0]
        )
        rest = sorted((k for k in keys if k != base), key=lambda k: (k[2], k[1]))
        keys = [base] + rest[: plan_shapes - 1]
      for key in keys:
        out.append((f"plan {key[0]}x{key[1]}x{key[2]}² g{key[3]}", config, key))
    else:
      config = model_case_config(name, args.model_batch, args.model_crop, args.dtype or "float32")
      b, t, s = config.optim.batch_size, config.data.num_frames, config.data.crop_size
      out.append((f"{name} {b}x{t}x{s}²", config, (b, t, s, config.multigrid.bn_group_size)))
  return out


# ----------------------------------------------------------------------------------------
# PyTorchVideo side.


@contextlib.contextmanager
def _stage_depths(depths: tuple[int, ...]):
  """PyTorchVideo picks stage depths from a table keyed by model depth: put the small
  models' depths under 50 while building."""
  from pytorchvideo.models import resnet, slowfast  # pylint: disable=g-import-not-at-top

  saved = resnet._MODEL_STAGE_DEPTH[50], slowfast._MODEL_STAGE_DEPTH[50]  # pylint: disable=protected-access
  if depths:
    resnet._MODEL_STAGE_DEPTH[50] = slowfast._MODEL_STAGE_DEPTH[50] = tuple(depths)  # pylint: disable=protected-access
  try:
    yield
  finally:
    resnet._MODEL_STAGE_DEPTH[50], slowfast._MODEL_STAGE_DEPTH[50] = saved  # pylint: disable=protected-access


def torch_reference():
  """The tests' PyTorchVideo builders (they install the torchvision stand-in)."""
  tests = os.path.join(common.REPO, "tests")
  if tests not in sys.path:
    sys.path.insert(0, tests)
  import torch_reference as tr  # pylint: disable=g-import-not-at-top

  return tr


class TorchStep:
  """The PyTorchVideo model's train step on random data of one shape."""

  def __init__(
      self, config, key: tuple[int, ...], channels_last: bool = False, device: str = "cpu"
  ):
    import torch  # pylint: disable=g-import-not-at-top
    from mgjax.models import registry  # pylint: disable=g-import-not-at-top

    tr = torch_reference()
    m = config.model
    if m.bottleneck_ratio:
      raise ValueError("no PyTorchVideo equivalent for model.bottleneck_ratio")
    depth = tuple(m.depths) if m.depths and tuple(m.depths) != (3, 4, 6, 3) else ()
    with _stage_depths(depth):
      self.model = tr.build(
          m.name,
          num_classes=m.num_classes,
          dropout_rate=m.dropout_rate,
          any_size=True,
          width=m.width or 64,
      )
    self.model.train()
    self.alpha = registry.model_spec(m.name).alpha if m.name.startswith("slowfast") else None
    self.memory_format = torch.channels_last_3d if channels_last else torch.contiguous_format
    self.device = torch.device(device)
    self.model.to(self.device, memory_format=self.memory_format)
    # mgjax's bf16 computes in bf16 with float32 parameters: torch's autocast.
    self.autocast = config.model.dtype == "bfloat16"
    o = config.optim
    self.opt = torch.optim.SGD(
        self.model.parameters(),
        lr=0.01,
        momentum=o.momentum,
        nesterov=o.nesterov,
        weight_decay=o.weight_decay,
    )
    b, t, s = key[:3]
    g = torch.Generator().manual_seed(0)
    to = lambda x: x.to(self.device)
    self.video = to(torch.randint(0, 256, (b, 3, t, s, s), generator=g, dtype=torch.uint8))
    self.labels = to(torch.randint(0, m.num_classes, (b,), generator=g))
    self.mean = to(torch.tensor(config.data.mean).view(1, 3, 1, 1, 1) * 255)
    self.std = to(torch.tensor(config.data.std).view(1, 3, 1, 1, 1) * 255)
    self.num_params = sum(p.numel() for p in self.model.parameters())

  def step(self) -> None:
    import torch  # pylint: disable=g-import-not-at-top

    x = ((self.video.float() - self.mean) / self.std).contiguous(memory_format=self.memory_format)
    if self.alpha:  # The reference's PackPathway: the slow frames are a linspace subsample.
      t = x.shape[2]
      idx = torch.linspace(0, t - 1, t // self.alpha).long().to(self.device)
      x = [torch.index_select(x, 2, idx).contiguous(memory_format=self.memory_format), x]
    with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
      loss = torch.nn.functional.cross_entropy(self.model(x).float(), self.labels)
    self.opt.zero_grad(set_to_none=True)
    loss.backward()
    self.opt.step()

  def time_steps(self, n: int) -> list[float]:
    import torch  # pylint: disable=g-import-not-at-top

    sync = torch.cuda.synchronize if self.device.type == "cuda" else lambda: None
    times = []
    for _ in range(n):
      start = time.perf_counter()
      self.step()
      sync()  # CUDA runs asynchronously: wait for the step, as mgjax's timing does.
      times.append(time.perf_counter() - start)
    return times


# ----------------------------------------------------------------------------------------
# Measurement.


def measure(
    case_list,
    frameworks: list[str],
    rounds: int,
    steps: int,
    channels_last: bool,
    torch_device: str = "cpu",
    partial_json: str = "",
    log=print,
) -> list[dict[str, Any]]:
  """Compiles/builds each case, then alternates mgjax and torch timing rounds.

  Each shape is traced, lowered and compiled in turn, as the trainer's
  `CompiledSteps.compile_all` does before step 0, and each phase is timed.
  `partial_json`, if given, is rewritten after each case, so a run cut short keeps
  what it measured.
  """
  import jax  # pylint: disable=g-import-not-at-top

  results, benches = [], {}
  jax_sides = [f for f in frameworks if f in JAX_SIDES]
  for label, config, key in case_list:
    if jax_sides and id(config) not in benches:
      jax.clear_caches()
      benches.clear()  # One model's state in memory at a time.
      benches[id(config)] = {
          side: common.StepBench(side_config(config, side)) for side in jax_sides
      }
    r: dict[str, Any] = dict(
        case=label, key=list(key), bts2=common.bts2(key), torch=[], **{s: [] for s in jax_sides}
    )
    batch = None
    for side in jax_sides:
      bench = benches[id(config)][side]
      r[f"{side}_params"] = int(sum(x.size for x in jax.tree.leaves(bench.state["params"])))
      r[f"{side}_compile"] = bench.compile(key)
      r[f"{side}_flops"] = r[f"{side}_compile"].pop("flops")
      batch = bench.random_batch(key) if batch is None else batch
      bench.time_steps(key, 1, batch)  # Warm-up (first run allocates).
    torch_step = None
    if "torch" in frameworks:
      torch_step = TorchStep(config, key, channels_last, torch_device)
      r["torch_params"] = torch_step.num_params
      torch_step.time_steps(2)  # Warm-up (allocation; cuDNN's algorithm search on a GPU).
    for _ in range(rounds):
      for side in jax_sides:
        r[side] += benches[id(config)][side].time_steps(key, steps, batch)
      if torch_step is not None:
        r["torch"] += torch_step.time_steps(steps)
    if torch_step is not None:
      del torch_step
      _release_torch_memory()
    for side in jax_sides + ["torch"]:
      r[f"{side}_stats"] = common.Stats.of(r[side])
    log(
        f"  {label}: "
        + ", ".join(
            f"{SIDE_NAMES[s]} {r[f'{s}_stats'].median:.4f} s" for s in jax_sides + ["torch"]
        ),
        flush=True,
    )
    results.append(r)
    if partial_json:
      common.write_json(partial_json, results)
  return results


def _release_torch_memory() -> None:
  """Gives torch's cached GPU memory back, for the next case's mgjax step."""
  import torch  # pylint: disable=g-import-not-at-top

  if torch.cuda.is_available():
    torch.cuda.empty_cache()


def plan_estimate(config, results: list[dict[str, Any]], framework: str) -> dict[str, float] | None:
  """Time of the plan's multigrid run and of its baseline from measured step times.

  Args:
    config: the plan's config.
    results: `measure`'s results, including every shape of the plan and the baseline's.
    framework: "jax", "jax3d" or "torch".

  Returns:
    {"multigrid_s", "baseline_s", "speedup", "theoretical_speedup"}, or None when a
    shape was not measured.
  """
  from mgjax import compilation, multigrid  # pylint: disable=g-import-not-at-top,multiple-imports

  plan = multigrid.Plan.from_config(config)
  median = {
      tuple(r["key"]): r[f"{framework}_stats"].median for r in results if r[f"{framework}_stats"].n
  }
  table = plan.step_table()
  counts = collections.Counter(
      zip(*(table[k].tolist() for k in ("batch_size", "num_frames", "crop_size", "bn_group_size")))
  )
  base_key = compilation.step_keys(plan.baseline)[0]
  if any(k not in median for k in list(counts) + [base_key]):
    return None
  mg = sum(n * median[k] for k, n in counts.items())
  base = plan.baseline.num_steps * median[base_key]
  return dict(
      multigrid_s=mg,
      baseline_s=base,
      speedup=base / mg,
      theoretical_speedup=plan.baseline.cost / plan.cost,
  )


def child_jax_run(args, flags: str) -> list[dict[str, Any]]:
  """The mgjax side of the same cases in a child process with other XLA_FLAGS."""
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "r.json")
    cmd = [
        os.path.abspath(__file__),
        "--frameworks",
        "jax",
        "--cases",
        args.cases,
        "--plan_config",
        args.plan_config,
        "--plan_shapes",
        str(args.plan_shapes),
        "--rounds",
        str(args.rounds),
        "--steps",
        str(args.steps),
        "--json_out",
        out,
        "--model_batch",
        str(args.model_batch),
        "--model_crop",
        str(args.model_crop),
        "--dtype",
        args.dtype,
    ] + [f"--plan_set={x}" for x in args.plan_set]
    cmd += ["--single_thread"] if args.single_thread else []
    env = {"XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " " + flags).strip()}
    common.run_child(cmd, env=env)
    with open(out) as f:
      return json.load(f)


def report(results, flag_results, info, args, estimates=None) -> str:
  peak = args.peak_tflops * 1e12 if args.peak_tflops else 0.0
  sides = [x for x in JAX_SIDES + ("torch",) if any(r[f"{x}_stats"].n for r in results)]
  rows = []
  for r in results:
    stats = {x: r[f"{x}_stats"] for x in sides}
    j, t = stats.get("jax"), stats.get("torch")
    flops = r.get("jax3d_flops", r.get("jax_flops", -1.0))
    row = [
        r["case"],
        "/".join(f"{r.get(f'{x}_params', 0) / 1e6:.2f}M" for x in ("jax", "torch")),
        f"{r['bts2']:.3g}",
        *(stats[x].median for x in sides),
    ]
    if "jax3d" in stats and j:
      row.append(stats["jax3d"].median / j.median)
    row += [
        j.median / t.median if t and j and t.n and j.n else None,
        (r["jax_compile"]["trace"] + r["jax_compile"]["lower"]) if "jax_compile" in r else None,
        r["jax_compile"]["compile"] if "jax_compile" in r else None,
        flops / 1e9 if flops > 0 else None,
        flops / j.median / 1e9 if flops > 0 and j and j.n else None,
        flops / t.median / 1e9 if flops > 0 and t and t.n else None,
    ]
    if peak:
      row.append(f"{100 * flops / j.median / peak:.1f}%" if flops > 0 else "-")
    for flags, fr in flag_results.items():
      match = next((x for x in fr if x["case"] == r["case"]), None)
      row.append(match["jax_stats"]["median"] / j.median if match else None)
    rows.append(row)
  head = ["case BxTxS²", "params mgjax/torch", "B·T·S²"]
  head += [f"{SIDE_NAMES[x]} s/step" for x in sides]
  if "jax3d" in sides and "jax" in sides:
    head.append("3-D conv / mgjax")
  head += [
      "mgjax/torch",
      "trace+lower s",
      "XLA compile s",
      "GFLOP/step (XLA)",
      "mgjax GFLOP/s",
      "torch GFLOP/s",
  ]
  if peak:
    head.append(f"MFU (peak {args.peak_tflops:g} TFLOP/s)")
  head += [f"time with {f} / default" for f in flag_results]
  steps = args.rounds * args.steps
  lines = [
      "## mgjax vs PyTorchVideo train step",
      "",
      common.describe_machine(info, os.getloadavg()),
      "",
      f"Median of {steps} steps per side ({args.rounds} alternating rounds of "
      f"{args.steps}); torch on {args.torch_device or 'cpu'}, {args.torch_threads} threads, "
      f"{'channels_last_3d' if args.torch_channels_last else 'NCDHW contiguous'}; mgjax on "
      f"{info.get('jax_backend', '?')}"
      + (f", XLA_FLAGS {info['XLA_FLAGS']}" if info.get("XLA_FLAGS") else "")
      + "."
      + (
          " mgjax: the convolutions in `layers.cpu_form`'s forms (the default on CPU); "
          "mgjax 3-D conv: XLA's 3-D convolutions, conv1 as im2col (`model.factorized_conv="
          "False`). GFLOP/s from XLA's count of the 3-D step (the forms count the same "
          "products)."
          if "jax3d" in sides
          else ""
      )
      + (" QUICK variant." if args.quick else ""),
      "",
      common.markdown_table(head, rows),
  ]
  if estimates:
    lines += [
        "",
        f"The plan of {args.plan_config}"
        + (f" ({', '.join(args.plan_set)})" if args.plan_set else "")
        + " from these step times (Σ over its steps of the shape's median; input, "
        "compile and evaluation not counted):",
        "",
    ]
    lines.append(
        common.markdown_table(
            [
                "side",
                "baseline h",
                "multigrid h",
                "speedup",
                "theoretical (Σ B·T·S²)",
                "measured/theoretical",
            ],
            [
                [
                    SIDE_NAMES[fw],
                    e["baseline_s"] / 3600,
                    e["multigrid_s"] / 3600,
                    e["speedup"],
                    e["theoretical_speedup"],
                    e["speedup"] / e["theoretical_speedup"],
                ]
                for fw, e in estimates.items()
            ],
        )
    )
  return "\n".join(lines)


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument(
      "--quick", action="store_true", help="slowfast_r50 and two plan shapes, 2 rounds of 1 step."
  )
  p.add_argument(
      "--cases", default=",".join(ALL_CASES), help="Comma-separated: " + ", ".join(ALL_CASES)
  )
  p.add_argument("--model_batch", type=int, default=2, help="Batch of slowfast_r50 and i3d_r50.")
  p.add_argument("--model_crop", type=int, default=112, help="Crop of slowfast_r50 and i3d_r50.")
  p.add_argument(
      "--dtype",
      default="",
      choices=("", "float32", "bfloat16"),
      help="Compute dtype (default: float32, the plan config's for the plan).",
  )
  p.add_argument("--plan_config", default="configs/demo.py")
  p.add_argument(
      "--plan_set",
      action="append",
      default=[],
      help="Override of the plan config, e.g. optim.batch_size=8 (repeatable).",
  )
  p.add_argument(
      "--plan_shapes",
      type=int,
      default=0,
      help="Only the base shape and the n-1 smallest-crop shapes of the plan (0 = all).",
  )
  p.add_argument(
      "--frameworks",
      default="",
      help="Comma-separated sides: jax, jax3d (XLA's 3-D convolutions), torch "
      "(default: all three on CPU, jax,torch elsewhere).",
  )
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--steps", type=int, default=2, help="Timed steps per framework per round.")
  p.add_argument("--torch_threads", type=int, default=os.cpu_count())
  p.add_argument(
      "--single_thread",
      action="store_true",
      help="One thread each (torch.set_num_threads(1), XLA --xla_cpu_multi_thread_eigen="
      "false): steadier on an oversubscribed machine, where torch's OpenMP threads "
      "slow down erratically.",
  )
  p.add_argument("--torch_channels_last", action="store_true")
  p.add_argument(
      "--torch_device", default="", help="Default: cuda when torch sees a GPU, else cpu."
  )
  p.add_argument(
      "--peak_tflops",
      type=float,
      default=0.0,
      help="Peak FLOP/s of the device (TFLOP/s) for the MFU column, e.g. 989 for an H100 "
      "SXM in bf16 dense.",
  )
  p.add_argument(
      "--xla_flag_sets",
      action="append",
      default=[],
      help="Also time mgjax with these XLA_FLAGS (repeatable; a child process each).",
  )
  p.add_argument("--outdir", default=common.DEFAULT_OUTDIR)
  p.add_argument("--tag", default="", help="Suffix of the output files' names.")
  p.add_argument("--json_out", default="", help=argparse.SUPPRESS)
  args = p.parse_args()
  if args.quick:
    args.cases = "slowfast_r50,plan" if args.cases == ",".join(ALL_CASES) else args.cases
    args.plan_shapes = args.plan_shapes or 2
    args.rounds, args.steps = 2, 1
  common.quiet_logs()
  if args.single_thread:  # Before JAX starts its CPU client.
    args.torch_threads = 1
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
    ).strip()
  import jax  # pylint: disable=g-import-not-at-top

  cpu = jax.default_backend() == "cpu"
  args.frameworks = args.frameworks or ("jax,jax3d,torch" if cpu else "jax,torch")
  frameworks = args.frameworks.split(",")
  if "torch" in frameworks:
    import torch  # pylint: disable=g-import-not-at-top

    torch.set_num_threads(args.torch_threads)
    args.torch_device = args.torch_device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True  # Best cuDNN algorithm per shape (no effect on CPU).

  info = common.machine_info()
  info["jax_backend"] = (
      f"{jax.default_backend()} ({jax.device_count()} device(s): {jax.devices()[0].device_kind})"
  )

  name = (
      "step_time"
      + ("_quick" if args.quick else "")
      + ("_1thread" if args.single_thread else "")
      + ("_xla_flags" if args.xla_flag_sets else "")
      + (f"_{args.tag}" if args.tag else "")
  )
  case_list = cases(args.cases.split(","), args)
  results = measure(
      case_list,
      frameworks,
      args.rounds,
      args.steps,
      args.torch_channels_last,
      args.torch_device or "cpu",
      partial_json=args.json_out or os.path.join(args.outdir, name + "_partial.json"),
  )
  if args.json_out:  # A child of --xla_flag_sets.
    common.write_json(args.json_out, results)
    return
  flag_results = {}
  for flags in args.xla_flag_sets:
    print(f"XLA_FLAGS={flags}:", flush=True)
    flag_results[flags] = child_jax_run(args, flags)
  plan_cfg = next((c for label, c, _ in case_list if label.startswith("plan ")), None)
  estimates = {}
  for fw in frameworks if plan_cfg is not None else ():
    e = plan_estimate(plan_cfg, [r for r in results if r["case"].startswith("plan ")], fw)
    if e:
      estimates[fw] = e
  info["torch_device"] = args.torch_device
  text = report(results, flag_results, info, args, estimates)
  print("\n" + text)
  common.write_report(
      args.outdir,
      name,
      info,
      text,
      dict(results=results, xla_flag_sets=flag_results, plan_estimates=estimates),
  )
  os.remove(os.path.join(args.outdir, name + "_partial.json"))


if __name__ == "__main__":
  main()
