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
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mgjax.models import registry
from mgjax.models import resnet3d


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
    model: a (possibly abstract) model.
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
  # Count conv1 as the convolution it is: on CPU the stem runs as im2col, whose matmul
  # also covers the padded frames (XLA would count (T + kt - 1) / T times the FLOPs).
  with resnet3d.stem_im2col_on_cpu(False):
    compiled = jax.jit(forward).lower(abstract_state, x).compile()
  return Cost(batch, frames, crop, _flops(compiled))


@functools.lru_cache(maxsize=None)
def _clip_flops(model_key: tuple, frames: int, crop: int) -> float:
  model_config = dict(model_key)
  cfg = _Namespace(**model_config)
  return forward_cost(abstract_model(cfg), 1, frames, crop).flops


class _Namespace:
  def __init__(self, **kw):
    self.__dict__.update(kw)


def _model_key(model_config: Any) -> tuple:
  fields = ("name", "num_classes", "dtype", "dropout_rate", "width", "depths", "bottleneck_ratio")
  return tuple((f, _freeze(getattr(model_config, f, None))) for f in fields)


def _freeze(v):
  return tuple(v) if isinstance(v, (list, tuple)) else v


def clip_cost(model_config: Any, frames: int, crop: int) -> Cost:
  """Forward FLOPs of one clip (batch 1) of `config.model`, cached per (T, S).

  The forward pass in inference mode is linear in the batch, so a step of B
  clips costs B times this.
  """
  return Cost(1, frames, crop, _clip_flops(_model_key(model_config), int(frames), int(crop)))
