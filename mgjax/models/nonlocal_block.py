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
"""The non-local block (Wang et al., CVPR 2018) used by I3D-NL.

Embedded-Gaussian instantiation ("softmax"): affinities theta·phi scaled by
1/sqrt(inner channels) and normalised with a softmax over the keys; keys and
values are max-pooled 1×2×2 to cut the cost; the output goes through a 1×1×1
convolution and a BatchNorm whose scale starts at zero, so the block starts as
the identity. The "dot_product" instantiation divides by the number of keys.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from mgjax.models import layers


class NonLocal(nnx.Module):
  """Non-local block on NDHWC features; attribute names follow PySlowFast."""

  def __init__(
      self,
      dim: int,
      dim_inner: int,
      *,
      pool_size: Sequence[int] = (1, 2, 2),
      instantiation: str = "softmax",
      cpu_forms: bool = False,
      dtype=jnp.float32,
      rngs: nnx.Rngs,
  ):
    """Creates the block.

    Args:
      dim: input and output channels.
      dim_inner: channels of theta, phi and g (dim // 2 in the reference).
      pool_size: (t, h, w) max-pooling of keys and values; all 1 disables it.
      instantiation: "softmax" (embedded Gaussian) or "dot_product".
      cpu_forms: the 1×1×1 convolutions as matmuls on CPU (`layers.conv3d`).
      dtype: compute dtype.
      rngs: random streams.
    """
    if instantiation not in ("softmax", "dot_product"):
      raise ValueError(f"unknown non-local instantiation {instantiation!r}")
    conv = lambda i, o: layers.conv3d(
        i, o, 1, use_bias=True, cpu_forms=cpu_forms, dtype=dtype, rngs=rngs
    )
    self.conv_theta = conv(dim, dim_inner)
    self.conv_phi = conv(dim, dim_inner)
    self.conv_g = conv(dim, dim_inner)
    self.conv_out = conv(dim_inner, dim)
    self.bn = layers.GroupedBatchNorm(dim, zero_init=True, dtype=dtype)
    self.pool_size = tuple(int(p) for p in pool_size)
    self.instantiation = instantiation
    self.dim_inner = dim_inner

  def __call__(self, x: jax.Array, ctx: layers.NormContext) -> jax.Array:
    """Applies the block: x + BN(conv_out(attention(x))).

    Args:
      x: [B, T, H, W, C].
      ctx: BatchNorm behaviour.

    Returns:
      Array of the same shape.
    """
    b, t, h, w, _ = x.shape
    theta = self.conv_theta(x)
    kv = x
    if any(p > 1 for p in self.pool_size):
      kv = layers.max_pool3d(x, self.pool_size, self.pool_size)
    phi = self.conv_phi(kv)
    g = self.conv_g(kv)
    theta = theta.reshape(b, -1, self.dim_inner)
    phi = phi.reshape(b, -1, self.dim_inner)
    g = g.reshape(b, -1, self.dim_inner)
    # Affinities and their normalisation in float32: the softmax over thousands
    # of positions is where bfloat16 would lose most.
    affinity = jnp.einsum("bqc,bkc->bqk", theta, phi, preferred_element_type=jnp.float32)
    if self.instantiation == "softmax":
      affinity = jax.nn.softmax(affinity * self.dim_inner**-0.5, axis=-1)
    else:
      affinity = affinity / affinity.shape[-1]
    out = jnp.einsum("bqk,bkc->bqc", affinity.astype(g.dtype), g)
    out = self.conv_out(out.reshape(b, t, h, w, self.dim_inner))
    return x + self.bn(out, ctx).astype(x.dtype)
