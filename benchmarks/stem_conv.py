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
"""Why the small models' train step is slow on XLA:CPU: the 3-channel stem convolution.

  python benchmarks/stem_conv.py             # op level + the demo's whole train step
  python benchmarks/stem_conv.py --quick     # op level only, fewer repeats

Profiling the demo's train step (`jax.profiler` on XLA:CPU) puts about half of it in
two ops: the fast pathway's conv1 (3 -> 4 channels, 1x7x7 or 5x7x7, spatial stride
2) and its kernel gradient. XLA:CPU runs convolutions with Eigen kernels that
vectorise over channels; with 3 input and a handful of output channels they run at
a small fraction of the machine's FLOP/s. This script times conv1's forward + kernel
gradient (the input gradient is not needed: conv1's input is the data) at the stems
of the demo model and of SlowFast R50, three ways:

  conv       lax.conv_general_dilated, what mgjax's `nnx.Conv` runs;
  factorized 1x7x7 then kt x1x1 (`config.model.factorized_stem`; another architecture);
  im2col     the same kt x7x7 convolution as strided slices (im2col) and one matmul,
             numerically the reference convolution (checked here), so checkpoints
             are unaffected;
and, with `--full_step`, the whole train step of the demo model and of SlowFast R50
(batch 2, 32x112²) with the reference stem, the factorized stem, and the reference
stem computed by im2col (patched into
`resnet3d.Stem` inside this process only: a measurement of a proposed change, not a
change of the model code).
"""

from __future__ import annotations

import argparse
import os
import time

import common  # pylint: disable=g-bad-import-order

# (label, input [B, T, H, W, 3], kernel (kt, 7, 7, 3, C_out)).
CASES = (
    ("demo fast stem, base shape", (16, 16, 32, 32, 3), (5, 7, 7, 3, 4)),
    ("demo slow stem, base shape", (16, 4, 32, 32, 3), (1, 7, 7, 3, 32)),
    ("R50 fast stem, 2x32x112²", (2, 32, 112, 112, 3), (5, 7, 7, 3, 8)),
    ("R50 slow stem, 2x8x112²", (2, 8, 112, 112, 3), (1, 7, 7, 3, 64)),
)


def conv(x, w):
  """conv1 as mgjax runs it: kt x7x7, stride (1, 2, 2), symmetric k // 2 padding."""
  from jax import lax  # pylint: disable=g-import-not-at-top
  kt = w.shape[0]
  return lax.conv_general_dilated(x, w, (1, 2, 2), [(kt // 2, kt // 2), (3, 3), (3, 3)],
                                  dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))


def factorized(x, w, w_t):
  """1x7x7 (stride 2) then kt x1x1: the `factorized_stem` architecture."""
  from jax import lax  # pylint: disable=g-import-not-at-top
  y = conv(x, w[:1])
  kt = w_t.shape[0]
  return lax.conv_general_dilated(y, w_t, (1, 1, 1), [(kt // 2, kt // 2), (0, 0), (0, 0)],
                                  dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))


def im2col(x, w):
  """The kt x7x7 stride-(1, 2, 2) convolution as strided slices and one matmul.

  The kh·kw strided slices of the padded input, concatenated on the channel axis,
  are the spatial patches [B, T + 2·pt, Ho, Wo, kh·kw·C]; one matmul with the
  kernel as [kh·kw·C, kt·C_out] gives every temporal tap's response, and output
  frame t sums tap s of padded frame t + s. Matmuls keep both the forward and the
  kernel gradient (a patches-transposed matmul) on XLA's dot path, and the patches
  are read once (kt separate matmuls over time slices of them were 2x slower).
  """
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  kt, kh, kw, c, cout = w.shape
  pt, ph, pw = kt // 2, kh // 2, kw // 2
  xp = jnp.pad(x, ((0, 0), (pt, pt), (ph, ph), (pw, pw), (0, 0)))
  ho = (x.shape[2] + 2 * ph - kh) // 2 + 1
  wo = (x.shape[3] + 2 * pw - kw) // 2 + 1
  patches = jnp.concatenate([xp[:, :, i:i + 2 * ho - 1:2, j:j + 2 * wo - 1:2, :]
                             for i in range(kh) for j in range(kw)], axis=-1)
  taps = w.transpose(1, 2, 3, 0, 4).reshape(kh * kw * c, kt * cout).astype(x.dtype)
  y = (patches @ taps).reshape(*patches.shape[:-1], kt, cout)
  t = x.shape[1]
  return sum(y[:, s:s + t, :, :, s, :] for s in range(kt))


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
    w_t = jnp.asarray(rng.standard_normal((ws[0], 1, 1, ws[4], ws[4]), np.float32) * 0.1)
    err = float(jnp.max(jnp.abs(conv(x, w) - im2col(x, w))) / jnp.max(jnp.abs(conv(x, w))))
    t_conv = time_grad(conv, x, (w,), repeats)
    t_fact = time_grad(factorized, x, (w, w_t), repeats) if ws[0] > 1 else None
    t_im2col = time_grad(im2col, x, (w,), repeats)
    flops = 2 * 2 * np.prod(xs[:2]) * (xs[2] // 2) * (xs[3] // 2) * np.prod(ws)  # fwd + kernel grad
    rows.append((label, f"{ws[0]}x7x7 {ws[3]}->{ws[4]}", 1e3 * t_conv,
                 None if t_fact is None else 1e3 * t_fact, 1e3 * t_im2col, t_conv / t_im2col,
                 flops / t_conv / 1e9, flops / t_im2col / 1e9, f"{err:.1e}"))
    data.append(dict(case=label, conv=t_conv, factorized=t_fact, im2col=t_im2col, rel_err=err))
    print(f"  {label}: conv {1e3 * t_conv:.0f} ms, im2col {1e3 * t_im2col:.0f} ms", flush=True)
  head = ("conv1 (fwd + kernel grad)", "kernel", "conv ms", "factorized ms", "im2col ms",
          "conv/im2col", "conv GFLOP/s", "im2col GFLOP/s", "max rel. diff")
  return common.markdown_table(head, rows), data


def full_step(repeats: int, with_r50: bool) -> tuple[str, list]:
  """Whole train steps with the three stems (im2col patched into this process)."""
  import jax  # pylint: disable=g-import-not-at-top
  from mgjax.models import layers, resnet3d  # pylint: disable=g-import-not-at-top
  import step_time  # pylint: disable=g-import-not-at-top
  original = resnet3d.Stem.__call__

  def im2col_stem(self, x, ctx):
    if self.conv_t is not None or self.conv.in_features > 4:
      return original(self, x, ctx)
    x = im2col(x, self.conv.kernel.value)
    x = jax.nn.relu(self.bn(x, ctx))
    return layers.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1))

  demo = step_time.plan_config("configs/demo.py")
  cases = [(demo, (16, 16, 32, 8)), (demo, (256, 4, 16, 16))]
  if with_r50:
    r50 = step_time.model_case_config("slowfast_r50")
    cases.append((r50, (2, 32, 112, 2)))
  variants = (("reference stem (conv)", False, original), ("factorized stem", True, original),
              ("reference stem as im2col", False, im2col_stem))
  configs = [demo] + ([r50] if with_r50 else [])
  rows, data = [], []
  for label, fact, call in variants:
    resnet3d.Stem.__call__ = call
    row = [label]
    for config in configs:  # One model state in memory at a time.
      bench = common.StepBench(common.override(config, {"model.factorized_stem": fact}))
      for key in (k for c, k in cases if c is config):
        bench.compile(key)
        t = common.Stats.of(bench.time_steps(key, repeats + 1)[1:]).median
        row.append(t)
        data.append(dict(variant=label, model=config.model.name, key=list(key), seconds=t))
      del bench
      jax.clear_caches()
    rows.append(row)
    print(f"  {label}: {', '.join(f'{t:.3f} s' for t in row[1:])}", flush=True)
  resnet3d.Stem.__call__ = original
  head = ["train step (s)"] + [f"{'R50' if c.model.width == 0 else 'demo'} {k[0]}x{k[1]}x{k[2]}²"
                                for c, k in cases]
  return common.markdown_table(head, rows), data


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--quick", action="store_true", help="Op level only, 3 repeats.")
  p.add_argument("--repeats", type=int, default=7)
  p.add_argument("--full_step", action=argparse.BooleanOptionalAction, default=None,
                 help="Also the demo's whole train step (default: on unless --quick).")
  p.add_argument("--no_r50_step", action="store_true",
                 help="In --full_step, only the demo model (not SlowFast R50 at 2x32x112²).")
  p.add_argument("--outdir", default=common.DEFAULT_OUTDIR)
  args = p.parse_args()
  common.quiet_logs()
  if args.quick:
    args.repeats = 3
  full = (not args.quick) if args.full_step is None else args.full_step
  import jax  # pylint: disable=g-import-not-at-top
  info = common.machine_info()
  table, ops = op_level(args.repeats)
  lines = ["## XLA:CPU and the 3-channel stem convolution", "",
           common.describe_machine(info, os.getloadavg()), "",
           f"Median of {args.repeats} runs, {jax.default_backend()} backend, float32."
           + (" QUICK variant." if args.quick else ""), "", table]
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
