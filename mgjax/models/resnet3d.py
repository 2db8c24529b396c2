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
"""One ResNet-3D builder for every model: C2D, I3D(-NL), Slow and SlowFast.

A model is an `ArchSpec`: per pathway the stem's temporal kernel and per stage
the temporal kernels of the blocks' first (Tx1x1) convolution, plus the
SlowFast fusion, temporal pooling and non-local positions. The variants differ
only in those numbers (see `registry.py`).

Module and attribute names follow PySlowFast (`s1.pathway0_stem.conv`,
`s2.pathway0_res0.branch2.a_bn`, `s3.pathway0_nonlocal1`, `s1_fuse.conv_f2s`,
`head.projection`), so a checkpoint's tensor name maps onto an NNX state path
one to one (`convert.py`).

Layout NDHWC. The head averages over whatever T×H×W arrives, so every
multigrid shape works with the same parameters.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from mgjax.models import layers
from mgjax.models import nonlocal_block
from mgjax.models import slowfast

STAGES = 4  # res2..res5


@dataclasses.dataclass(frozen=True)
class ArchSpec:
  """Architecture of a ResNet-3D (one pathway) or SlowFast (two pathways).

  Per-pathway tuples hold the slow (or only) pathway first, the fast second.

  Attributes:
    depths: residual blocks in res2..res5.
    width: channels of conv1 of the slow (or only) pathway; res_k outputs
      4·width·2^(k-2) channels.
    bottleneck_ratio: inner channels of res2 relative to `width`.
    stem_kernel_t: temporal kernel of conv1, per pathway.
    temporal_kernels: per pathway and stage, the temporal kernels of the blocks'
      first convolution, cycled over the blocks (I3D alternates (3, 1)).
    temporal_blocks: per pathway and stage, how many leading blocks use
      `temporal_kernels` (the rest use 1; PySlowFast's NUM_BLOCK_TEMP_KERNEL);
      None = all blocks.
    pool1_t: temporal max-pooling (kernel = stride) after res2; 1 = none.
    stem_stride: spatial stride of conv1 (2 in every paper model).
    stem_pool: the 1×3×3 max-pool of stride 2 after conv1 (on in every paper model).
    spatial_strides: spatial stride of the first block of each stage.
    nonlocal_blocks: per stage, the (0-based) blocks of the first pathway that a
      non-local block follows.
    nonlocal_pool: (t, h, w) pooling of the non-local keys and values.
    nonlocal_instantiation: "softmax" (embedded Gaussian) or "dot_product".
    alpha: SlowFast frame-rate ratio (fast frames per slow frame).
    beta_inv: SlowFast channel ratio (slow channels per fast channel).
    fusion_ratio: fusion output channels per fast channel.
    fusion_kernel: temporal kernel of the fusion convolution.
    zero_init_final_bn: start the last BN of every residual branch at zero scale
      (the reference's ZERO_INIT_FINAL_BN, on in its Kinetics configs).
  """

  depths: tuple[int, ...] = (3, 4, 6, 3)
  width: int = 64
  bottleneck_ratio: int = 1
  stem_kernel_t: tuple[int, ...] = (1,)
  temporal_kernels: tuple[tuple[tuple[int, ...], ...], ...] = (((1,), (1,), (3,), (3,)),)
  temporal_blocks: tuple[tuple[int | None, ...], ...] | None = None
  pool1_t: int = 1
  stem_stride: int = 2
  stem_pool: bool = True
  spatial_strides: tuple[int, ...] = (1, 2, 2, 2)
  nonlocal_blocks: tuple[tuple[int, ...], ...] = ((), (), (), ())
  nonlocal_pool: tuple[int, int, int] = (1, 2, 2)
  nonlocal_instantiation: str = "softmax"
  alpha: int = 1
  beta_inv: int = 8
  fusion_ratio: int = 2
  fusion_kernel: int = 5
  zero_init_final_bn: bool = True

  @property
  def num_pathways(self) -> int:
    return len(self.stem_kernel_t)

  def block_temporal_kernel(self, pathway: int, stage: int, block: int) -> int:
    """Temporal kernel of block `block` (0-based) of stage `stage` (0 = res2)."""
    n = self.depths[stage]
    if self.temporal_blocks is not None and self.temporal_blocks[pathway][stage] is not None:
      n = min(n, self.temporal_blocks[pathway][stage])
    if block >= n:
      return 1
    pattern = self.temporal_kernels[pathway][stage]
    return pattern[block % len(pattern)]

  @property
  def total_stride(self) -> int:
    """Spatial downsampling from the input to res5."""
    stride = self.stem_stride * (2 if self.stem_pool else 1)
    for s in self.spatial_strides:
      stride *= s
    return stride

  def res5_size(self, crop: int) -> int:
    """Side of the res5 feature map for a crop×crop input (symmetric k//2 padding)."""
    size = (crop + 2 * 3 - 7) // self.stem_stride + 1  # conv1, 7×7.
    if self.stem_pool:
      size = (size + 2 * 1 - 3) // 2 + 1  # 3×3 max-pool, padding 1.
    for s in self.spatial_strides:
      size = (size + 2 * 1 - 3) // s + 1  # The stage's strided 3×3.
    return size

  def with_overrides(
      self,
      *,
      width: int = 0,
      depths: Sequence[int] = (),
      bottleneck_ratio: int = 0,
      zero_init_final_bn: bool = True,
      stem_stride: int = 0,
      stem_pool: bool = True,
      spatial_strides: Sequence[int] = (),
  ) -> "ArchSpec":
    """Returns the spec with the config's small-model overrides (0 / () / True keep).

    Non-local positions beyond a shortened stage are dropped. The stride overrides
    exist for small crops: with the paper's total stride of 32 a 32-pixel clip ends
    in a 1×1 res5 map, where every 3×3 convolution sees mostly padding.
    """
    spec = self
    if stem_stride:
      if stem_stride not in (1, 2):
        raise ValueError(f"model.stem_stride must be 1 or 2, got {stem_stride}")
      spec = dataclasses.replace(spec, stem_stride=int(stem_stride))
    if not stem_pool:
      spec = dataclasses.replace(spec, stem_pool=False)
    if spatial_strides:
      strides = tuple(int(s) for s in spatial_strides)
      if len(strides) != STAGES or not all(s in (1, 2) for s in strides):
        raise ValueError(
            f"model.spatial_strides must hold {STAGES} strides of 1 or 2, got {strides}"
        )
      spec = dataclasses.replace(spec, spatial_strides=strides)
    if not zero_init_final_bn:
      spec = dataclasses.replace(spec, zero_init_final_bn=False)
    if width:
      spec = dataclasses.replace(spec, width=int(width))
    if bottleneck_ratio:
      spec = dataclasses.replace(spec, bottleneck_ratio=int(bottleneck_ratio))
    if depths:
      depths = tuple(int(d) for d in depths)
      if len(depths) != STAGES or min(depths) < 1:
        raise ValueError(f"model.depths must hold {STAGES} positive ints, got {depths}")
      nl = tuple(tuple(i for i in spec.nonlocal_blocks[s] if i < depths[s]) for s in range(STAGES))
      spec = dataclasses.replace(spec, depths=depths, nonlocal_blocks=nl)
    if spec.num_pathways == 2 and spec.width // spec.beta_inv < 1:
      raise ValueError(
          f"width {spec.width} leaves the fast pathway no channel (beta_inv={spec.beta_inv})"
      )
    return spec


class Stem(nnx.Module):
  """conv1 (kt×7×7, spatial stride 2) → BN → ReLU → 1×3×3 max-pool (stride 2).

  Small-crop settings may use stride 1 and/or drop the max-pool (`ArchSpec`).
  With `im2col`, on the CPU backend conv1 (3 input channels) runs as im2col and a
  matmul (`layers.cpu_form`'s "patches"): the same function and parameters.
  """

  def __init__(
      self,
      dim_in: int,
      dim_out: int,
      kernel_t: int,
      *,
      stride: int = 2,
      pool: bool = True,
      im2col: bool = True,
      dtype,
      rngs: nnx.Rngs,
  ):
    self.pool = pool
    self.conv = layers.conv3d(
        dim_in,
        dim_out,
        (kernel_t, 7, 7),
        (1, stride, stride),
        cpu_forms=im2col,
        dtype=dtype,
        rngs=rngs,
    )
    self.bn = layers.GroupedBatchNorm(dim_out, dtype=dtype)

  def __call__(self, x: jax.Array, ctx: layers.NormContext) -> jax.Array:
    x = jax.nn.relu(self.bn(self.conv(x), ctx))
    if not self.pool:
      return x
    return layers.max_pool3d(x, (1, 3, 3), (1, 2, 2), (0, 1, 1))


class VideoModelStem(nnx.Module):
  """The stems of all pathways (`pathway{p}_stem`)."""

  def __init__(
      self,
      dims_out: Sequence[int],
      kernels_t: Sequence[int],
      *,
      stride: int = 2,
      pool: bool = True,
      im2col: bool = True,
      dtype,
      rngs: nnx.Rngs,
  ):
    self.num_pathways = len(dims_out)
    for p, (d, k) in enumerate(zip(dims_out, kernels_t)):
      setattr(
          self,
          f"pathway{p}_stem",
          Stem(3, d, k, stride=stride, pool=pool, im2col=im2col, dtype=dtype, rngs=rngs),
      )

  def __call__(self, xs: list[jax.Array], ctx: layers.NormContext) -> list[jax.Array]:
    return [getattr(self, f"pathway{p}_stem")(x, ctx) for p, x in enumerate(xs)]


class BottleneckTransform(nnx.Module):
  """Tx1x1 (a) → 1x3x3 with the spatial stride (b) → 1x1x1 (c), BN after each,
  ReLU after a and b. The last BN starts at zero scale with `zero_init`, so that
  the block starts as its shortcut."""

  def __init__(
      self,
      dim_in: int,
      dim_out: int,
      dim_inner: int,
      kernel_t: int,
      stride: int,
      *,
      zero_init: bool = True,
      cpu_forms: bool = False,
      dtype,
      rngs: nnx.Rngs,
  ):
    conv = functools.partial(layers.conv3d, cpu_forms=cpu_forms, dtype=dtype, rngs=rngs)
    self.a = conv(dim_in, dim_inner, (kernel_t, 1, 1))
    self.a_bn = layers.GroupedBatchNorm(dim_inner, dtype=dtype)
    self.b = conv(dim_inner, dim_inner, (1, 3, 3), (1, stride, stride))
    self.b_bn = layers.GroupedBatchNorm(dim_inner, dtype=dtype)
    self.c = conv(dim_inner, dim_out, 1)
    self.c_bn = layers.GroupedBatchNorm(dim_out, zero_init=zero_init, dtype=dtype)

  def __call__(self, x: jax.Array, ctx: layers.NormContext) -> jax.Array:
    x = jax.nn.relu(self.a_bn(self.a(x), ctx))
    x = jax.nn.relu(self.b_bn(self.b(x), ctx))
    return self.c_bn(self.c(x), ctx)


class ResBlock(nnx.Module):
  """Residual block; a 1×1×1 projection (branch1) when channels or stride change."""

  def __init__(
      self,
      dim_in: int,
      dim_out: int,
      dim_inner: int,
      kernel_t: int,
      stride: int,
      *,
      zero_init: bool = True,
      cpu_forms: bool = False,
      dtype,
      rngs: nnx.Rngs,
  ):
    if dim_in != dim_out or stride != 1:
      self.branch1 = layers.conv3d(
          dim_in, dim_out, 1, (1, stride, stride), cpu_forms=cpu_forms, dtype=dtype, rngs=rngs
      )
      self.branch1_bn = layers.GroupedBatchNorm(dim_out, dtype=dtype)
    else:
      self.branch1 = None
      self.branch1_bn = None
    self.branch2 = BottleneckTransform(
        dim_in,
        dim_out,
        dim_inner,
        kernel_t,
        stride,
        zero_init=zero_init,
        cpu_forms=cpu_forms,
        dtype=dtype,
        rngs=rngs,
    )

  def __call__(self, x: jax.Array, ctx: layers.NormContext) -> jax.Array:
    shortcut = x if self.branch1 is None else self.branch1_bn(self.branch1(x), ctx)
    return jax.nn.relu(shortcut + self.branch2(x, ctx))


class ResStage(nnx.Module):
  """One stage of every pathway: `pathway{p}_res{i}` blocks, optionally followed
  by `pathway{p}_nonlocal{i}`."""

  def __init__(
      self,
      spec: ArchSpec,
      stage: int,
      dims_in: Sequence[int],
      dims_out: Sequence[int],
      dims_inner: Sequence[int],
      *,
      cpu_forms: bool = False,
      dtype,
      rngs: nnx.Rngs,
  ):
    self.depth = spec.depths[stage]
    self.num_pathways = len(dims_in)
    nonlocal_ids = []
    for p in range(self.num_pathways):
      for i in range(self.depth):
        block = ResBlock(
            dims_in[p] if i == 0 else dims_out[p],
            dims_out[p],
            dims_inner[p],
            spec.block_temporal_kernel(p, stage, i),
            spec.spatial_strides[stage] if i == 0 else 1,
            zero_init=spec.zero_init_final_bn,
            cpu_forms=cpu_forms,
            dtype=dtype,
            rngs=rngs,
        )
        setattr(self, f"pathway{p}_res{i}", block)
        if p == 0 and i in spec.nonlocal_blocks[stage]:
          setattr(
              self,
              f"pathway{p}_nonlocal{i}",
              nonlocal_block.NonLocal(
                  dims_out[p],
                  dims_out[p] // 2,
                  pool_size=spec.nonlocal_pool,
                  instantiation=spec.nonlocal_instantiation,
                  cpu_forms=cpu_forms,
                  dtype=dtype,
                  rngs=rngs,
              ),
          )
          nonlocal_ids.append(i)
    self.nonlocal_ids = tuple(nonlocal_ids)

  def __call__(self, xs: list[jax.Array], ctx: layers.NormContext) -> list[jax.Array]:
    out = []
    for p, x in enumerate(xs):
      for i in range(self.depth):
        x = getattr(self, f"pathway{p}_res{i}")(x, ctx)
        if p == 0 and i in self.nonlocal_ids:
          x = getattr(self, f"pathway{p}_nonlocal{i}")(x, ctx)
      out.append(x)
    return out


class Head(nnx.Module):
  """Global average pooling of each pathway, concatenation, dropout, fc.

  Pooling over whatever T×H×W arrives replaces the reference's fixed-size
  average pool, which breaks on multigrid's small shapes (for the reference's
  own input size both are the same). The classifier runs in float32.
  """

  def __init__(self, dim_in: int, num_classes: int, dropout_rate: float, *, rngs: nnx.Rngs):
    self.dropout = nnx.Dropout(dropout_rate, rngs=rngs)
    self.projection = nnx.Linear(
        dim_in,
        num_classes,
        kernel_init=layers.fc_init,
        bias_init=layers.zeros_init,
        param_dtype=jnp.float32,
        dtype=jnp.float32,
        rngs=rngs,
    )

  def __call__(self, xs: list[jax.Array], train: bool) -> jax.Array:
    pooled = [x.astype(jnp.float32).mean(axis=(1, 2, 3)) for x in xs]
    x = jnp.concatenate(pooled, axis=-1)
    x = self.dropout(x, deterministic=not train)
    return self.projection(x)


class VideoResNet(nnx.Module):
  """C2D / I3D / Slow (one pathway) or SlowFast (two pathways) from an ArchSpec.

  Call: `model(x, train=..., bn_group_size=..., bn_momentum=...)` with x float
  [B, T, H, W, 3] already normalised; returns float32 logits [B, num_classes].
  A SlowFast model takes the fast pathway's T frames and picks the slow
  pathway's T // alpha frames itself (T must be divisible by alpha).
  """

  def __init__(
      self,
      spec: ArchSpec,
      *,
      num_classes: int,
      dropout_rate: float = 0.5,
      dtype=jnp.float32,
      stem_im2col: bool = True,
      factorized_conv: bool = True,
      rngs: nnx.Rngs,
  ):
    """Builds the network.

    Args:
      spec: the architecture.
      num_classes: outputs of the classifier.
      dropout_rate: dropout before the classifier.
      dtype: compute dtype (parameters and BN statistics stay float32).
      stem_im2col: conv1 as im2col + matmul on the CPU backend (`Stem`).
      factorized_conv: every other convolution in XLA:CPU's fastest exact form on the
        CPU backend (`layers.conv_general_dilated`).
      rngs: random streams ("params" for initialisers, "dropout" or "default"
        for dropout).
    """
    self.spec = spec
    self.dtype = dtype
    self.cpu_forms = factorized_conv
    two = spec.num_pathways == 2
    if spec.num_pathways not in (1, 2):
      raise ValueError(f"1 or 2 pathways supported, got {spec.num_pathways}")
    if two and spec.pool1_t != 1:
      raise ValueError("temporal pooling after res2 is not supported for SlowFast")

    w = spec.width
    fast = lambda c: c // spec.beta_inv
    fused = lambda c: c + spec.fusion_ratio * fast(c) if two else c
    stem_out = [w, fast(w)] if two else [w]
    self.s1 = VideoModelStem(
        stem_out,
        spec.stem_kernel_t,
        stride=spec.stem_stride,
        pool=spec.stem_pool,
        im2col=stem_im2col,
        dtype=dtype,
        rngs=rngs,
    )
    if two:
      self.s1_fuse = self._fuse(fast(w), dtype, rngs)

    dim_prev = w
    for stage in range(STAGES):
      dim_out = 4 * w * 2**stage
      dim_inner = w * spec.bottleneck_ratio * 2**stage
      dims_in = [fused(dim_prev)] + ([fast(dim_prev)] if two else [])
      dims_out = [dim_out] + ([fast(dim_out)] if two else [])
      dims_inner = [dim_inner] + ([fast(dim_inner)] if two else [])
      setattr(
          self,
          f"s{stage + 2}",
          ResStage(
              spec,
              stage,
              dims_in,
              dims_out,
              dims_inner,
              cpu_forms=factorized_conv,
              dtype=dtype,
              rngs=rngs,
          ),
      )
      if two and stage < STAGES - 1:
        setattr(self, f"s{stage + 2}_fuse", self._fuse(fast(dim_out), dtype, rngs))
      dim_prev = dim_out
    self.head = Head(
        dim_prev + (fast(dim_prev) if two else 0), num_classes, dropout_rate, rngs=rngs
    )

  def _fuse(self, dim_in: int, dtype, rngs: nnx.Rngs) -> slowfast.FuseFastToSlow:
    return slowfast.FuseFastToSlow(
        dim_in,
        fusion_ratio=self.spec.fusion_ratio,
        kernel=self.spec.fusion_kernel,
        alpha=self.spec.alpha,
        cpu_forms=self.cpu_forms,
        dtype=dtype,
        rngs=rngs,
    )

  def __call__(
      self, x: jax.Array, *, train: bool, bn_group_size: int | None = None, bn_momentum=None
  ) -> jax.Array:
    """Runs the network.

    Args:
      x: [B, T, H, W, 3] normalised clips.
      train: batch statistics (updating the running ones) and dropout.
      bn_group_size: clips per BatchNorm group; None = the whole batch.
      bn_momentum: override of the running-statistics momentum (flax convention,
        weight of the old value), possibly traced; precise BN uses i / (i + 1).

    Returns:
      float32 logits [B, num_classes].
    """
    xs = self.features(x, train=train, bn_group_size=bn_group_size, bn_momentum=bn_momentum)
    return self.head(xs, train)

  def features(
      self, x: jax.Array, *, train: bool, bn_group_size: int | None = None, bn_momentum=None
  ) -> list[jax.Array]:
    """The res5 feature maps of every pathway (arguments as `__call__`).

    Returns:
      Per pathway (slow first), [B, T', H', W', C] after res5.
    """
    if x.ndim != 5:
      raise ValueError(f"expected [B, T, H, W, C] input, got shape {x.shape}")
    ctx = layers.NormContext(train=train, group_size=bn_group_size, momentum=bn_momentum)
    x = x.astype(self.dtype)
    if self.spec.num_pathways == 2:
      t = x.shape[1]
      if t % self.spec.alpha:
        raise ValueError(f"SlowFast needs T divisible by alpha={self.spec.alpha}, got T={t}")
      idx = jnp.asarray(slowfast.slow_pathway_indices(t, self.spec.alpha))
      xs = [jnp.take(x, idx, axis=1), x]
    else:
      xs = [x]
    xs = self.s1(xs, ctx)
    if self.spec.num_pathways == 2:
      xs = self.s1_fuse(xs, ctx)
    for stage in range(2, STAGES + 2):
      xs = getattr(self, f"s{stage}")(xs, ctx)
      if stage == 2 and self.spec.pool1_t > 1:
        k = (self.spec.pool1_t, 1, 1)
        xs = [layers.max_pool3d(v, k, k) for v in xs]
      if self.spec.num_pathways == 2 and stage < STAGES + 1:
        xs = getattr(self, f"s{stage}_fuse")(xs, ctx)
    return xs
