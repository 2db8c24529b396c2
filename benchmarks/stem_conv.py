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
"""Why the stem runs as im2col on XLA:CPU: the 3-channel conv1 and the train step.

  python benchmarks/stem_conv.py             # op level + whole train steps
  python benchmarks/stem_conv.py --quick     # op level only, fewer repeats

Profiling a small SlowFast's train step (`jax.profiler` on XLA:CPU) with conv1 as
an XLA convolution put about half of it in two ops: the fast pathway's conv1
(3 -> 4 channels, 5x7x7, spatial stride 2) and its kernel gradient. XLA:CPU runs
convolutions with Eigen kernels that vectorise over channels; with 3 input and a
handful of output channels they run at a small fraction of the machine's FLOP/s.
This script times conv1's forward + kernel gradient (conv1's input is the data,
so no input gradient) at the stems of the demo model and of SlowFast R50, two ways:

  conv       lax.conv_general_dilated, what `nnx.Conv` runs;
  im2col     `layers.im2col_conv3d`: the same convolution as strided slices and one
             matmul (the relative difference is printed), what `resnet3d.Stem`
             runs on the CPU backend;
and, with `--full_step`, the whole train step of the demo model and of SlowFast R50
(batch 2, 32x112²) with each (`config.model.stem_im2col`).
"""

from __future__ import annotations

import argparse
import os
import time

import common  # pylint: disable=g-bad-import-order

# (label, input [B, T, H, W, 3], kernel (kt, 7, 7, 3, C_out)).
CASES = (
    ("demo fast stem, 16x16x32²", (16, 16, 32, 32, 3), (5, 7, 7, 3, 4)),
    ("demo slow stem, 16x4x32²", (16, 4, 32, 32, 3), (1, 7, 7, 3, 32)),
    ("R50 fast stem, 2x32x112²", (2, 32, 112, 112, 3), (5, 7, 7, 3, 8)),
    ("R50 slow stem, 2x8x112²", (2, 8, 112, 112, 3), (1, 7, 7, 3, 64)),
)


def conv(x, w):
  """conv1 as mgjax runs it: kt x7x7, stride (1, 2, 2), symmetric k // 2 padding."""
  from jax import lax  # pylint: disable=g-import-not-at-top

  kt = w.shape[0]
  return lax.conv_general_dilated(
      x,
      w,
      (1, 2, 2),
      [(kt // 2, kt // 2), (3, 3), (3, 3)],
      dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
  )


def im2col(x, w):
  """conv1 as mgjax runs it on XLA:CPU."""
  from mgjax.models import layers  # pylint: disable=g-import-not-at-top

  return layers.im2col_conv3d(x, w, 2)


def time_grad(fn, x, params, repeats: int) -> float:
  """Median seconds of loss value + gradient w.r.t. the kernels (not the input)."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top

  step = jax.jit(jax.value_and_grad(lambda p, x: jnp.sum(fn(x, *p) ** 2)))
  jax.block_until_ready(step(params, x))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(step(params, x))
    times.append(time.perf_counter() - start)
  return common.Stats.of(times).median


def op_level(repeats: int) -> tuple[str, list]:
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  rows, data = [], []
  for label, xs, ws in CASES:
    x = jnp.asarray(rng.standard_normal(xs, np.float32))
    w = jnp.asarray(rng.standard_normal(ws, np.float32) * 0.1)
    err = float(jnp.max(jnp.abs(conv(x, w) - im2col(x, w))) / jnp.max(jnp.abs(conv(x, w))))
    t_conv = time_grad(conv, x, (w,), repeats)
    t_im2col = time_grad(im2col, x, (w,), repeats)
    flops = 2 * 2 * np.prod(xs[:2]) * (xs[2] // 2) * (xs[3] // 2) * np.prod(ws)  # fwd + kernel grad
    rows.append(
        (
            label,
            f"{ws[0]}x7x7 {ws[3]}->{ws[4]}",
            1e3 * t_conv,
            1e3 * t_im2col,
            t_conv / t_im2col,
            flops / t_conv / 1e9,
            flops / t_im2col / 1e9,
            f"{err:.1e}",
        )
    )
    data.append(dict(case=label, conv=t_conv, im2col=t_im2col, rel_err=err))
    print(f"  {label}: conv {1e3 * t_conv:.0f} ms, im2col {1e3 * t_im2col:.0f} ms", flush=True)
  head = (
      "conv1 (fwd + kernel grad)",
      "kernel",
      "conv ms",
      "im2col ms",
      "conv/im2col",
      "conv GFLOP/s",
      "im2col GFLOP/s",
      "max rel. diff",
  )
  return common.markdown_table(head, rows), data


def full_step(repeats: int, with_r50: bool) -> tuple[str, list]:
  """Whole train steps with conv1 as an XLA convolution and as im2col."""
  import jax  # pylint: disable=g-import-not-at-top
  import step_time  # pylint: disable=g-import-not-at-top

  demo = step_time.plan_config("configs/demo.py")
  cases = [(demo, (16, 16, 32, 8)), (demo, (256, 4, 16, 16))]
  if with_r50:
    r50 = step_time.model_case_config("slowfast_r50")
    cases.append((r50, (2, 32, 112, 2)))
  configs = [demo] + ([r50] if with_r50 else [])
  rows, data = [], []
  for label, use_im2col in (
      ("conv1 as XLA convolution", False),
      ("conv1 as im2col (default)", True),
  ):
    row = [label]
    for config in configs:  # One model state in memory at a time.
      variant = config.copy_and_resolve_references()
      variant.model.stem_im2col = use_im2col
      bench = common.StepBench(variant)
      for key in (k for c, k in cases if c is config):
        bench.compile(key)
        t = common.Stats.of(bench.time_steps(key, repeats + 1)[1:]).median
        row.append(t)
        data.append(dict(variant=label, model=config.model.name, key=list(key), seconds=t))
      del bench
      jax.clear_caches()
    rows.append(row)
    print(f"  {label}: {', '.join(f'{t:.3f} s' for t in row[1:])}", flush=True)
  head = ["train step (s)"] + [
      f"{'R50' if c.model.width == 0 else 'demo'} {k[0]}x{k[1]}x{k[2]}²" for c, k in cases
  ]
  return common.markdown_table(head, rows), data


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true", help="Op level only, 3 repeats.")
  p.add_argument("--repeats", type=int, default=7)
  p.add_argument(
      "--full_step",
      action=argparse.BooleanOptionalAction,
      default=None,
      help="Also the demo's whole train step (default: on unless --quick).",
  )
  p.add_argument(
      "--no_r50_step",
      action="store_true",
      help="In --full_step, only the demo model (not SlowFast R50 at 2x32x112²).",
  )
  p.add_argument("--outdir", default=common.DEFAULT_OUTDIR)
  args = p.parse_args()
  common.quiet_logs()
  if args.quick:
    args.repeats = 3
  full = (not args.quick) if args.full_step is None else args.full_step
  import jax  # pylint: disable=g-import-not-at-top

  info = common.machine_info()
  table, ops = op_level(args.repeats)
  lines = [
      "## XLA:CPU and the 3-channel stem convolution",
      "",
      common.describe_machine(info, os.getloadavg()),
      "",
      f"Median of {args.repeats} runs, {jax.default_backend()} backend, float32."
      + (" QUICK variant." if args.quick else ""),
      "",
      table,
  ]
  steps = []
  if full:
    step_table, steps = full_step(args.repeats, not args.no_r50_step)
    lines += ["", step_table]
  text = "\n".join(lines)
  print("\n" + text)
  name = "stem_conv" + ("_quick" if args.quick else "")
  common.write_report(args.outdir, name, info, text, dict(op_level=ops, full_step=steps))


if __name__ == "__main__":
  main()
