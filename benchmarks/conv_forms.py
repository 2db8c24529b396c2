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
"""Every convolution of a model, in each form XLA:CPU can compute it: what `cpu_form` picks.

  python benchmarks/conv_forms.py                  # the demo plan's shapes + SlowFast R50
  python benchmarks/conv_forms.py --quick          # the demo's base and smallest shape

On the CPU backend `layers.conv_general_dilated` computes each convolution of the
networks in one of the exact forms of `layers.FORMS`, chosen by `layers.cpu_form` from
the kernel, the input's shape and the strides. This script finds every convolution of
a train-mode forward pass (from the jaxpr of the model with XLA convolutions
everywhere), and times, for each distinct (input, kernel, strides), the forward pass
and both gradients (the input's gradient is left out for conv1, whose input is the
data) in every form that can compute it. Per case it reports the milliseconds of each
form, the form `cpu_form` chooses, the fastest form, and, summed over the model's
convolutions (each as often as the network runs it), the time with XLA's
convolutions everywhere, with `cpu_form`'s choices and with the fastest form of each.

Cases: every step shape of `--config`'s multigrid plan (the demo by default) with
that config's model, and SlowFast R50 8x8 at batch 2, 32x112² (`--no_r50` drops it).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import common  # pylint: disable=g-bad-import-order


def applicable_forms(x_shape, kernel_shape, strides) -> list[str]:
  """The forms of `layers.FORMS` that compute this convolution."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from mgjax.models import layers  # pylint: disable=g-import-not-at-top

  x = jax.ShapeDtypeStruct(x_shape, jnp.float32)
  w = jax.ShapeDtypeStruct(kernel_shape, jnp.float32)
  out = []
  for form in layers.FORMS:
    try:
      jax.eval_shape(lambda a, b, f=form: layers.conv_in_form(a, b, strides, f), x, w)
    except ValueError:
      continue
    out.append(form)
  return out


def time_form(x_shape, kernel_shape, strides, form: str, repeats: int) -> tuple[float, float]:
  """Median seconds of forward + gradients in one form, and its max relative difference
  from XLA's convolution."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from mgjax.models import layers  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal(x_shape, np.float32))
  w = jnp.asarray(
      rng.standard_normal(kernel_shape, np.float32) / np.sqrt(np.prod(kernel_shape[:4]))
  )
  wrt = (1,) if x_shape[-1] == 3 else (0, 1)  # conv1's input is the data.

  def fwd_bwd(x, w, form):
    y, vjp = jax.vjp(lambda x, w: layers.conv_in_form(x, w, strides, form), x, w)
    grads = vjp(jnp.ones_like(y) * 0.5)
    return y, tuple(grads[i] for i in wrt)

  step = jax.jit(lambda x, w: fwd_bwd(x, w, form))
  out = jax.block_until_ready(step(x, w))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(step(x, w))
    times.append(time.perf_counter() - start)
  ref = jax.jit(lambda x, w: fwd_bwd(x, w, "xla"))(x, w)
  err = max(
      float(jnp.max(jnp.abs(a - b)) / jnp.maximum(jnp.max(jnp.abs(b)), 1e-30))
      for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(ref))
  )
  return common.Stats.of(times).median, err


def measure(cases, repeats: int, log=print) -> list[dict[str, Any]]:
  """Times every distinct convolution of each case in each applicable form."""
  from mgjax.models import layers, summary  # pylint: disable=g-import-not-at-top,multiple-imports

  seen: dict[tuple, dict[str, Any]] = {}
  results = []
  for label, config, key in cases:
    convs = summary.convolutions(config.model, *key)
    log(f"{label}: {len(convs)} distinct convolutions", flush=True)
    rows = []
    for x_shape, kernel_shape, strides, count in convs:
      ident = (x_shape, kernel_shape, strides)
      if ident not in seen:
        times, errs = {}, {}
        for form in applicable_forms(x_shape, kernel_shape, strides):
          times[form], errs[form] = time_form(x_shape, kernel_shape, strides, form, repeats)
        seen[ident] = dict(
            times=times,
            rel_err=errs,
            chosen=layers.cpu_form(kernel_shape, strides),
            best=min(times, key=times.get),
        )
        log(
            f"  x{list(x_shape)} k{list(kernel_shape)} s{list(strides)}: "
            + ", ".join(f"{f} {1e3 * t:.1f} ms" for f, t in times.items())
            + f" -> {seen[ident]['chosen']}",
            flush=True,
        )
      rows.append(
          dict(
              x=list(x_shape),
              kernel=list(kernel_shape),
              strides=list(strides),
              count=count,
              **seen[ident],
          )
      )
    total = lambda pick: sum(r["count"] * r["times"][pick(r)] for r in rows)
    results.append(
        dict(
            case=label,
            key=list(key),
            convolutions=rows,
            xla_s=total(lambda r: "xla"),
            chosen_s=total(lambda r: r["chosen"]),
            best_s=total(lambda r: r["best"]),
        )
    )
  return results


def report(results, info, args) -> str:
  import numpy as np  # pylint: disable=g-import-not-at-top

  per_case = common.markdown_table(
      [
          "case",
          "convolutions",
          "XLA conv ms",
          "cpu_form ms",
          "fastest ms",
          "XLA / cpu_form",
          "cpu_form / fastest",
      ],
      [
          [
              r["case"],
              sum(c["count"] for c in r["convolutions"]),
              1e3 * r["xla_s"],
              1e3 * r["chosen_s"],
              1e3 * r["best_s"],
              r["xla_s"] / r["chosen_s"],
              r["chosen_s"] / r["best_s"],
          ]
          for r in results
      ],
  )
  rows, seen = [], set()
  for r in results:
    for c in r["convolutions"]:
      ident = (tuple(c["x"]), tuple(c["kernel"]), tuple(c["strides"]))
      if ident in seen:
        continue
      seen.add(ident)
      kt, kh, kw, ci, co = c["kernel"]
      rows.append(
          [
              "x".join(map(str, c["x"])),
              f"{kt}x{kh}x{kw} {ci}->{co}",
              "x".join(map(str, c["strides"])),
              *(
                  1e3 * c["times"][f] if f in c["times"] else None
                  for f in ("xla", "pointwise", "temporal", "spatial", "patches")
              ),
              c["chosen"],
              c["best"],
              c["times"][c["chosen"]] / c["times"][c["best"]],
              f"{max(c['rel_err'].values()):.0e}",
          ]
      )
  forms = common.markdown_table(
      [
          "input",
          "kernel",
          "strides",
          "xla ms",
          "pointwise ms",
          "temporal ms",
          "spatial ms",
          "patches ms",
          "cpu_form",
          "fastest",
          "chosen/fastest",
          "max rel. diff",
      ],
      rows,
  )
  ratios = np.array([r[-2] for r in rows])
  return "\n".join(
      [
          "## The convolutions' forms on XLA:CPU",
          "",
          common.describe_machine(info, os.getloadavg()),
          "",
          f"Forward + gradients of each convolution, median of {args.repeats} runs, float32."
          + (" QUICK variant." if args.quick else ""),
          "",
          "Summed over each case's convolutions (as often as the network runs each):",
          "",
          per_case,
          "",
          f"Each distinct convolution ({len(rows)}; `cpu_form`'s choice within 10% of the "
          f"fastest form for {int(np.sum(ratios <= 1.1))}, worst {ratios.max():.2f}x):",
          "",
          forms,
      ]
  )


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--config", default="configs/demo.py", help="Its plan's step shapes and model.")
  p.add_argument(
      "--quick",
      action="store_true",
      help="The plan's base and smallest-crop shape, no R50, 3 repeats.",
  )
  p.add_argument("--no_r50", action="store_true", help="Leave out SlowFast R50 at 2x32x112².")
  p.add_argument("--repeats", type=int, default=7)
  p.add_argument("--outdir", default=common.DEFAULT_OUTDIR)
  args = p.parse_args()
  common.quiet_logs()
  import step_time  # pylint: disable=g-import-not-at-top
  from mgjax import compilation, multigrid  # pylint: disable=g-import-not-at-top,multiple-imports

  config = step_time.plan_config(args.config)
  plan = multigrid.Plan.from_config(config)
  keys = compilation.step_keys(plan)
  if args.quick:
    args.repeats, args.no_r50 = 3, True
    keys = [compilation.step_keys(plan.baseline)[0], min(keys, key=lambda k: (k[2], k[1]))]
  cases = [(f"{args.config} {b}x{t}x{s}² g{g}", config, (b, t, s, g)) for b, t, s, g in keys]
  if not args.no_r50:
    r50 = step_time.model_case_config("slowfast_r50", 2, 112, "float32")
    cases.append(("SlowFast R50 2x32x112²", r50, (2, 32, 112, 2)))
  info = common.machine_info()
  results = measure(cases, args.repeats)
  text = report(results, info, args)
  print("\n" + text)
  name = "conv_forms" + ("_quick" if args.quick else "")
  common.write_report(args.outdir, name, info, text, results)


if __name__ == "__main__":
  main()
