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
"""Tests of mgjax.models.layers: GroupedBatchNorm (sharded), convolutions, pooling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

from mgjax.models import layers

EPS = 1e-5


def _reference_groups(x, scale, bias, g):
  """Normalises each group of g clips alone (NumPy, float64)."""
  x = np.asarray(x, np.float64)
  b = x.shape[0]
  xg = x.reshape((b // g, g) + x.shape[1:])
  axes = tuple(range(1, xg.ndim - 1))
  m = xg.mean(axes, keepdims=True)
  v = xg.var(axes, keepdims=True)
  y = ((xg - m) / np.sqrt(v + EPS) * scale + bias).reshape(x.shape)
  n = g * int(np.prod(x.shape[1:-1]))
  m, v = m.reshape(b // g, -1), v.reshape(b // g, -1)
  batch_mean = m.mean(0)
  batch_var = (v * n / (n - 1)).mean(0) + m.var(0)
  return y, batch_mean, batch_var


def _bn(c, seed=0):
  bn = layers.GroupedBatchNorm(c)
  rng = np.random.RandomState(seed)
  bn.scale.set_value(jnp.asarray(0.5 + rng.rand(c), jnp.float32))
  bn.bias.set_value(jnp.asarray(rng.randn(c), jnp.float32))
  return bn


def _train_fn(bn, group_size):
  graphdef, state = nnx.split(bn)

  @jax.jit
  def f(state, x):
    m = nnx.merge(graphdef, state)
    y = m(x, layers.NormContext(train=True, group_size=group_size))
    return y, nnx.state(m)

  return state, f


@pytest.mark.parametrize("axis_type", [AxisType.Explicit, AxisType.Auto], ids=["explicit", "auto"])
def test_grouped_bn_sharded_equals_each_group_alone(axis_type):
  # 32 clips on 8 devices: 4 per device; groups of 2 (inside a device), 4 (one
  # device each), 8 and 16 (spanning devices) and the whole batch.
  x = np.random.RandomState(1).randn(32, 3, 4, 4, 6).astype(np.float32) * 2 + 0.5
  mesh = jax.make_mesh((8,), ("data",), axis_types=(axis_type,))
  with jax.sharding.set_mesh(mesh):
    xs = jax.device_put(x, NamedSharding(mesh, P("data")))
    for g in (2, 4, 8, 16, None):
      bn = _bn(6)
      state, f = _train_fn(bn, g)
      y, new_state = f(state, xs)
      ref, batch_mean, batch_var = _reference_groups(
          x, np.asarray(bn.scale[...]), np.asarray(bn.bias[...]), g or 32
      )
      np.testing.assert_allclose(np.asarray(y), ref, atol=2e-5, err_msg=f"group {g}")
      assert y.sharding.spec[0] == "data"
      np.testing.assert_allclose(np.asarray(new_state["mean"][...]), 0.1 * batch_mean, atol=1e-6)
      np.testing.assert_allclose(
          np.asarray(new_state["var"][...]), 0.9 + 0.1 * batch_var, rtol=1e-5
      )


def test_one_group_is_torch_batchnorm():
  x = np.random.RandomState(2).randn(4, 3, 5, 5, 8).astype(np.float32) * 3 - 1
  bn = _bn(8)
  tbn = torch.nn.BatchNorm3d(8, eps=1e-5, momentum=0.1)
  with torch.no_grad():
    tbn.weight.copy_(torch.from_numpy(np.array(bn.scale[...])))
    tbn.bias.copy_(torch.from_numpy(np.array(bn.bias[...])))
  xt = torch.from_numpy(x.transpose(0, 4, 1, 2, 3).copy())
  for _ in range(2):  # Two updates: the momentum compounds as in torch.
    tbn.train()
    ref = tbn(xt).detach().numpy().transpose(0, 2, 3, 4, 1)
    y = bn(jnp.asarray(x), layers.NormContext(train=True))
    np.testing.assert_allclose(np.asarray(y), ref, atol=2e-5)
  np.testing.assert_allclose(np.asarray(bn.mean[...]), tbn.running_mean.numpy(), atol=1e-6)
  np.testing.assert_allclose(np.asarray(bn.var[...]), tbn.running_var.numpy(), rtol=1e-5)
  tbn.eval()
  ref = tbn(xt).detach().numpy().transpose(0, 2, 3, 4, 1)
  np.testing.assert_allclose(np.asarray(bn(jnp.asarray(x), False)), ref, atol=2e-5)


def test_precise_bn_momentum_override_averages_batch_statistics():
  # The trainer runs N forwards with momentum i / (i + 1) (a traced scalar, one
  # compilation): the running statistics become the plain average of the
  # batches' statistics.
  rng = np.random.RandomState(3)
  batches = [rng.randn(8, 2, 3, 3, 4).astype(np.float32) * (i + 1) + i for i in range(4)]
  bn = _bn(4)
  graphdef, state = nnx.split(bn)

  @jax.jit
  def step(state, x, momentum):
    m = nnx.merge(graphdef, state)
    m(x, layers.NormContext(train=True, group_size=4, momentum=momentum))
    return nnx.state(m)

  means, vars_ = [], []
  for i, x in enumerate(batches):
    state = step(state, jnp.asarray(x), jnp.float32(i / (i + 1)))
    _, mean, var = _reference_groups(x, 1.0, 0.0, 4)
    means.append(mean)
    vars_.append(var)
  assert step._cache_size() == 1
  np.testing.assert_allclose(
      np.asarray(state["mean"][...]), np.mean(means, 0), rtol=1e-5, atol=1e-6
  )
  np.testing.assert_allclose(np.asarray(state["var"][...]), np.mean(vars_, 0), rtol=1e-5)


def test_group_larger_than_batch_is_one_group_and_bad_split_raises():
  x = np.random.RandomState(4).randn(6, 1, 2, 2, 3).astype(np.float32)
  y = _bn(3)(jnp.asarray(x), layers.NormContext(train=True, group_size=8))
  ref, _, _ = _reference_groups(x, np.asarray(_bn(3).scale[...]), np.asarray(_bn(3).bias[...]), 6)
  np.testing.assert_allclose(np.asarray(y), ref, atol=2e-5)
  with pytest.raises(ValueError, match="does not divide"):
    _bn(3)(jnp.asarray(x), layers.NormContext(train=True, group_size=4))


def test_bf16_output_fp32_statistics():
  bn = _bn(4)
  bn.dtype = jnp.bfloat16
  x = jnp.asarray(np.random.RandomState(5).randn(4, 2, 3, 3, 4), jnp.bfloat16)
  y = bn(x, layers.NormContext(train=True))
  assert y.dtype == jnp.bfloat16
  assert bn.mean[...].dtype == jnp.float32 and bn.scale[...].dtype == jnp.float32


def test_conv3d_symmetric_padding_matches_torch():
  # A strided kernel on odd sizes: "SAME" would pad asymmetrically here.
  conv = layers.conv3d(3, 5, (3, 7, 7), (1, 2, 2), rngs=nnx.Rngs(0))
  x = np.random.RandomState(6).randn(2, 5, 13, 11, 3).astype(np.float32)
  w = np.asarray(conv.kernel[...]).transpose(4, 3, 0, 1, 2)
  ref = torch.nn.functional.conv3d(
      torch.from_numpy(x.transpose(0, 4, 1, 2, 3).copy()),
      torch.from_numpy(w.copy()),
      stride=(1, 2, 2),
      padding=(1, 3, 3),
  )
  np.testing.assert_allclose(
      np.asarray(conv(jnp.asarray(x))), ref.numpy().transpose(0, 2, 3, 4, 1), atol=1e-4
  )


def _xla_conv(x, w, strides):
  return jax.lax.conv_general_dilated(
      x,
      w,
      strides,
      [(k // 2, k // 2) for k in w.shape[:3]],
      dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
  )


def _assert_same_convolution(fn, x, w, strides):
  """`fn(x, w)` equals XLA's convolution in value and in both gradients, to float32
  rounding relative to each array's scale."""
  ref = _xla_conv(x, w, strides)
  out = fn(x, w)
  assert out.shape == ref.shape
  probe = jnp.asarray(np.random.RandomState(8).randn(*ref.shape).astype(np.float32))
  grads = [
      jax.grad(lambda x, w, f=f: jnp.sum(f(x, w) * probe), (0, 1))(x, w)
      for f in (lambda x, w: _xla_conv(x, w, strides), fn)
  ]
  for a, b in [(ref, out), *zip(*grads)]:
    scale = float(jnp.max(jnp.abs(a)))
    assert scale > 0
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=0, atol=2e-6 * scale)


# Every kernel family of the networks, in each form that can compute it, on odd sizes:
# (kernel, strides, input channels, forms).
FORM_CASES = [
    ((1, 1, 1), (1, 1, 1), 8, ("pointwise", "temporal", "patches", "spatial")),
    ((1, 1, 1), (1, 2, 2), 8, ("pointwise", "temporal", "patches", "spatial")),  # branch1
    ((3, 1, 1), (1, 1, 1), 8, ("temporal", "patches")),  # a, slow and I3D
    ((5, 1, 1), (1, 1, 1), 4, ("temporal", "patches")),
    ((7, 1, 1), (4, 1, 1), 4, ("temporal",)),  # fast→slow fusion, alpha 4
    ((5, 1, 1), (8, 1, 1), 8, ("temporal",)),  # fusion, alpha 8
    ((1, 3, 3), (1, 1, 1), 8, ("spatial", "patches")),  # b
    ((1, 3, 3), (1, 2, 2), 16, ("spatial", "patches")),  # b with the stage's stride
    ((1, 7, 7), (1, 2, 2), 3, ("spatial", "patches")),  # slow / C2D stem
    ((5, 7, 7), (1, 2, 2), 3, ("patches",)),  # fast / I3D stem
    ((3, 3, 3), (1, 2, 2), 3, ("patches", "xla")),
]


@pytest.mark.parametrize(
    "kernel,strides,channels,forms", FORM_CASES, ids=[f"{c[0]}s{c[1]}c{c[2]}" for c in FORM_CASES]
)
def test_every_form_is_the_convolution(kernel, strides, channels, forms):
  """Forward and both gradients of each form equal XLA's 3-D convolution."""
  rng = np.random.RandomState(7)
  x = jnp.asarray(rng.randn(2, 9, 13, 11, channels).astype(np.float32))
  w = jnp.asarray(rng.randn(*kernel, channels, 6).astype(np.float32))
  for form in forms:
    _assert_same_convolution(
        lambda x, w, f=form: layers.conv_in_form(x, w, strides, f), x, w, strides
    )
  other = [f for f in layers.FORMS if f not in forms and f != "xla"]
  for form in other:  # The forms that cannot compute it say so.
    with pytest.raises(ValueError, match="does not compute"):
      layers.conv_in_form(x, w, strides, form)


@pytest.mark.parametrize("kernel", [(5, 7, 7), (1, 7, 7), (3, 3, 3)])
def test_im2col_conv3d_is_the_convolution(kernel):
  """Forward and both gradients equal the XLA convolution's, on odd sizes and strides."""
  x = jnp.asarray(np.random.RandomState(7).randn(2, 6, 13, 11, 3).astype(np.float32))
  w = layers.conv3d(3, 4, kernel, (1, 2, 2), rngs=nnx.Rngs(1)).kernel[...]
  _assert_same_convolution(lambda x, w: layers.im2col_conv3d(x, w, 2), x, w, (1, 2, 2))


@pytest.mark.parametrize("kernel,strides,channels,forms", FORM_CASES[:-1])
def test_conv3d_takes_the_cpu_form_only_when_asked(kernel, strides, channels, forms):
  """`conv3d(cpu_forms=True)` lowers to `cpu_form`'s form on CPU (matmuls, no
  convolution op) and to XLA's 3-D convolution otherwise; both compute the same."""
  x = jnp.asarray(np.random.RandomState(3).randn(2, 8, 12, 12, channels).astype(np.float32))
  out, ops = {}, {}
  for cpu_forms in (False, True):
    conv = layers.conv3d(channels, 5, kernel, strides, cpu_forms=cpu_forms, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(conv)
    fn = jax.jit(lambda st, v, g=graphdef: nnx.merge(g, st)(v))
    out[cpu_forms] = fn(state, x)
    hlo = fn.lower(state, x).as_text()
    ops[cpu_forms] = [line for line in hlo.splitlines() if "stablehlo.convolution" in line]
  assert len(ops[False]) == 1 and "[b, 0, 1, 2, f]" in ops[False][0]  # The 3-D convolution.
  assert layers.cpu_form(kernel, strides) in forms and not ops[True]  # Matmuls only.
  scale = float(jnp.max(jnp.abs(out[False])))
  np.testing.assert_allclose(np.asarray(out[True]), np.asarray(out[False]), atol=2e-6 * scale)


def test_conv_general_dilated_is_lax_outside_its_forms():
  """Groups, dilation or other padding go to XLA's convolution unchanged."""
  x = jnp.asarray(np.random.RandomState(0).randn(1, 6, 8, 8, 4).astype(np.float32))
  for w_in, kwargs in (
      (2, dict(padding=[(0, 0), (1, 1), (1, 1)], feature_group_count=2)),
      (4, dict(padding=[(0, 0), (2, 2), (2, 2)], rhs_dilation=(1, 2, 2))),
      (4, dict(padding="SAME")),
  ):
    w = jnp.asarray(np.random.RandomState(1).randn(1, 3, 3, w_in, 4).astype(np.float32))
    args = dict(dimension_numbers=("NDHWC", "DHWIO", "NDHWC"), **kwargs)
    ref = jax.lax.conv_general_dilated(x, w, (1, 1, 1), **args)
    fn = jax.jit(lambda v, w=w, a=args: layers.conv_general_dilated(v, w, (1, 1, 1), **a))
    assert "stablehlo.convolution" in fn.lower(x).as_text()
    np.testing.assert_array_equal(fn(x), ref)


def test_max_pool3d_matches_torch():
  x = (
      np.random.RandomState(7).randn(2, 4, 9, 10, 3).astype(np.float32) - 3
  )  # all-negative pads matter
  out = layers.max_pool3d(jnp.asarray(x), (1, 3, 3), (1, 2, 2), (0, 1, 1))
  ref = torch.nn.functional.max_pool3d(
      torch.from_numpy(x.transpose(0, 4, 1, 2, 3).copy()), (1, 3, 3), (1, 2, 2), (0, 1, 1)
  )
  np.testing.assert_array_equal(np.asarray(out), ref.numpy().transpose(0, 2, 3, 4, 1))


def test_conv_init_is_he_normal_fan_out():
  k = layers.conv_init(jax.random.key(0), (3, 1, 1, 64, 256))
  assert k.shape == (3, 1, 1, 64, 256) and k.dtype == jnp.float32
  np.testing.assert_allclose(float(jnp.std(k)), np.sqrt(2.0 / (256 * 3)), rtol=0.02)
  assert abs(float(jnp.mean(k))) < 0.01 * np.sqrt(2.0 / (256 * 3))


def test_chunked_normal_same_eagerly_and_under_jit():
  key = jax.random.key(42)
  for shape in [(3, 5), (2, 3, 3, 100, 128)]:  # one chunk and several
    eager = layers.chunked_normal(key, shape)
    traced = jax.jit(lambda k, s=shape: layers.chunked_normal(k, s))(key)
    assert eager.shape == shape
    np.testing.assert_allclose(np.asarray(traced), eager, rtol=1e-6, atol=1e-6)
  z = layers.chunked_normal(key, (200_000,))
  assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
  assert not np.allclose(z, layers.chunked_normal(jax.random.key(43), (200_000,)))
