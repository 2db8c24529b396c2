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
"""Tests of the video models: parameter counts, numerical parity with
PyTorchVideo (eval and train mode), shapes, bf16, a sharded train step, the report."""

import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec as P

import torch_reference as tr  # tests/ helper; installs the torchvision stand-in
from mgjax import config as config_lib
from mgjax.models import convert
from mgjax.models import layers
from mgjax.models import registry
from mgjax.models import slowfast
from mgjax.models import summary

torch.set_num_threads(2)

# Reference parameter counts (400 classes): PySlowFast / PyTorchVideo zoo.
EXPECTED_PARAMS = {
    "slowfast_r50_4x16": 34_480_216,
    "slowfast_r50_8x8": 34_566_488,
    "slowfast_r50_16x8": 34_566_488,
    "slowfast_r101_8x8": 53_774_808,
    "slowfast_r101_16x8": 53_774_808,
    "slowfast_r101_8x8_101_101_101": 62_826_968,
    "i3d_r50": 28_043_472,
    "i3d_nl_r50": 35_401_936,
    "i3d_paper_r50": 32_454_096,
    "i3d_nl_paper_r50": 39_812_560,
    "slow_r50_8x8": 32_454_096,
    "slow_r50_4x16": 32_454_096,
    "c2d_r50": 24_327_632,
    "c2d_nopool_r50": 24_327_632,
}


def _model_config(name, **overrides):
  c = config_lib.base().model
  c.name = name
  for k, v in overrides.items():
    c[k] = v
  return c


@functools.lru_cache(maxsize=None)
def _abstract(name):
  return summary.abstract_model(_model_config(name))


def test_every_model_is_listed_with_its_param_count():
  assert set(registry.MODEL_NAMES) == set(EXPECTED_PARAMS)
  for name in registry.MODEL_NAMES:
    assert summary.count_params(_abstract(name)) == EXPECTED_PARAMS[name], name


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_param_count_equals_pytorchvideo(name):
  # Built on torch's meta device: shapes only, no memory, no initialisation cost.
  with torch.device("meta"):
    ref = tr.num_params(tr.build(name))
    hub = tr.hub_model(name)
  assert summary.count_params(_abstract(name)) == ref
  if hub is not None:  # The hub builders' own defaults describe the same network.
    assert tr.num_params(hub) == ref


def test_model_spec():
  assert registry.model_spec("slowfast_r50_8x8").alpha == 4
  assert registry.model_spec("slowfast_r50_4x16").alpha == 8
  assert registry.model_spec("slowfast_r50_16x8").num_frames == 64
  assert registry.model_spec("i3d_r50").alpha == 1
  spec = registry.model_spec("i3d_paper_r50")
  assert (spec.num_frames, spec.alpha, spec.arch.pool1_t, spec.arch.stem_kernel_t) == (
      16,
      1,
      1,
      (1,),
  )
  # The paper's I3D(-NL): 3x1x1 kernels only in res4/res5; NL after res3 1, 3 and res4 1, 3, 5.
  arch = registry.model_spec("i3d_nl_paper_r50").arch
  assert [arch.block_temporal_kernel(0, s, 0) for s in range(4)] == [1, 1, 3, 3]
  assert arch.nonlocal_blocks == ((), (1, 3), (1, 3, 5), ())
  with pytest.raises(ValueError, match="unknown model"):
    registry.model_spec("resnet_9000")


def test_full_size_output_shapes():
  # Full-size models at 224² and at multigrid's small shapes: shapes only.
  for name, shapes in [
      ("slowfast_r50_8x8", [(2, 32, 224), (4, 8, 112), (3, 16, 158)]),
      ("slowfast_r101_16x8", [(1, 64, 256)]),
      ("i3d_nl_r50", [(2, 8, 224)]),
      ("i3d_paper_r50", [(2, 16, 224)]),
      ("c2d_r50", [(2, 8, 224), (2, 3, 96)]),
  ]:
    model = _abstract(name)
    graphdef, state = nnx.split(model)
    for b, t, s in shapes:
      out = jax.eval_shape(
          lambda st, x: nnx.merge(graphdef, st)(x, train=True, bn_group_size=1),
          state,
          jax.ShapeDtypeStruct((b, t, s, s, 3), jnp.float32),
      )
      assert out.shape == (b, 400) and out.dtype == jnp.float32, (name, b, t, s)


def test_slow_pathway_indices_match_torch_linspace():
  for t in range(1, 130):
    for alpha in (1, 2, 3, 4, 8):
      if t // alpha:
        ref = torch.linspace(0, t - 1, t // alpha).long().tolist()
        assert list(slowfast.slow_pathway_indices(t, alpha)) == ref, (t, alpha)


def _parity_models(name, num_classes=10, seed=0, **overrides):
  """A randomised PyTorchVideo model and the mgjax model converted from it."""
  tm = tr.randomize_(tr.build(name, num_classes=num_classes, dropout_rate=0.0, any_size=True), seed)
  model = convert.create_from_checkpoint(
      _model_config(name, num_classes=num_classes, dropout_rate=0.0, **overrides), tr.state_dict(tm)
  )
  return tm, model


def _run(model, x, train):
  graphdef, state = nnx.split(model)
  fn = jax.jit(lambda st, x: (lambda m: (m(x, train=train), nnx.state(m)))(nnx.merge(graphdef, st)))
  out, state = fn(state, jnp.asarray(x))
  nnx.update(model, state)
  return np.asarray(out)


def _alpha(name):
  spec = registry.model_spec(name)
  return spec.alpha if spec.num_pathways == 2 else None


PARITY = [
    ("slowfast_r50_8x8", 32, 64),
    ("slowfast_r50_4x16", 32, 64),
    ("i3d_r50", 8, 64),
    ("i3d_nl_r50", 8, 64),
    ("i3d_nl_paper_r50", 8, 64),
    ("slow_r50_8x8", 8, 64),
    ("c2d_r50", 8, 64),
    ("slowfast_r101_8x8", 16, 64),
]


@pytest.mark.parametrize("name,frames,crop", PARITY, ids=[p[0] for p in PARITY])
def test_eval_parity_with_pytorchvideo(name, frames, crop):
  tm, model = _parity_models(name)
  x = np.random.RandomState(0).randn(2, frames, crop, crop, 3).astype(np.float32)
  with torch.no_grad():
    ref = tr.forward(tm.eval(), x, _alpha(name))
  out = _run(model, x, train=False)
  scale = max(1.0, float(np.abs(ref).max()))
  diff = float(np.abs(out - ref).max())
  print(f"parity {name}: max|diff| {diff:.3g}, logit scale {scale:.3g}")
  assert diff <= 1e-4 * scale


TRAIN_PARITY = [("slowfast_r50_4x16", 16, 64), ("i3d_nl_r50", 8, 64)]


@pytest.mark.parametrize("name,frames,crop", TRAIN_PARITY, ids=[p[0] for p in TRAIN_PARITY])
def test_train_mode_parity_with_pytorchvideo(name, frames, crop):
  # Batch statistics (one BN group = the whole batch, as torch) and the running
  # statistics they update, in every BatchNorm including fusion and non-local.
  tm, model = _parity_models(name, seed=1)
  x = np.random.RandomState(1).randn(2, frames, crop, crop, 3).astype(np.float32)
  # Two clips of a few frames make small BN groups deep in the network (and the
  # non-local outputs vary little within a clip), where float32 rounding is
  # amplified: the float64 torch result is the yardstick, and mgjax must be as
  # close to it as torch's own float32 forward (or within 1e-4 of the scale).
  tm64 = copy.deepcopy(tm).double()
  exact = tr.forward(tm64.train(), x.astype(np.float64), _alpha(name))
  ref = tr.forward(tm.train(), x, _alpha(name))
  out = _run(model, x, train=True)
  scale = max(1.0, float(np.abs(exact).max()))
  torch_err = float(np.abs(ref - exact).max())
  diff = float(np.abs(out - exact).max())
  print(
      f"train parity {name}: max|mgjax - f64| {diff:.3g}, max|torch - f64| {torch_err:.3g}, "
      f"max|mgjax - torch| {float(np.abs(out - ref).max()):.3g}, logit scale {scale:.3g}"
  )
  assert diff <= max(1e-4 * scale, 1.5 * torch_err)
  # The running statistics, the same way.
  exact_stats = convert.match(model, convert.canonical_state_dict(tr.state_dict(tm64))[0])
  torch_stats = convert.match(model, convert.canonical_state_dict(tr.state_dict(tm))[0])
  stats = {
      tuple(str(p) for p in path): np.asarray(v[...])
      for path, v in nnx.state(model, nnx.BatchStat).flat_state()
  }
  assert len(stats) > 50
  for path, value in stats.items():
    e, t = exact_stats[path], torch_stats[path]
    tol = max(1e-4 * max(1.0, float(np.abs(e).max())), 1.5 * float(np.abs(t - e).max()))
    assert float(np.abs(value - e).max()) <= tol, "/".join(path)


TINY = dict(width=8, depths=(1, 1, 1, 1), num_classes=5)


def test_tiny_overrides_and_checks():
  model = registry.create_model(
      _model_config("i3d_nl_r50", depths=(1, 2, 2, 1), width=16), rngs=nnx.Rngs(0)
  )
  assert hasattr(model.s3, "pathway0_nonlocal1") and not hasattr(model.s4, "pathway0_nonlocal3")
  assert model.s1.pathway0_stem.conv.kernel.shape == (5, 7, 7, 3, 16)
  # Zero-initialised last BN of each residual branch and of the non-local block.
  assert not np.any(np.asarray(model.s2.pathway0_res0.branch2.c_bn.scale[...]))
  assert not np.any(np.asarray(model.s3.pathway0_nonlocal1.bn.scale[...]))
  sf = registry.create_model(_model_config("slowfast_r50_8x8", **TINY), rngs=nnx.Rngs(0))
  # Names and layouts round-trip: the model's own state in PySlowFast naming loads back.
  sf2 = registry.create_model(_model_config("slowfast_r50_8x8", **TINY), rngs=nnx.Rngs(5))
  convert.load_torch_state_dict(sf2, _flat_torch(sf))
  for a, b in zip(
      jax.tree.leaves(nnx.state(sf, nnx.Param)), jax.tree.leaves(nnx.state(sf2, nnx.Param))
  ):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # zero_init_final_bn=False (the demo) starts every residual branch's last BN at scale 1.
  nz = registry.create_model(
      _model_config("slowfast_r50_8x8", **TINY, zero_init_final_bn=False), rngs=nnx.Rngs(0)
  )
  for stage in (nz.s2, nz.s5):
    for block in (stage.pathway0_res0, stage.pathway1_res0):
      np.testing.assert_array_equal(np.asarray(block.branch2.c_bn.scale[...]), 1.0)
  assert not np.any(np.asarray(sf.s5.pathway1_res0.branch2.c_bn.scale[...]))
  with pytest.raises(ValueError, match="divisible by alpha"):
    sf(jnp.zeros((1, 6, 32, 32, 3)), train=False)
  with pytest.raises(ValueError, match="fast pathway"):
    registry.create_model(_model_config("slowfast_r50_8x8", width=4), rngs=nnx.Rngs(0))


def test_config_check_names_the_field_before_building():
  registry.check_config(config_lib.base().model)
  model = config_lib.base().model
  model.name = "slowfast_r51_8x8"
  with pytest.raises(
      config_lib.ConfigError, match=r"config.model.name: unknown model 'slowfast_r51"
  ):
    registry.check_config(model)
  model.name, model.width = "slowfast_r50_8x8", 4
  with pytest.raises(
      config_lib.ConfigError, match=r"config.model: width 4 leaves the fast pathway"
  ):
    registry.check_config(model)


def _flat_torch(model):
  """The model's state in PySlowFast naming as torch tensors (kernels back to torch layout)."""
  out = {}
  for path, var in nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat)).flat_state():
    value = np.asarray(var[...])
    name, perm = convert.reference_name(tuple(str(p) for p in path), value.ndim)
    out[name] = torch.from_numpy(
        value if perm is None else value.transpose(np.argsort(perm)).copy()
    )
  return out


def test_dropout_only_in_training():
  model = registry.create_model(
      _model_config("c2d_r50", **TINY, dropout_rate=0.5), rngs=nnx.Rngs(0)
  )
  x = jnp.asarray(np.random.RandomState(0).randn(2, 4, 32, 32, 3), jnp.float32)
  run = nnx.jit(lambda m, x, train: m(x, train=train, bn_group_size=2), static_argnums=2)
  e1, e2 = run(model, x, False), run(model, x, False)
  np.testing.assert_array_equal(np.asarray(e1), np.asarray(e2))
  t1, t2 = run(model, x, True), run(model, x, True)  # The dropout stream advances.
  assert not np.allclose(np.asarray(t1), np.asarray(t2))


def test_bfloat16_compute_float32_parameters():
  c32 = _model_config("slowfast_r50_8x8", **TINY)
  c16 = _model_config("slowfast_r50_8x8", **TINY, dtype="bfloat16")
  m32 = registry.create_model(c32, rngs=nnx.Rngs(0))
  m16 = registry.create_model(c16, rngs=nnx.Rngs(0))
  assert all(
      v.dtype == jnp.float32
      for v in jax.tree.leaves(nnx.state(m16, nnx.Any(nnx.Param, nnx.BatchStat)))
  )
  x = jnp.asarray(np.random.RandomState(0).randn(2, 8, 32, 32, 3), jnp.float32)
  graphdef, state = nnx.split(m16)
  jaxpr = jax.make_jaxpr(lambda st, x: nnx.merge(graphdef, st)(x, train=False))(state, x)
  assert "bf16" in str(jaxpr)
  # Randomise BN so the residual branches contribute, then compare with float32.
  for m in (m32, m16):
    for path, v in nnx.state(m, nnx.Param).flat_state():
      if path[-1] == "scale":
        v.set_value(jnp.full(v.shape, 0.5, jnp.float32))
  o32, o16 = _run(m32, x, train=False), _run(m16, x, train=False)
  assert o16.dtype == np.float32
  assert np.abs(o16 - o32).max() <= 0.05 * max(1e-3, np.abs(o32).max())


def test_jitted_train_step_on_sharded_batch_decreases_loss():
  mesh = jax.make_mesh((8,), ("data",))
  model = registry.create_model(
      _model_config("slowfast_r50_8x8", **TINY, dropout_rate=0.0), rngs=nnx.Rngs(0)
  )
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  params, rest = nnx.to_pure_dict(params), nnx.to_pure_dict(rest)
  tx = optax.sgd(0.05, momentum=0.9)
  rng = np.random.RandomState(0)
  x = rng.randn(16, 8, 32, 32, 3).astype(np.float32)
  y = rng.randint(0, 5, 16)

  def step(params, rest, opt_state, x, y):
    def loss_fn(params):
      m = nnx.merge(graphdef, nnx.State(params), nnx.State(rest))
      logits = m(x, train=True, bn_group_size=4)  # groups of 4 span 2 devices (2 clips each)
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
      return loss, nnx.to_pure_dict(nnx.state(m, nnx.Not(nnx.Param)))

    (loss, rest), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), rest, opt_state, loss

  with jax.sharding.set_mesh(mesh):
    replicated = NamedSharding(mesh, P())
    params, rest = jax.device_put((params, rest), replicated)
    opt_state = jax.device_put(tx.init(params), replicated)
    xs = jax.device_put(x, NamedSharding(mesh, P("data")))
    ys = jax.device_put(y, NamedSharding(mesh, P("data")))
    jstep = jax.jit(step, donate_argnums=(0, 1, 2))
    losses = []
    for _ in range(6):
      params, rest, opt_state, loss = jstep(params, rest, opt_state, xs, ys)
      losses.append(float(loss))
  assert all(np.isfinite(losses))
  assert losses[-1] < 0.8 * losses[0], losses


def test_report_costs_every_plan_shape(capsys):
  config = config_lib.base()
  with config.unlocked():
    for k, v in TINY.items():
      config.model[k] = v
  config.model.name = "slowfast_r50_8x8"
  config.multigrid.short_cycle = False  # 4 shapes (8 with the short cycle): fewer compilations
  out = summary.plan_report(config)
  from mgjax import multigrid  # pylint: disable=g-import-not-at-top

  shapes = multigrid.Plan.from_config(config).distinct_shapes()
  for b, t, s in shapes:
    assert f"{b}x{t}x{s}²" in out
  # FLOPs grow with T·S² (the fixed part is the classifier).
  small = summary.clip_cost(config.model, 8, 158).flops  # Cached by plan_report.
  big = summary.clip_cost(config.model, 32, 224).flops
  assert 7 < big / small < 9  # T·S² ratio 8.04
  line = summary.model_report(_model_config("c2d_r50", **TINY), 8, [64], 2)
  assert "2x8x64²" in line and "parameters" in line


def _res5_sizes(model_config, batch: int, frames: int, crop: int) -> set[int]:
  """Spatial sides of every pathway's res5 map for one input shape (from jax.eval_shape)."""
  graphdef, state = nnx.split(summary.abstract_model(model_config))
  out = jax.eval_shape(
      lambda st, x: nnx.merge(graphdef, st).features(x, train=False),
      state,
      jax.ShapeDtypeStruct((batch, frames, crop, crop, 3), jnp.float32),
  )
  assert all(o.shape[2] == o.shape[3] for o in out)
  return {o.shape[2] for o in out}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"stem_pool": False},
        {"stem_pool": False, "spatial_strides": (1, 2, 2, 1)},
        {"stem_stride": 1, "spatial_strides": (1, 2, 1, 2)},
    ],
)
def test_stride_options_change_the_maps_not_the_parameters(overrides):
  """The small-crop stride options keep every parameter (a checkpoint loads across them)
  and `ArchSpec.res5_size` predicts the res5 map that the network computes."""
  tiny = dict(width=8, depths=(1, 1, 1, 1))
  base = _model_config("slowfast_r50_8x8", **tiny)
  model_config = _model_config("slowfast_r50_8x8", **tiny, **overrides)
  count = lambda c: sum(
      x.size for x in jax.tree.leaves(nnx.state(summary.abstract_model(c), nnx.Param))
  )
  assert count(model_config) == count(base)
  spec = registry.arch_from_config(model_config)
  for crop in (16, 23, 32, 37, 64):
    assert _res5_sizes(model_config, 2, 8, crop) == {spec.res5_size(crop)}, (overrides, crop)
  assert spec.res5_size(224) == -(-224 // spec.total_stride)


# The res5 maps (at the plan's smallest crop, at the base crop) each small-scale setting
# keeps. The paper's res5 is 4×4 at its smallest crop (112 px) and 7×7 at its base crop
# (224). The demo and the benchmark's settings, total stride 8 (with or without the stem's
# max-pool), keep 2×2 and 4×4: with 1×1 maps (the paper's stride 32 at 16 and 32 px, kept
# by the former demo, configs/demo_stride32.py) long + short's first segment, whose shapes
# pair the short cycle's 16-px crop with the long cycle's 8 frames, learns little
# (RESULTS.md §0). Every map must still exist at every plan shape.
@pytest.mark.parametrize(
    "config_file,min_smallest,min_base",
    [
        ("configs/demo.py", 2, 4),
        ("configs/demo_stride32.py", 1, 1),
        ("configs/demo_stride8.py", 2, 4),
        ("configs/demo_stride8_pool.py", 2, 4),
    ],
)
def test_small_scale_config_keeps_res5_maps_at_every_plan_shape(
    config_file, min_smallest, min_base
):
  from conftest import load_config  # pylint: disable=g-import-not-at-top
  from mgjax import multigrid  # pylint: disable=g-import-not-at-top

  config = load_config(config_file)
  table = multigrid.Plan.from_config(config).step_table()
  smallest = int(table["crop_size"].min())
  assert smallest < config.data.crop_size  # The short cycle's smallest crop.
  frames = int(table["num_frames"][table["crop_size"].argmin()])
  assert min(_res5_sizes(config.model, 2, frames, smallest)) >= min_smallest
  base = _res5_sizes(config.model, 2, config.data.num_frames, config.data.crop_size)
  assert min(base) >= min_base


@pytest.mark.parametrize("name", registry.MODEL_NAMES)
def test_every_convolution_of_every_model_has_a_cpu_form(name):
  """On CPU no convolution of the networks is left to XLA's 3-D convolution."""
  convs = [m for _, m in nnx.iter_graph(_abstract(name)) if isinstance(m, nnx.Conv)]
  assert len(convs) >= 50
  for conv in convs:
    assert layers.cpu_form(conv.kernel.shape, conv.strides) != "xla", (
        conv.kernel.shape,
        conv.strides,
    )
  # `summary.convolutions`, which the benchmark times, sees the same kernels in a forward pass.
  if name == "slowfast_r50_8x8":
    traced = summary.convolutions(_model_config(name), 1, 8, 64, 1)
    assert sorted(k for _, k, _, n in traced for _ in range(n)) == sorted(
        tuple(int(d) for d in c.kernel.shape) for c in convs
    )


def test_cpu_form_fields_are_part_of_the_program():
  """`model.stem_im2col` and `model.factorized_conv` decide, through the model's graph,
  which convolutions lower to XLA's convolution on CPU: no global read at trace time.
  Both paths compute the same logits and the model report's FLOPs do not move."""
  ops, logits = {}, {}
  x = jnp.asarray(np.random.RandomState(0).randn(2, 8, 32, 32, 3).astype(np.float32))
  for stem, rest in ((False, False), (True, False), (False, True), (True, True)):
    model_config = _model_config("slowfast_r50_8x8", **TINY, stem_im2col=stem, factorized_conv=rest)
    graphdef, state = nnx.split(registry.create_model(model_config, rngs=nnx.Rngs(0)))
    forward = jax.jit(lambda st, v, g=graphdef: nnx.merge(g, st)(v, train=False))
    hlo = forward.lower(state, x).as_text()
    ops[stem, rest] = hlo.count("->[b, 0, 1, 2, f]")
    logits[stem, rest] = np.asarray(forward(state, x))
    assert (
        summary.clip_cost(model_config, 8, 32).flops
        == summary.clip_cost(_model_config("slowfast_r50_8x8", **TINY), 8, 32).flops
    )
  # 3-D convolutions: 2 stems + 4 fusions + 2 x 4 blocks x (3 convs, 1 projection).
  assert ops[False, False] == 38, ops
  assert ops[True, False] == 36 and ops[False, True] == 2 and ops[True, True] == 0, ops
  for v in logits.values():
    np.testing.assert_allclose(v, logits[False, False], rtol=0, atol=1e-5)


def test_cpu_forms_train_gradients_as_exact_as_xla_convolutions():
  """A whole model's train-mode logits and every parameter's gradient, on the CPU forms
  and on XLA's convolutions, against torch's float64: the forms are as close to the
  exact gradients as the convolutions (their float32 rounding differs, and BatchNorm over
  a few clips amplifies rounding; the yardstick is the float64 result: each gradient
  within 1e-4 of its norm or twice the convolutions' error)."""
  # SlowFast has every kernel family but the non-local blocks' 1x1x1 (with a bias; the
  # parity tests cover them): both stems, strided 1x3x3 and 1x1x1, 3x1x1 and the fusion.
  name, frames = "slowfast_r50_8x8", 16
  tm = tr.randomize_(
      tr.build(name, num_classes=10, dropout_rate=0.0, any_size=True, width=8), seed=2
  )
  x = np.random.RandomState(3).randn(4, frames, 32, 32, 3).astype(np.float32)
  probe = np.random.RandomState(4).randn(4, 10)
  tm64 = copy.deepcopy(tm).double().train()
  t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3))).double()
  alpha = _alpha(name)
  if alpha:
    t = [torch.index_select(t, 2, torch.linspace(0, frames - 1, frames // alpha).long()), t]
  exact_logits = tm64(t)
  (exact_logits * torch.from_numpy(probe)).sum().backward()
  # The gradients in the state dict's names (`tr.state_dict` renames non-local blocks).
  with torch.no_grad():
    for p in tm64.parameters():
      p.copy_(p.grad)
  grads64 = tr.state_dict(tm64)
  logits, grads = {}, {}
  for forms in (False, True):
    model = convert.create_from_checkpoint(
        _model_config(name, num_classes=10, dropout_rate=0.0, width=8, factorized_conv=forms),
        tr.state_dict(tm),
    )
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    rest = nnx.to_pure_dict(rest)

    def loss(params, rest=rest, graphdef=graphdef):
      m = nnx.merge(graphdef, nnx.State(params), nnx.State(rest))
      out = m(jnp.asarray(x), train=True)
      return jnp.sum(out * probe.astype(np.float32)), out

    (_, out), g = jax.jit(jax.value_and_grad(loss, has_aux=True))(nnx.to_pure_dict(params))
    logits[forms] = np.asarray(out)
    grads[forms] = {
        tuple(str(k.key) for k in path): np.asarray(v)
        for path, v in jax.tree_util.tree_flatten_with_path(g)[0]
    }
  exact = convert.match(model, convert.canonical_state_dict(grads64)[0], strict=False)
  exact = {path: v for path, v in exact.items() if path in grads[True]}
  assert len(exact) == len(grads[True]) > 100
  exact_logits = exact_logits.detach().numpy()
  errors = {f: np.abs(logits[f] - exact_logits).max() for f in logits}
  assert errors[True] <= max(1e-5, 1.5 * errors[False]), errors
  for path, e in exact.items():
    norm = np.linalg.norm(e)
    err = {f: np.linalg.norm(grads[f][path] - e) for f in grads}
    assert err[True] <= max(1e-4 * norm, 2 * err[False]), ("/".join(path), err, norm)
