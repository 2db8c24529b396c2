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
"""SlowFast-specific pieces: the slow pathway's frame indices and the lateral fusion.

The two-pathway network itself is built by `resnet3d.VideoResNet` (one builder for
every model); this module holds what only SlowFast needs.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from mgjax.models import layers


@functools.lru_cache(maxsize=None)
def slow_pathway_indices(num_frames: int, alpha: int) -> tuple[int, ...]:
  """Frames of the fast clip that the slow pathway sees.

  The reference samples them with `torch.linspace(0, T - 1, T // alpha).long()`.
  torch computes linspace in float32 as start + step·i for the first half and
  end - step·(n-1-i) for the second, with a fused multiply-add, and `.long()`
  truncates; a float64 `np.linspace` differs for some sizes (T = 64, alpha = 4:
  index 5 is 21 in torch, 20 in float32 without FMA). This reproduces torch's
  arithmetic (float64 products of float32 operands are exact, then one rounding).

  Args:
    num_frames: T, frames of the fast pathway.
    alpha: frame-rate ratio between the pathways.

  Returns:
    The T // alpha frame indices, increasing.
  """
  n = num_frames // alpha
  if n < 1:
    raise ValueError(f"{num_frames} frames give no slow frame at alpha={alpha}")
  if n == 1:
    return (0,)
  f32 = np.float32
  start, end = f32(0.0), f32(num_frames - 1)
  step = f32((end - start) / f32(n - 1))
  out = []
  for i in range(n):
    if i < n // 2:
      v = f32(np.float64(start) + np.float64(step) * i)
    else:
      v = f32(np.float64(end) - np.float64(step) * (n - 1 - i))
    out.append(int(v))
  return tuple(out)


class FuseFastToSlow(nnx.Module):
  """Lateral connection: a k×1×1 convolution of temporal stride alpha maps the fast
  features onto the slow frames; after BN and ReLU they are concatenated to the
  slow features (slow first)."""

  def __init__(
      self,
      dim_in: int,
      *,
      fusion_ratio: int,
      kernel: int,
      alpha: int,
      cpu_forms: bool = False,
      dtype=jnp.float32,
      rngs: nnx.Rngs,
  ):
    """Creates the fusion.

    Args:
      dim_in: fast-pathway channels.
      fusion_ratio: output channels = fusion_ratio × dim_in (2 in the reference).
      kernel: temporal kernel size (7 for R50 8x8, 5 for 4x16 and R101).
      alpha: temporal stride = frame-rate ratio.
      cpu_forms: the convolution in XLA:CPU's fastest form on CPU (`layers.conv3d`).
      dtype: compute dtype.
      rngs: random streams.
    """
    self.conv_f2s = layers.conv3d(
        dim_in,
        dim_in * fusion_ratio,
        (kernel, 1, 1),
        (alpha, 1, 1),
        cpu_forms=cpu_forms,
        dtype=dtype,
        rngs=rngs,
    )
    self.bn = layers.GroupedBatchNorm(dim_in * fusion_ratio, dtype=dtype)

  def __call__(self, xs: list[jax.Array], ctx: layers.NormContext) -> list[jax.Array]:
    """Fuses [slow, fast] → [concat(slow, fused fast), fast]."""
    slow, fast = xs
    fuse = jax.nn.relu(self.bn(self.conv_f2s(fast), ctx))
    if fuse.shape[1] != slow.shape[1]:
      raise ValueError(
          f"fast→slow fusion gives {fuse.shape[1]} frames for {slow.shape[1]} slow "
          "frames: the number of frames must be divisible by alpha"
      )
    return [jnp.concatenate([slow, fuse], axis=-1), fast]
