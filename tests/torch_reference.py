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
"""Tests-only helpers: PyTorchVideo reference models for the mgjax model names.

PyTorchVideo imports `torchvision.ops.RoIAlign` at import time (for its
detection heads, which these tests never build) and torchvision is not installed,
so `install_torchvision_stub()` puts a stand-in for that one name into
`sys.modules` before pytorchvideo is imported.
"""

from __future__ import annotations

import re
import sys
import types

import numpy as np


def install_torchvision_stub() -> None:
  """Makes `from torchvision.ops import RoIAlign` importable (tests only)."""
  if "torchvision" in sys.modules:
    return
  torchvision = types.ModuleType("torchvision")
  ops = types.ModuleType("torchvision.ops")

  class RoIAlign:  # pylint: disable=too-few-public-methods
    """Stand-in; the classification models never instantiate it."""

    def __init__(self, *args, **kwargs):
      raise NotImplementedError("tests-only torchvision stand-in")

  ops.RoIAlign = RoIAlign
  torchvision.ops = ops
  sys.modules["torchvision"] = torchvision
  sys.modules["torchvision.ops"] = ops


install_torchvision_stub()

# pylint: disable=g-import-not-at-top,wrong-import-position
import torch
from torch import nn
from pytorchvideo.layers.nonlocal_net import create_nonlocal
from pytorchvideo.models import hub
from pytorchvideo.models.resnet import create_resnet
from pytorchvideo.models.slowfast import create_slowfast

# pylint: enable=g-import-not-at-top,wrong-import-position

_R101_50_50 = (
    ((1, 1, 1), (1, 1, 1), ((3, 1, 1),) * 6 + ((1, 1, 1),) * 17, (3, 1, 1)),
    ((3, 1, 1), (3, 1, 1), ((3, 1, 1),) * 6 + ((1, 1, 1),) * 17, (3, 1, 1)),
)
_I3D_KERNELS = ((3, 1, 1), [(3, 1, 1), (1, 1, 1)], [(3, 1, 1), (1, 1, 1)], [(1, 1, 1), (3, 1, 1)])
_NL_BLOCKS = {2: (1, 3), 3: (1, 3, 5)}  # PyTorchVideo block index of res3 / res4 → blocks


def _slowfast(alpha, fusion_kernel, depth=50, **kw):
  return create_slowfast(
      model_depth=depth,
      slowfast_fusion_conv_kernel_size=(fusion_kernel, 1, 1),
      slowfast_fusion_conv_stride=(alpha, 1, 1),
      **kw,
  )


def build(
    name: str,
    *,
    num_classes: int = 400,
    dropout_rate: float = 0.5,
    any_size: bool = False,
    width: int = 64,
) -> nn.Module:
  """The PyTorchVideo model equivalent to mgjax model `name`.

  Args:
    name: an mgjax model name.
    num_classes: classifier outputs.
    dropout_rate: head dropout.
    any_size: replace the head's fixed-size average pool with a global one, so
      small test clips work (parameters are unchanged).
    width: channels of conv1 (mgjax's `config.model.width`); 64 is the zoo's.

  Returns:
    The torch module. I3D-NL variants get PyTorchVideo `create_nonlocal` blocks
    after res3 blocks 1, 3 and res4 blocks 1, 3, 5 (each such residual block is
    wrapped as Sequential(block, nonlocal)).
  """
  kw = dict(model_num_class=num_classes, dropout_rate=dropout_rate)
  if any_size:
    kw["head_pool"] = nn.AdaptiveAvgPool3d
  if width != 64:
    if name.startswith("slowfast"):
      kw["stem_dim_outs"] = (width, width // 8)
    else:
      kw["stem_dim_out"] = width
  nl = name.startswith(("i3d_nl",))
  if name in ("slowfast_r50_8x8", "slowfast_r50_16x8"):
    model = _slowfast(4, 7, **kw)
  elif name == "slowfast_r50_4x16":
    model = _slowfast(8, 5, **kw)
  elif name in ("slowfast_r101_8x8", "slowfast_r101_16x8"):
    model = _slowfast(4, 5, 101, stage_conv_a_kernel_sizes=_R101_50_50, **kw)
  elif name == "slowfast_r101_8x8_101_101_101":
    model = _slowfast(4, 5, 101, **kw)
  elif name in ("i3d_r50", "i3d_nl_r50"):
    model = create_resnet(
        stem_conv_kernel_size=(5, 7, 7),
        stage1_pool=nn.MaxPool3d,
        stage_conv_a_kernel_size=_I3D_KERNELS,
        **kw,
    )
  elif name in ("slow_r50_8x8", "slow_r50_4x16", "i3d_paper_r50", "i3d_nl_paper_r50"):
    model = create_resnet(stem_conv_kernel_size=(1, 7, 7), **kw)
  elif name in ("c2d_r50", "c2d_nopool_r50"):
    model = create_resnet(
        stem_conv_kernel_size=(1, 7, 7),
        stage1_pool=nn.MaxPool3d if name == "c2d_r50" else None,
        stage_conv_a_kernel_size=((1, 1, 1),) * 4,
        **kw,
    )
  else:
    raise ValueError(name)
  if nl:
    stages = [b for b in model.blocks if hasattr(b, "res_blocks")]
    for s, ids in _NL_BLOCKS.items():
      stage = stages[s - 1]
      for i in ids:
        dim = stage.res_blocks[i].branch2.conv_c.out_channels
        stage.res_blocks[i] = nn.Sequential(
            stage.res_blocks[i],
            create_nonlocal(
                dim_in=dim, dim_inner=dim // 2, pool_size=(1, 2, 2), instantiation="softmax"
            ),
        )
  return model


def hub_model(name: str) -> nn.Module | None:
  """The PyTorchVideo hub builder's model (default arguments) for `name`, if any."""
  table = {
      "slowfast_r50_8x8": hub.slowfast_r50,
      "slowfast_r101_8x8_101_101_101": hub.slowfast_r101,
      "slowfast_r101_16x8": hub.slowfast_16x8_r101_50_50,
      "slow_r50_8x8": hub.slow_r50,
      "c2d_r50": hub.c2d_r50,
      "i3d_r50": hub.i3d_r50,
  }
  return table[name]() if name in table else None


def state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
  """The model's state dict with the Sequential(block, nonlocal) wrappers renamed.

  Residual-block keys keep PyTorchVideo naming; non-local keys get PySlowFast
  naming (`s3.pathway0_nonlocal1...`), the format of the reference's I3D-NL
  checkpoints.
  """
  sd = model.state_dict()
  stage_ids = sorted({int(m[1]) for k in sd if (m := re.match(r"blocks\.(\d+)\.res_blocks\.", k))})
  out = {}
  for k, v in sd.items():
    m = re.fullmatch(r"blocks\.(\d+)\.res_blocks\.(\d+)\.([01])\.(.+)", k)
    if m and isinstance(model.blocks[int(m[1])].res_blocks[int(m[2])], nn.Sequential):
      if m[3] == "0":
        k = f"blocks.{m[1]}.res_blocks.{m[2]}.{m[4]}"
      else:
        k = f"s{stage_ids.index(int(m[1])) + 2}.pathway0_nonlocal{m[2]}.{m[4]}"
    out[k] = v
  return out


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
  """Random weights and BN statistics (also the zero-initialised last BNs)."""
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in model.modules():
      if isinstance(m, nn.Conv3d):
        fan_in = m.weight[0].numel()
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (1.0 / fan_in) ** 0.5)
        if m.bias is not None:
          m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
      elif isinstance(m, nn.BatchNorm3d):
        c = m.num_features
        m.weight.copy_(0.5 + torch.rand(c, generator=g))
        m.bias.copy_(torch.randn(c, generator=g) * 0.1)
        m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
        m.running_var.copy_(0.5 + torch.rand(c, generator=g))
      elif isinstance(m, nn.Linear):
        m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.1)
        m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
  return model


def forward(model: nn.Module, x: np.ndarray, alpha: int | None) -> np.ndarray:
  """Runs the torch model on an NDHWC clip (the fast pathway's frames for SlowFast).

  The slow pathway gets `torch.linspace(0, T - 1, T // alpha).long()`, the
  reference's PackPathway sampling.
  """
  t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3)))
  if alpha:
    idx = torch.linspace(0, t.shape[2] - 1, t.shape[2] // alpha).long()
    inputs = [torch.index_select(t, 2, idx), t]
  else:
    inputs = t
  return model(inputs).detach().numpy()


def num_params(model: nn.Module) -> int:
  return sum(p.numel() for p in model.parameters())
