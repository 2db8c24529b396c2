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
"""Parameter counts and forward-pass FLOPs of the models, without real memory.

Models are built with `nnx.eval_shape` (abstract arrays only) and the forward
pass is lowered and compiled for abstract inputs; the FLOPs are XLA's cost
analysis of the compiled program. XLA counts a multiply-add as 2 FLOPs, while
the video papers' "GFLOPs" (fvcore) count multiply-adds, so `gmacs` ≈ flops / 2
is the number to compare with the papers.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
from jax.extend import core as jax_core
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mgjax import config as config_lib
from mgjax import multigrid
from mgjax.models import registry


def count_params(model: nnx.Module) -> int:
  """Number of trainable parameters (BatchNorm statistics excluded, like torch)."""
  return int(sum(np.prod(v.shape) for v in jax.tree.leaves(nnx.state(model, nnx.Param))))


def abstract_model(model_config: Any) -> nnx.Module:
  """The model of `config.model` with abstract (shape-only) variables."""
  return nnx.eval_shape(lambda: registry.create_model(model_config, rngs=nnx.Rngs(0)))


@dataclasses.dataclass(frozen=True)
class Cost:
  """Cost of one forward pass (inference mode).

  Attributes:
    batch, frames, crop: the input shape [batch, frames, crop, crop, 3].
    flops: XLA's FLOP count (2 per multiply-add).
  """

  batch: int
  frames: int
  crop: int
  flops: float

  @property
  def gflops(self) -> float:
    return self.flops / 1e9

  @property
  def gmacs(self) -> float:
    """Multiply-adds / 1e9: the "GFLOPs" convention of the SlowFast / multigrid papers."""
    return self.flops / 2e9


def _flops(compiled) -> float:
  ca = compiled.cost_analysis()
  if isinstance(ca, (list, tuple)):
    ca = ca[0]
  return float(ca["flops"])


def forward_cost(model: nnx.Module, batch: int, frames: int, crop: int) -> Cost:
  """FLOPs of one inference forward pass from XLA's cost analysis.

  Args:
    model: a (possibly abstract) model; built with `stem_im2col=False` to count conv1
      as the convolution it is (the CPU's im2col matmul also covers the padded frames:
      XLA would count (T + kt - 1) / T times its FLOPs).
    batch: clips.
    frames: frames per clip (of the fast pathway for SlowFast).
    crop: spatial size.

  Returns:
    The Cost.
  """
  graphdef, state = nnx.split(model)

  def forward(state, x):
    return nnx.merge(graphdef, state)(x, train=False)

  abstract_state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)
  x = jax.ShapeDtypeStruct((batch, frames, crop, crop, 3), jnp.float32)
  compiled = jax.jit(forward).lower(abstract_state, x).compile()
  return Cost(batch, frames, crop, _flops(compiled))


def convolutions(
    model_config: Any, batch: int, frames: int, crop: int, bn_group_size: int | None = None
) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]]:
  """The distinct convolutions of a train-mode forward pass, from its jaxpr.

  Args:
    model_config: `config.model` (its CPU-form fields are ignored: every convolution
      is traced as the XLA convolution it is).
    batch, frames, crop: the input [batch, frames, crop, crop, 3].
    bn_group_size: clips per BatchNorm group.

  Returns:
    [(input shape, kernel shape, strides, times run)], in order of first use.
  """
  fields = {k: getattr(model_config, k) for k in model_config.keys()}
  fields.update(stem_im2col=False, factorized_conv=False)
  graphdef, state = nnx.split(abstract_model(_Namespace(**fields)))
  x = jax.ShapeDtypeStruct((batch, frames, crop, crop, 3), jnp.float32)
  forward = lambda st, v: nnx.merge(graphdef, st)(v, train=True, bn_group_size=bn_group_size)
  counts: dict[tuple, int] = {}

  def walk(jaxpr) -> None:
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == "conv_general_dilated":
        lhs, rhs = (tuple(v.aval.shape) for v in eqn.invars[:2])
        key = (lhs, rhs, tuple(eqn.params["window_strides"]))
        counts[key] = counts.get(key, 0) + 1
      for sub in jax_core.jaxprs_in_params(eqn.params):
        walk(sub)

  walk(jax.make_jaxpr(forward)(state, x).jaxpr)
  return [(*k, n) for k, n in counts.items()]


@functools.lru_cache(maxsize=None)
def _clip_flops(model_key: tuple, frames: int, crop: int) -> float:
  model_config = dict(model_key)
  cfg = _Namespace(**model_config, stem_im2col=False, factorized_conv=False)
  return forward_cost(abstract_model(cfg), 1, frames, crop).flops


class _Namespace:

  def __init__(self, **kw):
    self.__dict__.update(kw)


def _model_key(model_config: Any) -> tuple:
  fields = (
      "name",
      "num_classes",
      "dtype",
      "dropout_rate",
      "width",
      "depths",
      "bottleneck_ratio",
      "zero_init_final_bn",
      "stem_stride",
      "stem_pool",
      "spatial_strides",
  )
  return tuple((f, _freeze(getattr(model_config, f, None))) for f in fields)


def _freeze(v):
  return tuple(v) if isinstance(v, (list, tuple)) else v


def clip_cost(model_config: Any, frames: int, crop: int) -> Cost:
  """Forward FLOPs of one clip (batch 1) of `config.model`, cached per (T, S).

  The forward pass in inference mode is linear in the batch, so a step of B
  clips costs B times this.
  """
  return Cost(1, frames, crop, _clip_flops(_model_key(model_config), int(frames), int(crop)))


# ---------------------------------------------------------------- reports
def _table(head: tuple[str, ...], rows: list[tuple], left: tuple[int, ...] = (0,)) -> str:
  """Aligned text table; columns in `left` are left-aligned, the others right-aligned."""
  cells = [tuple(str(c) for c in r) for r in [head, *rows]]
  widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
  fmt = lambda r: "  ".join(
      c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
  ).rstrip()
  return "\n".join(
      [fmt(cells[0]), fmt(tuple("-" * w for w in widths))] + [fmt(r) for r in cells[1:]]
  )


def list_models() -> str:
  """A table of every model: reference, clip, alpha, parameters."""
  rows = []
  for name in registry.MODEL_NAMES:
    spec = registry.model_spec(name)
    model_config = config_lib.base().model
    model_config.name = name
    params = count_params(abstract_model(model_config))
    rows.append(
        (name, f"{spec.num_frames}x{spec.sampling_rate}", spec.alpha, f"{params:,}", spec.reference)
    )
  return _table(
      ("model", "frames x rate", "alpha", "params (400 classes)", "reference"), rows, left=(0, 4)
  )


def model_report(model_config, frames: int, crops: list[int], batch: int) -> str:
  """Parameters and forward cost of one model for the given shapes."""
  spec = registry.model_spec(model_config.name)
  model = abstract_model(model_config)
  lines = [
      f"{model_config.name}: {count_params(model):,} parameters "
      f"({model_config.num_classes} classes, {spec.reference})"
  ]
  rows = []
  for crop in crops:
    c = clip_cost(model_config, frames, crop)
    rows.append(
        (
            f"{batch}x{frames}x{crop}²",
            f"{c.gflops:.1f}",
            f"{c.gmacs:.1f}",
            f"{batch * c.gflops:.1f}",
        )
    )
  lines.append(_table(("shape BxTxS²", "GFLOPs/clip (XLA)", "GMACs/clip", "GFLOPs/forward"), rows))
  return "\n".join(lines)


def plan_report(config) -> str:
  """Cost of every distinct shape of the config's multigrid plan."""
  plan = multigrid.Plan.from_config(config)
  model = abstract_model(config.model)
  b0, t0, s0 = plan.base_shape
  base = clip_cost(config.model, t0, s0).flops * b0
  rows = []
  for b, t, s in plan.distinct_shapes():
    c = clip_cost(config.model, t, s)
    rows.append(
        (
            f"{b}x{t}x{s}²",
            f"{c.gflops:.1f}",
            f"{c.gmacs:.1f}",
            f"{b * c.gflops / 1e3:.2f}",
            f"{b * c.flops / base:.2f}",
        )
    )
  head = (
      f"{config.model.name}: {count_params(model):,} parameters; "
      f"plan of {plan.num_steps:,} steps, base shape {b0}x{t0}x{s0}² (forward pass, "
      f"{config.model.dtype})"
  )
  return (
      head
      + "\n"
      + _table(
          ("shape BxTxS²", "GFLOPs/clip (XLA)", "GMACs/clip", "TFLOPs/step", "step / base step"),
          rows,
      )
  )
