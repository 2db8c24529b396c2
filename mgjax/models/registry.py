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
"""The named models and `create_model(config.model, rngs=...)`.

Each name is an `ArchSpec` plus the clip it was designed for (frames and
sampling rate of the fast or only pathway). The architectures and their
parameter counts match the PySlowFast / PyTorchVideo model zoo:

  name                           reference                                   params (400 classes)
  slowfast_r50_4x16              SLOWFAST_4x16_R50 (alpha 8, fusion 5)        34,480,216
  slowfast_r50_8x8               SLOWFAST_8x8_R50, hub slowfast_r50 (fusion 7) 34,566,488
  slowfast_r50_16x8              SSv2/Charades SLOWFAST_16x8_R50              34,566,488
  slowfast_r101_8x8              SLOWFAST_8x8_R101_50_50                      53,774,808
  slowfast_r101_16x8             SLOWFAST_16x8_R101_50_50, hub *_r101_50_50   53,774,808
  slowfast_r101_8x8_101_101_101  SLOWFAST_8x8_R101_101_101, hub slowfast_r101 62,826,968
  i3d_r50                        I3D_8x8_R50, hub i3d_r50                     28,043,472
  i3d_nl_r50                     I3D_NLN_8x8_R50
  i3d_paper_r50                  the multigrid paper's I3D (supplement)       32,454,096
  i3d_nl_paper_r50               the multigrid paper's I3D-NL
  slow_r50_8x8, slow_r50_4x16    SLOW_8x8_R50 / SLOW_4x16_R50, hub slow_r50   32,454,096
  c2d_r50                        C2D_8x8_R50, hub c2d_r50                     24,327,632
  c2d_nopool_r50                 C2D_NOPOOL_8x8_R50                           24,327,632

"50_50" R101: only the first 6 of res4's 23 blocks have a temporal kernel in
each pathway (as in R50); "101_101_101": all 23 do.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
from flax import nnx

from mgjax import config as config_lib
from mgjax.models.resnet3d import ArchSpec, VideoResNet

R50 = (3, 4, 6, 3)
R101 = (3, 4, 23, 3)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """A named model: its architecture and the clip it was designed for.

  Attributes:
    name: registry name.
    arch: the architecture.
    num_frames: default frames of the fast (or only) pathway.
    sampling_rate: default temporal stride between those frames.
    reference: the reference configuration it reproduces.
  """

  name: str
  arch: ArchSpec
  num_frames: int
  sampling_rate: int
  reference: str

  @property
  def alpha(self) -> int:
    """Frame ratio between the pathways (1 for single-pathway models): the
    number of frames of a clip must be divisible by it."""
    return self.arch.alpha

  @property
  def num_pathways(self) -> int:
    return self.arch.num_pathways


def _slowfast(alpha: int, fusion_kernel: int, depths=R50, res4_temporal_blocks=None) -> ArchSpec:
  # PySlowFast's _TEMPORAL_KERNEL_BASIS["slowfast"]: conv1 (1, 5), res2-3 (1, 3), res4-5 (3, 3).
  blocks = None
  if res4_temporal_blocks is not None:
    blocks = tuple((None, None, res4_temporal_blocks, None) for _ in range(2))
  return ArchSpec(
      depths=depths,
      stem_kernel_t=(1, 5),
      temporal_kernels=(((1,), (1,), (3,), (3,)), ((3,), (3,), (3,), (3,))),
      temporal_blocks=blocks,
      alpha=alpha,
      beta_inv=8,
      fusion_ratio=2,
      fusion_kernel=fusion_kernel,
  )


# The zoo's I3D: 5×7×7 conv1, kernels 3 / (3,1) / (3,1) / (1,3), temporal pool 2 after res2.
_I3D = ArchSpec(stem_kernel_t=(5,), temporal_kernels=(((3,), (3, 1), (3, 1), (1, 3)),), pool1_t=2)
# Slow-only: 1×7×7 conv1, temporal kernels in res4 and res5 only. The paper's I3D
# (supplement table) is the same network at 16 frames.
_SLOW = ArchSpec(stem_kernel_t=(1,), temporal_kernels=(((1,), (1,), (3,), (3,)),))
_C2D = ArchSpec(stem_kernel_t=(1,), temporal_kernels=(((1,), (1,), (1,), (1,)),), pool1_t=2)
# Non-local blocks after res3 blocks 1, 3 and res4 blocks 1, 3, 5.
_NL = dict(
    nonlocal_blocks=((), (1, 3), (1, 3, 5), ()),
    nonlocal_pool=(1, 2, 2),
    nonlocal_instantiation="softmax",
)

MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in [
        ModelSpec("slowfast_r50_4x16", _slowfast(8, 5), 32, 2, "SLOWFAST_4x16_R50"),
        ModelSpec("slowfast_r50_8x8", _slowfast(4, 7), 32, 2, "SLOWFAST_8x8_R50"),
        ModelSpec(
            "slowfast_r50_16x8", _slowfast(4, 7), 64, 2, "SLOWFAST_16x8_R50 (SSv2, Charades)"
        ),
        ModelSpec("slowfast_r101_8x8", _slowfast(4, 5, R101, 6), 32, 2, "SLOWFAST_8x8_R101_50_50"),
        ModelSpec(
            "slowfast_r101_16x8", _slowfast(4, 5, R101, 6), 64, 2, "SLOWFAST_16x8_R101_50_50"
        ),
        ModelSpec(
            "slowfast_r101_8x8_101_101_101",
            _slowfast(4, 5, R101),
            32,
            2,
            "SLOWFAST_8x8_R101_101_101 (PyTorchVideo hub slowfast_r101)",
        ),
        ModelSpec("i3d_r50", _I3D, 8, 8, "I3D_8x8_R50"),
        ModelSpec("i3d_nl_r50", dataclasses.replace(_I3D, **_NL), 8, 8, "I3D_NLN_8x8_R50"),
        ModelSpec(
            "i3d_paper_r50", _SLOW, 16, 4, "multigrid paper I3D (16 frames, no temporal pool)"
        ),
        ModelSpec(
            "i3d_nl_paper_r50", dataclasses.replace(_SLOW, **_NL), 16, 4, "multigrid paper I3D-NL"
        ),
        ModelSpec("slow_r50_8x8", _SLOW, 8, 8, "SLOW_8x8_R50"),
        ModelSpec("slow_r50_4x16", _SLOW, 4, 16, "SLOW_4x16_R50"),
        ModelSpec("c2d_r50", _C2D, 8, 8, "C2D_8x8_R50"),
        ModelSpec(
            "c2d_nopool_r50", dataclasses.replace(_C2D, pool1_t=1), 8, 8, "C2D_NOPOOL_8x8_R50"
        ),
    ]
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def model_spec(name: str) -> ModelSpec:
  """The ModelSpec of a named model.

  Raises:
    ValueError: for an unknown name (the message lists the known ones).
  """
  try:
    return MODELS[name]
  except KeyError:
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}") from None


def arch_from_config(model_config: Any) -> ArchSpec:
  """The ArchSpec of `config.model`, with its width/depth overrides applied."""
  spec = model_spec(model_config.name).arch
  return spec.with_overrides(
      width=getattr(model_config, "width", 0) or 0,
      depths=tuple(getattr(model_config, "depths", ()) or ()),
      bottleneck_ratio=getattr(model_config, "bottleneck_ratio", 0) or 0,
      zero_init_final_bn=bool(getattr(model_config, "zero_init_final_bn", True)),
      stem_stride=getattr(model_config, "stem_stride", 0) or 0,
      stem_pool=bool(getattr(model_config, "stem_pool", True)),
      spatial_strides=tuple(getattr(model_config, "spatial_strides", ()) or ()),
  )


def check_config(model_config: Any) -> None:
  """Checks that `config.model` names a model that can be built, before any data is read.

  Raises:
    config.ConfigError: naming the field, for an unknown name or an override (width,
      depths, strides) that the architecture cannot take.
  """
  try:
    arch_from_config(model_config)
  except ValueError as e:
    field = "model.name" if model_config.name not in MODELS else "model"
    raise config_lib.ConfigError(f"config.{field}: {e}") from None


def create_model(model_config: Any, *, rngs: nnx.Rngs) -> VideoResNet:
  """Builds the model that `config.model` names.

  Args:
    model_config: `config.model` (name, num_classes, dtype, dropout_rate and the
      optional width / depths / bottleneck_ratio overrides).
    rngs: random streams; "params" initialises, "dropout" (or "default") drives
      dropout.

  Returns:
    The NNX module; call it as `model(x, train=..., bn_group_size=..., bn_momentum=...)`.
  """
  dtype = model_config.dtype
  if isinstance(dtype, str):
    if dtype not in DTYPES:
      raise ValueError(f"model.dtype {dtype!r} not in {tuple(DTYPES)}")
    dtype = DTYPES[dtype]
  return VideoResNet(
      arch_from_config(model_config),
      num_classes=int(model_config.num_classes),
      dropout_rate=float(model_config.dropout_rate),
      dtype=dtype,
      stem_im2col=bool(getattr(model_config, "stem_im2col", True)),
      factorized_conv=bool(getattr(model_config, "factorized_conv", True)),
      rngs=rngs,
  )
