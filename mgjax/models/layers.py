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
"""Building blocks shared by the video models: convolutions, pooling, GroupedBatchNorm.

Everything is channels-last (NDHWC: batch, time, height, width, channels).

Padding is always explicit and symmetric (k // 2 on both sides), as in the
PyTorch reference implementations: XLA's "SAME" pads asymmetrically for strided
convolutions, which would shift every feature map by one pixel and break
numerical parity with converted checkpoints.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

Array = jax.Array
Dtype = Any

# BatchNorm constants of the reference configs (torch momentum 0.1 = flax 0.9).
BN_EPS = 1e-5
BN_MOMENTUM = 0.9


# Initialisers draw their normals from a Philox stream in chunks of this many values.
_CHUNK = 1 << 16
_PHILOX = jax.lax.RandomAlgorithm.RNG_PHILOX


def _philox_state(key: Array) -> Array:
  """A uint32[4] Philox state derived from a JAX PRNG key (any implementation)."""
  data = jax.random.key_data(key).astype(jnp.uint32).reshape(-1)
  return jnp.concatenate([data, data ^ jnp.uint32(0x9E3779B9), data])[:4]


def _bits_to_normal(bits: Array) -> Array:
  """uint32 bits → standard normals (inverse CDF of a uniform in (-1, 1))."""
  f = jax.lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0
  u = jnp.maximum(f * 2.0 - 1.0, np.nextafter(np.float32(-1.0), np.float32(0.0)))
  return np.float32(np.sqrt(2.0)) * jax.scipy.special.erfinv(u)


@jax.jit
def _normal_chunk(state: Array) -> tuple[Array, Array]:
  state, bits = jax.lax.rng_bit_generator(state, (_CHUNK,), jnp.uint32, algorithm=_PHILOX)
  return state, _bits_to_normal(bits)


def chunked_normal(key: Array, shape: Sequence[int]) -> np.ndarray | Array:
  """Standard normals of `shape` from a Philox stream seeded by `key`.

  Why not `jax.random.normal`: eager model construction compiles one
  random-number program per distinct shape (~0.25 s each on CPU; a ResNet has
  ~100 kernel shapes, so building a SlowFast eagerly took 15-30 s), and threefry
  makes the jitted construction slow to compile as well. Eagerly, the stream is
  produced in fixed-size chunks by one compiled program and joined on the host;
  under tracing (jit, eval_shape) it is one `rng_bit_generator` op. Both give the
  same values (Philox chunks chain: generating 2·C values at once equals two
  chained calls of C).

  Args:
    key: PRNG key.
    shape: output shape.

  Returns:
    float32 normals (a NumPy array when eager, a traced array otherwise).
  """
  shape = tuple(int(d) for d in shape)
  n = int(np.prod(shape))
  chunks = max(1, -(-n // _CHUNK))
  if isinstance(key, jax.core.Tracer):
    _, bits = jax.lax.rng_bit_generator(
        _philox_state(key), (chunks * _CHUNK,), jnp.uint32, algorithm=_PHILOX
    )
    return _bits_to_normal(bits)[:n].reshape(shape)
  state, parts = _philox_state(key), []
  for _ in range(chunks):
    state, z = _normal_chunk(state)
    parts.append(np.asarray(z))
  return np.concatenate(parts)[:n].reshape(shape)


def conv_init(key: Array, shape: Sequence[int], dtype: Dtype = jnp.float32) -> Array:
  """He-normal with fan_out, as Caffe2's MSRAFill / torch's kaiming_normal_(mode="fan_out").

  std = sqrt(2 / (out_channels × kernel volume)), a plain (not truncated) normal.

  Args:
    key: PRNG key.
    shape: (t, h, w, in, out) kernel shape.
    dtype: parameter dtype.

  Returns:
    The initial kernel.
  """
  fan_out = int(shape[-1]) * int(np.prod(shape[:-2]))
  return jnp.asarray(chunked_normal(key, shape) * np.sqrt(2.0 / fan_out), dtype)


def fc_init(key: Array, shape: Sequence[int], dtype: Dtype = jnp.float32) -> Array:
  """The classifier's N(0, 0.01) (MODEL.FC_INIT_STD of the reference configs)."""
  return jnp.asarray(chunked_normal(key, shape) * 0.01, dtype)


def zeros_init(key: Array, shape: Sequence[int], dtype: Dtype = jnp.float32) -> Array:
  """Zeros built on the host (an eager jnp.zeros compiles once per shape)."""
  del key
  return jnp.asarray(np.zeros(shape), dtype)


class NormContext(NamedTuple):
  """How every BatchNorm of one forward pass behaves.

  Attributes:
    train: normalise with batch statistics and update the running statistics.
    group_size: clips per BN group (None: the whole batch is one group).
    momentum: weight of the old running statistics (flax convention); None uses
      each layer's default. May be a traced scalar (precise BN changes it per step).
  """

  train: bool
  group_size: int | None = None
  momentum: Any = None


def triple(v: int | Sequence[int]) -> tuple[int, int, int]:
  """Returns `v` as a (t, h, w) tuple."""
  if isinstance(v, int):
    return (v, v, v)
  v = tuple(int(i) for i in v)
  if len(v) != 3:
    raise ValueError(f"expected 3 values (t, h, w), got {v}")
  return v  # type: ignore[return-value]


def conv3d(
    in_features: int,
    out_features: int,
    kernel_size: int | Sequence[int],
    strides: int | Sequence[int] = 1,
    *,
    use_bias: bool = False,
    cpu_forms: bool = False,
    dtype: Dtype = jnp.float32,
    rngs: nnx.Rngs,
    kernel_init=conv_init,
) -> nnx.Conv:
  """A 3D convolution with symmetric k // 2 zero padding (PyTorch semantics).

  Args:
    in_features: input channels.
    out_features: output channels.
    kernel_size: (t, h, w) kernel or one int for all three.
    strides: (t, h, w) strides or one int.
    use_bias: add a bias (only the non-local blocks use one).
    cpu_forms: on the CPU backend, compute the convolution in the form XLA:CPU runs
      fastest (`conv_general_dilated` of this module); elsewhere, and when False,
      `jax.lax.conv_general_dilated`. A static field of the module, so part of
      every jit key through the model's graph.
    dtype: compute dtype; parameters stay float32.
    rngs: random streams for the initialisers.
    kernel_init: kernel initialiser (He-normal fan_out by default).

  Returns:
    An `nnx.Conv` whose kernel has shape (t, h, w, in, out).
  """
  k = triple(kernel_size)
  return nnx.Conv(
      in_features,
      out_features,
      kernel_size=k,
      strides=triple(strides),
      padding=[(i // 2, i // 2) for i in k],
      use_bias=use_bias,
      dtype=dtype,
      param_dtype=jnp.float32,
      kernel_init=kernel_init,
      bias_init=zeros_init,
      conv_general_dilated=conv_general_dilated if cpu_forms else jax.lax.conv_general_dilated,
      rngs=rngs,
  )


# The exact forms in which `conv_general_dilated` can compute a channels-last convolution
# on XLA:CPU, which runs 3-D convolutions far below its matmul speed, slowest with few
# channels or small maps; the networks here are built almost only from factorized
# kernels, each of which one of these computes (`cpu_form` chooses).
FORMS = ("pointwise", "temporal", "patches", "spatial", "xla")


def cpu_form(kernel_shape: Sequence[int], strides: Sequence[int]) -> str:
  """The form `conv_general_dilated` takes on CPU for a channels-last convolution.

  Measured on every convolution of the demo's plan and of SlowFast R50
  (`benchmarks/conv_forms.py`): the matmul forms beat XLA:CPU's 3-D convolution
  almost everywhere, and the 2-D convolution over frames ("spatial") lost to the
  spatial im2col ("patches") at nearly every 1×k×k kernel, most of all on the small
  maps of multigrid's short cycle, so it is measured but not chosen.

  Args:
    kernel_shape: [kt, kh, kw, C, C_out] (or (kt, kh, kw)).
    strides: (t, h, w) strides.

  Returns:
    "pointwise" (1×1×1: strided slice, one matmul), "temporal" (kt×1×1: temporal
    im2col, one matmul; any temporal stride, as the fast→slow fusion's), "patches"
    (a spatial extent, equal spatial strides, temporal stride 1 unless kt = 1: spatial
    im2col, one matmul and kt shifted sums, `im2col_conv3d`) or "xla"
    (`jax.lax.conv_general_dilated`).
  """
  kt, kh, kw = (int(k) for k in kernel_shape[:3])
  st, sh, sw = (int(s) for s in strides)
  if (kt, kh, kw) == (1, 1, 1):
    return "pointwise"
  if kh == kw == 1:
    return "temporal"
  if sh == sw and (st == 1 or kt == 1):
    return "patches"
  return "xla"


def _matmul(x: Array, w: Array, precision=None) -> Array:
  """[..., C] @ [C, O] as one 2-D matmul: XLA:CPU runs the same product as a
  dot with many free dimensions up to 3x slower."""
  lead = x.shape[:-1]
  y = jnp.dot(x.reshape(-1, x.shape[-1]), w, precision=precision)
  return y.reshape(*lead, w.shape[-1])


def conv_general_dilated(
    lhs: Array,
    rhs: Array,
    window_strides: Sequence[int],
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision=None,
    preferred_element_type=None,
    out_sharding=None,
) -> Array:
  """`jax.lax.conv_general_dilated`, in XLA:CPU's fastest exact form on the CPU backend.

  The convolutions of `conv3d` (NDHWC, DHWIO, symmetric k // 2 zero padding, no
  dilation or groups) take the form `cpu_form` names when JAX's default backend
  is the CPU; every other call, and every call on other backends, is
  `jax.lax.conv_general_dilated` itself. The forms compute the same sums as the
  convolution (the products of a kernel tap with the padded input; only the
  order of the float32 additions differs), and their gradients are JAX's
  gradients of the form (2-D convolutions, matmuls, slices and pads).

  Args:
    lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
    dimension_numbers, feature_group_count, batch_group_count, precision,
    preferred_element_type, out_sharding: as `jax.lax.conv_general_dilated`.

  Returns:
    The convolution's output.
  """
  xla = lambda: jax.lax.conv_general_dilated(
      lhs,
      rhs,
      window_strides,
      padding,
      lhs_dilation=lhs_dilation,
      rhs_dilation=rhs_dilation,
      dimension_numbers=dimension_numbers,
      feature_group_count=feature_group_count,
      batch_group_count=batch_group_count,
      precision=precision,
      preferred_element_type=preferred_element_type,
      out_sharding=out_sharding,
  )
  if jax.default_backend() != "cpu" or lhs.ndim != 5 or rhs.ndim != 5:
    return xla()
  kernel = rhs.shape[:3]
  plain = (
      feature_group_count == 1
      and batch_group_count == 1
      and preferred_element_type is None
      and out_sharding is None
      and all(d == 1 for d in lhs_dilation or (1, 1, 1))
      and all(d == 1 for d in rhs_dilation or (1, 1, 1))
      and not isinstance(padding, str)
      and [tuple(p) for p in padding] == [(k // 2, k // 2) for k in kernel]
      and jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
      == jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, ("NDHWC", "DHWIO", "NDHWC"))
  )
  form = cpu_form(rhs.shape, window_strides) if plain else "xla"
  if form == "xla":
    return xla()
  return conv_in_form(lhs, rhs, window_strides, form, precision)


def conv_in_form(x: Array, kernel: Array, strides: Sequence[int], form: str, precision=None):
  """The channels-last, k // 2 zero-padded convolution of `conv3d`, computed in `form`.

  Args:
    x: [B, T, H, W, C].
    kernel: [kt, kh, kw, C, C_out], of x's dtype.
    strides: (t, h, w).
    form: one of `FORMS` that applies to the kernel (see `cpu_form`).
    precision: of the matmuls and convolutions.

  Returns:
    [B, T', H', W', C_out], as `jax.lax.conv_general_dilated` gives it.

  Raises:
    ValueError: when `form` cannot compute this kernel and stride.
  """
  st, sh, sw = (int(s) for s in strides)
  kt, kh, kw, c, c_out = kernel.shape
  if form == "xla":
    return jax.lax.conv_general_dilated(
        x,
        kernel,
        (st, sh, sw),
        [(k // 2, k // 2) for k in (kt, kh, kw)],
        dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
        precision=precision,
    )
  if form == "pointwise" and (kt, kh, kw) == (1, 1, 1):
    return _matmul(x[:, ::st, ::sh, ::sw], kernel.reshape(c, c_out), precision)
  if form == "temporal" and kh == kw == 1:
    # Each output frame's kt taps side by side on the channel axis, one matmul with
    # the kernel as [kt·C, C_out]. (One matmul of every padded frame with all taps,
    # then shifted sums, was 3-60x slower: it computes the frames a temporal stride
    # skips and sums kt full-size products.)
    xp = jnp.pad(x[:, :, ::sh, ::sw], ((0, 0), (kt // 2, kt // 2), (0, 0), (0, 0), (0, 0)))
    t_out = (x.shape[1] + 2 * (kt // 2) - kt) // st + 1
    cols = jnp.concatenate([xp[:, i : i + st * (t_out - 1) + 1 : st] for i in range(kt)], -1)
    return _matmul(cols, kernel.reshape(kt * c, c_out), precision)
  if form == "patches" and sh == sw and (st == 1 or kt == 1):
    return im2col_conv3d(x[:, ::st], kernel, sh, precision)
  if form == "spatial" and kt == 1:
    # The frames as a batch of images.
    x = x[:, ::st]
    b, t = x.shape[:2]
    y = jax.lax.conv_general_dilated(
        x.reshape(b * t, *x.shape[2:]),
        kernel[0],
        (sh, sw),
        [(kh // 2, kh // 2), (kw // 2, kw // 2)],
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        precision=precision,
    )
    return y.reshape(b, t, *y.shape[1:])
  return _unsupported(form, kernel.shape, strides)


def _unsupported(form: str, kernel_shape, strides) -> Array:
  raise ValueError(f"form {form!r} does not compute kernel {kernel_shape} at strides {strides}")


def im2col_conv3d(x: Array, kernel: Array, spatial_stride: int, precision=None) -> Array:
  """A kt×kh×kw convolution with few input channels, as strided slices and one matmul.

  Numerically the convolution `conv3d` computes (temporal stride 1, symmetric k // 2
  zero padding), for the stem's 3-channel input on XLA:CPU: there the convolution
  vectorises over channels and runs a 3 → 4..64 channel conv1 and its kernel gradient
  far below the machine's matmul speed; as a matmul both stay on XLA's dot path
  (`benchmarks/conv_forms.py`).

  The kh·kw strided slices of the padded input, concatenated on the channel axis,
  are the spatial patches of every padded frame; one matmul with the kernel as
  [kh·kw·C, kt·C_out] gives every temporal tap's response at once (kt matmuls over
  time slices of the patches were slower), and output frame t sums tap s of
  padded frame t + s.

  Args:
    x: [B, T, H, W, C].
    kernel: [kt, kh, kw, C, C_out] (cast to x's dtype, like `nnx.Conv`).
    spatial_stride: the stride in H and W.
    precision: of the matmul.

  Returns:
    [B, T, H', W', C_out] with H' = (H + 2·(kh // 2) − kh) // stride + 1 (and W').
  """
  kt, kh, kw, c, c_out = kernel.shape
  pt, ph, pw = kt // 2, kh // 2, kw // 2
  t, s = x.shape[1], spatial_stride
  xp = jnp.pad(x, ((0, 0), (pt, pt), (ph, ph), (pw, pw), (0, 0)))
  ho = (x.shape[2] + 2 * ph - kh) // s + 1
  wo = (x.shape[3] + 2 * pw - kw) // s + 1
  patches = jnp.concatenate(
      [
          xp[:, :, i : i + s * (ho - 1) + 1 : s, j : j + s * (wo - 1) + 1 : s, :]
          for i in range(kh)
          for j in range(kw)
      ],
      axis=-1,
  )
  taps = kernel.transpose(1, 2, 3, 0, 4).reshape(kh * kw * c, kt * c_out).astype(x.dtype)
  y = _matmul(patches, taps, precision).reshape(*patches.shape[:-1], kt, c_out)
  return sum(y[:, i : i + t, :, :, i, :] for i in range(kt))


def max_pool3d(
    x: Array, window: Sequence[int], strides: Sequence[int], padding: Sequence[int] = (0, 0, 0)
) -> Array:
  """3D max pooling over NDHWC with symmetric padding by -inf (PyTorch semantics).

  Args:
    x: [B, T, H, W, C].
    window: (t, h, w) window.
    strides: (t, h, w) strides.
    padding: (t, h, w) padding on each side; output sizes round down like torch.

  Returns:
    The pooled array.
  """
  # A Python scalar init lets JAX recognise the max monoid, which has a gradient.
  init = -jnp.inf
  pads = ((0, 0),) + tuple((p, p) for p in padding) + ((0, 0),)
  return jax.lax.reduce_window(x, init, jax.lax.max, (1, *window, 1), (1, *strides, 1), pads)


def _explicit_batch_spec(x: Array):
  """The PartitionSpec of `x` when its batch axis is sharded over Explicit mesh axes."""
  sharding = getattr(jax.typeof(x), "sharding", None)
  spec = getattr(sharding, "spec", None)
  mesh = getattr(sharding, "mesh", None)
  if spec is None or mesh is None or getattr(mesh, "empty", False) or not len(spec):
    return None
  if spec[0] is None:
    return None
  return spec


def _per_clip_group_mean(s: Array, group_size: int, count: int) -> Array:
  """Group means of per-clip sums, broadcast back to every clip of the group.

  Args:
    s: [B, C] per-clip sums.
    group_size: clips per group.
    count: elements per group and channel (group_size × T × H × W).

  Returns:
    [B, C]: row b holds the mean of the group that clip b belongs to.
  """
  b, c = s.shape
  g = s.reshape(b // group_size, group_size, c).sum(axis=1) / count
  return jnp.repeat(g, group_size, axis=0, total_repeat_length=b)


def group_mean(s: Array, group_size: int, count: int) -> Array:
  """`_per_clip_group_mean` that works whatever the sharding of the batch axis.

  The reduction runs on [B, C] per-clip sums, a tiny array next to the
  activations, so a group that spans devices costs one small collective and a
  group inside one device none. Under Auto mesh axes (or no mesh) XLA's SPMD
  partitioner places the collectives itself. Under Explicit axes a reshape that
  splits the sharded batch axis into (groups, group_size) is rejected by JAX's
  sharding-in-types rules when a group spans devices, so the few lines run with
  the mesh axes switched to Auto and the result comes back batch-sharded like
  the input.

  Args:
    s: [B, C] per-clip sums.
    group_size: clips per group (divides B).
    count: elements per group and channel.

  Returns:
    [B, C] per-clip group means, sharded like `s`.
  """
  spec = _explicit_batch_spec(s)
  if spec is None:
    return _per_clip_group_mean(s, group_size, count)
  fn = jax.sharding.auto_axes(
      lambda t: _per_clip_group_mean(t, group_size, count),
      out_sharding=jax.sharding.PartitionSpec(*spec),
  )
  return fn(s)


class GroupedBatchNorm(nnx.Module):
  """BatchNorm with statistics over fixed groups of clips of the global batch.

  Multigrid computes BN statistics over groups of `bn_group_size` clips
  (8 long-cycle clips in the paper), whatever the global batch and however it is
  split over devices. The reference needs two mechanisms for that (sub-BN when a
  device holds several groups, sync-BN when a group spans devices); here the
  global batch is viewed as (groups, group_size) and each group is normalised
  with its own statistics. Under `jax.jit` with the batch sharded over a mesh,
  XLA inserts the cross-device reductions that a group needs and none for groups
  inside one device.

  Running statistics follow the reference's aggregation of sub-BN statistics:
  mean = mean of the group means; variance = mean of the (unbiased, n/(n-1) as
  torch) group variances + variance of the group means. With one group this is
  exactly torch's BatchNorm update.

  Attributes:
    scale, bias: the affine parameters (torch's weight and bias).
    mean, var: running statistics (torch's running_mean and running_var).
  """

  def __init__(
      self,
      num_features: int,
      *,
      eps: float = BN_EPS,
      momentum: float = BN_MOMENTUM,
      zero_init: bool = False,
      dtype: Dtype = jnp.float32,
  ):
    """Creates the layer.

    Args:
      num_features: channels (last axis).
      eps: added to the variance (1e-5 as torch).
      momentum: weight of the old running statistics (0.9 = torch's 0.1).
      zero_init: initialise the scale to 0 (last BN of a residual branch), so
        that each block starts as the identity.
      dtype: output dtype; statistics are always computed in float32.
    """
    # Host-built constants: eager jnp.zeros / jnp.ones compile once per shape.
    zeros, ones = np.zeros(num_features, np.float32), np.ones(num_features, np.float32)
    self.scale = nnx.Param(jnp.asarray(zeros if zero_init else ones))
    self.bias = nnx.Param(jnp.asarray(zeros))
    self.mean = nnx.BatchStat(jnp.asarray(zeros))
    self.var = nnx.BatchStat(jnp.asarray(ones))
    self.num_features = num_features
    self.eps = eps
    self.momentum = momentum
    self.dtype = dtype

  def __call__(self, x: Array, ctx: NormContext | bool) -> Array:
    """Normalises `x` [B, ..., C].

    Args:
      x: input, channels last.
      ctx: a NormContext, or a bool meaning NormContext(train=bool).

    Returns:
      The normalised array, in the layer's dtype.

    Raises:
      ValueError: when the batch does not divide into groups of `group_size`.
    """
    if isinstance(ctx, bool):
      ctx = NormContext(train=ctx)
    x32 = x.astype(jnp.float32)
    scale = self.scale[...]
    bias = self.bias[...]
    if not ctx.train:
      inv = jax.lax.rsqrt(self.var[...] + self.eps) * scale
      y = x32 * inv + (bias - self.mean[...] * inv)
      return y.astype(self.dtype)

    batch = x.shape[0]
    group = batch if ctx.group_size is None else min(int(ctx.group_size), batch)
    if group < 1 or batch % group:
      raise ValueError(f"batch of {batch} clips does not divide into BN groups of {group}")
    red = tuple(range(1, x.ndim - 1))
    per_clip = int(np.prod([x.shape[a] for a in red], dtype=np.int64))
    count = group * per_clip
    bshape = (batch,) + (1,) * len(red) + (x.shape[-1],)

    # Two passes (mean, then centred squares) for the same rounding as torch.
    mean = group_mean(x32.sum(axis=red), group, count)  # [B, C]
    centred = x32 - mean.reshape(bshape)
    var = group_mean(jnp.square(centred).sum(axis=red), group, count)  # [B, C]
    inv = jax.lax.rsqrt(var + self.eps).reshape(bshape) * scale
    y = centred * inv + bias

    # Every group appears group_size times in the per-clip rows, so plain means
    # over the batch axis are means over groups.
    momentum = self.momentum if ctx.momentum is None else ctx.momentum
    unbiased = count / max(count - 1, 1)
    batch_mean = mean.mean(axis=0)
    batch_var = (var * unbiased).mean(axis=0) + jnp.square(mean - batch_mean).mean(axis=0)
    momentum = jnp.asarray(momentum, jnp.float32)
    # set_value, not `var[...] = `: the latter asks every tracer for its sharding,
    # which costs seconds of tracing for a ResNet's ~200 BatchNorms.
    self.mean.set_value(
        momentum * self.mean[...] + (1.0 - momentum) * jax.lax.stop_gradient(batch_mean)
    )
    self.var.set_value(
        momentum * self.var[...] + (1.0 - momentum) * jax.lax.stop_gradient(batch_var)
    )
    return y.astype(self.dtype)
