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
"""Tests of mgjax.models.convert: PyTorchVideo / PySlowFast / Caffe2 checkpoints.

Checkpoints are written by the tests from randomised PyTorchVideo models (narrow
ones, width 16, so files stay small), in each format's naming, and the converted
mgjax model must give the torch model's logits.
"""

import functools
import os
import pickle
import re

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
import torch
from flax import nnx

import torch_reference as tr  # tests/ helper; installs the torchvision stand-in
from mgjax import config as config_lib
from mgjax.models import convert
from mgjax.models import registry

torch.set_num_threads(2)
WIDTH = 16
CLASSES = 7


def _config(name, **kw):
  c = config_lib.base().model
  c.name, c.width, c.num_classes, c.dropout_rate = name, WIDTH, CLASSES, 0.0
  for k, v in kw.items():
    c[k] = v
  return c


@functools.lru_cache(maxsize=None)
def _torch_model(name, seed=0):
  return tr.randomize_(
      tr.build(name, num_classes=CLASSES, dropout_rate=0.0, any_size=True, width=WIDTH), seed
  ).eval()


@functools.lru_cache(maxsize=None)
def _clip(name):
  frames = 16 if name.startswith("slowfast") else 8
  return np.random.RandomState(0).randn(2, frames, 48, 48, 3).astype(np.float32)


def _alpha(name):
  spec = registry.model_spec(name)
  return spec.alpha if spec.num_pathways == 2 else None


@functools.lru_cache(maxsize=None)
def _torch_logits(name):
  with torch.no_grad():
    return tr.forward(_torch_model(name), _clip(name), _alpha(name))


def _logits(model, name):
  graphdef, state = nnx.split(model)
  fn = jax.jit(lambda st, x: nnx.merge(graphdef, st)(x, train=False))
  return np.asarray(fn(state, jnp.asarray(_clip(name))))


def _assert_parity(model, name):
  ref = _torch_logits(name)
  np.testing.assert_allclose(_logits(model, name), ref, atol=1e-4 * max(1.0, np.abs(ref).max()))


def _pyslowfast_names(name):
  """The torch model's tensors in PySlowFast naming (as numpy arrays)."""
  sd, unknown = convert.canonical_state_dict(tr.state_dict(_torch_model(name)))
  assert not unknown
  return sd


_C2_BN = {"weight": "s", "bias": "b", "running_mean": "rm", "running_var": "riv"}
_C2_P = {"weight": "w", "bias": "b"}


def _caffe2_name(name, depths):
  """PySlowFast name → the Caffe2 blob name of the PySlowFast zoo (test-side inverse)."""
  rules = [
      (r"head\.projection\.(weight|bias)", lambda m: f"pred_{_C2_P[m[1]]}"),
      (
          r"s(\d)\.pathway0_nonlocal(\d+)\.conv_(\w+)\.(weight|bias)",
          lambda m: f"nonlocal_conv{m[1]}_{m[2]}_{m[3]}_{_C2_P[m[4]]}",
      ),
      (
          r"s(\d)\.pathway0_nonlocal(\d+)\.bn\.(\w+)",
          lambda m: f"nonlocal_conv{m[1]}_{m[2]}_bn_{_C2_BN[m[3]]}",
      ),
      (r"s1_fuse\.conv_f2s\.(weight)", lambda m: "t_pool1_subsample_w"),
      (r"s1_fuse\.bn\.(\w+)", lambda m: f"t_pool1_subsample_bn_{_C2_BN[m[1]]}"),
      (
          r"s(\d)_fuse\.conv_f2s\.weight",
          lambda m: f"t_res{m[1]}_{depths[int(m[1]) - 2] - 1}_branch2c_bn_subsample_w",
      ),
      (
          r"s(\d)_fuse\.bn\.(\w+)",
          lambda m: f"t_res{m[1]}_{depths[int(m[1]) - 2] - 1}_branch2c_bn_subsample_bn_{_C2_BN[m[2]]}",
      ),
      (
          r"s(\d)\.pathway(\d)_res(\d+)\.branch2\.([abc])\.weight",
          lambda m: f"{'t_' if m[2] == '1' else ''}res{m[1]}_{m[3]}_branch2{m[4]}_w",
      ),
      (
          r"s(\d)\.pathway(\d)_res(\d+)\.branch2\.([abc])_bn\.(\w+)",
          lambda m: f"{'t_' if m[2] == '1' else ''}res{m[1]}_{m[3]}_branch2{m[4]}_bn_{_C2_BN[m[5]]}",
      ),
      (
          r"s(\d)\.pathway(\d)_res(\d+)\.branch1\.weight",
          lambda m: f"{'t_' if m[2] == '1' else ''}res{m[1]}_{m[3]}_branch1_w",
      ),
      (
          r"s(\d)\.pathway(\d)_res(\d+)\.branch1_bn\.(\w+)",
          lambda m: f"{'t_' if m[2] == '1' else ''}res{m[1]}_{m[3]}_branch1_bn_{_C2_BN[m[4]]}",
      ),
      (r"s1\.pathway(\d)_stem\.conv\.weight", lambda m: f"{'t_' if m[1] == '1' else ''}conv1_w"),
      (
          r"s1\.pathway(\d)_stem\.bn\.(\w+)",
          lambda m: f"{'t_' if m[1] == '1' else ''}res_conv1_bn_{_C2_BN[m[2]]}",
      ),
  ]
  for pattern, fn in rules:
    if m := re.fullmatch(pattern, name):
      return fn(m)
  raise KeyError(name)


def test_caffe2_names():
  cases = {
      "conv1_w": "s1.pathway0_stem.conv.weight",
      "t_conv1_w": "s1.pathway1_stem.conv.weight",
      "res_conv1_bn_s": "s1.pathway0_stem.bn.weight",
      "t_res_conv1_bn_riv": "s1.pathway1_stem.bn.running_var",
      "res2_0_branch2a_w": "s2.pathway0_res0.branch2.a.weight",
      "res4_5_branch2c_bn_b": "s4.pathway0_res5.branch2.c_bn.bias",
      "t_res3_0_branch1_bn_rm": "s3.pathway1_res0.branch1_bn.running_mean",
      "t_pool1_subsample_w": "s1_fuse.conv_f2s.weight",
      "t_pool1_subsample_bn_s": "s1_fuse.bn.weight",
      "t_res4_5_branch2c_bn_subsample_bn_rm": "s4_fuse.bn.running_mean",
      "t_res2_2_branch2c_bn_subsample_w": "s2_fuse.conv_f2s.weight",
      "nonlocal_conv3_1_theta_w": "s3.pathway0_nonlocal1.conv_theta.weight",
      "nonlocal_conv4_5_out_b": "s4.pathway0_nonlocal5.conv_out.bias",
      "nonlocal_conv4_3_bn_s": "s4.pathway0_nonlocal3.bn.weight",
      "pred_w": "head.projection.weight",
  }
  for c2, ref in cases.items():
    assert convert.caffe2_name(c2) == ref, c2
  for ignored in ("conv1_w_momentum", "lr", "model_iter", "pred_b_momentum"):
    assert convert.caffe2_name(ignored) is None


@pytest.mark.parametrize("name", ["slowfast_r50_8x8", "i3d_nl_r50"])
def test_pytorchvideo_pyth(tmp_path, name):
  # A PyTorchVideo hub checkpoint: {"model_state": state dict with blocks.N keys}.
  path = str(tmp_path / "ptv.pyth")
  torch.save({"model_state": tr.state_dict(_torch_model(name)), "epoch": 3}, path)
  model = registry.create_model(_config(name), rngs=nnx.Rngs(0))
  state = convert.convert_file(path, model)
  assert isinstance(state, nnx.State)
  _assert_parity(model, name)
  # The same without random initialisation.
  _assert_parity(convert.create_from_checkpoint(_config(name), path), name)


def test_pyslowfast_pyth_with_sub_bn_and_ddp_prefix(tmp_path):
  # PySlowFast names, as saved from a DistributedDataParallel model with sub-BN
  # layers (2 splits): X.weight/bias at the sub-BN level, X.bn.running_* for
  # evaluation, X.split_bn.running_* per split.
  name = "slowfast_r50_8x8"
  sd = _pyslowfast_names(name)
  sub = {}
  rng = np.random.RandomState(0)
  for k, v in sd.items():
    if m := re.fullmatch(r"(.+)\.running_(mean|var)", k):
      x, stat = m[1], m[2]
      sub[f"{x}.bn.running_{stat}"] = v
      sub[f"{x}.split_bn.running_{stat}"] = np.concatenate([v, v]) + rng.rand(2 * v.size)
      sub[f"{x}.bn.num_batches_tracked"] = np.array(5)
      sub[f"{x}.split_bn.num_batches_tracked"] = np.array(5)
    else:
      sub[k] = v
  assert any(".bn.bn.running_mean" in k for k in sub)  # e.g. the stem's BN, itself named "bn"
  path = str(tmp_path / "pyslowfast.pyth")
  torch.save(
      {
          "model_state": {"module." + k: torch.from_numpy(np.asarray(v)) for k, v in sub.items()},
          "optimizer_state": {},
          "epoch": 10,
          "cfg": "...",
      },
      path,
  )
  model = registry.create_model(_config(name), rngs=nnx.Rngs(1))
  convert.convert_file(path, model)
  _assert_parity(model, name)


def test_sub_bn_split_statistics_are_aggregated():
  means = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)  # 2 splits × 2 channels
  vars_ = np.array([[1.0, 1.0], [3.0, 5.0]], np.float32)
  sd = {
      "s1.pathway0_stem.bn.weight": np.ones(2),
      "s1.pathway0_stem.bn.bias": np.zeros(2),
      "s1.pathway0_stem.bn.split_bn.running_mean": means.reshape(-1),
      "s1.pathway0_stem.bn.split_bn.running_var": vars_.reshape(-1),
  }
  out, _ = convert.canonical_state_dict(sd)
  np.testing.assert_allclose(out["s1.pathway0_stem.bn.running_mean"], [2.0, 4.0])
  np.testing.assert_allclose(out["s1.pathway0_stem.bn.running_var"], [2.0 + 1.0, 3.0 + 4.0])
  assert not any("split_bn" in k for k in out)


@pytest.mark.parametrize("name", ["slowfast_r50_4x16", "i3d_nl_r50"])
def test_caffe2_pkl(tmp_path, name):
  depths = registry.model_spec(name).arch.depths
  blobs = {_caffe2_name(k, depths): np.asarray(v) for k, v in _pyslowfast_names(name).items()}
  blobs.update({"conv1_w_momentum": np.zeros(3), "lr": np.array(0.1), "model_iter": np.array(7)})
  path = str(tmp_path / "c2.pkl")
  with open(path, "wb") as f:
    pickle.dump({"blobs": blobs}, f, protocol=2)  # the zoo's files are Python 2 pickles
  model = registry.create_model(_config(name), rngs=nnx.Rngs(0))
  convert.convert_file(path, model)
  _assert_parity(model, name)


def test_caffe2_pickle_of_anything_else_is_refused(tmp_path):
  path = str(tmp_path / "evil.pkl")
  with open(path, "wb") as f:
    pickle.dump({"blobs": {"conv1_w": os.getcwd}}, f, protocol=2)
  with pytest.raises(pickle.UnpicklingError, match="refusing"):
    convert.read_caffe2(path)


def test_mismatches_are_listed():
  model = nnx.eval_shape(
      lambda: registry.create_model(_config("slowfast_r50_8x8"), rngs=nnx.Rngs(0))
  )
  sd_4x16 = _pyslowfast_names("slowfast_r50_4x16")  # fusion kernel 5 instead of 7
  with pytest.raises(convert.ConversionError) as e:
    convert.match(model, sd_4x16)
  msg = str(e.value)
  assert (
      "mis-shaped" in msg
      and "s1_fuse.conv_f2s.weight: checkpoint (4, 2, 5, 1, 1), model (4, 2, 7, 1, 1)" in msg
  )
  sd = dict(_pyslowfast_names("slowfast_r50_8x8"))
  del sd["s3.pathway1_res2.branch2.b.weight"]
  sd["s9.pathway0_res0.branch2.a.weight"] = np.zeros(3)
  with pytest.raises(convert.ConversionError) as e:
    convert.match(model, sd)
  msg = str(e.value)
  assert "missing from the checkpoint (1)" in msg and "s3.pathway1_res2.branch2.b.weight" in msg
  assert "unexpected in the checkpoint (1)" in msg and "s9.pathway0_res0.branch2.a.weight" in msg
  # An I3D checkpoint does not fit a Slow model: conv1 and several blocks differ.
  slow = nnx.eval_shape(lambda: registry.create_model(_config("slow_r50_8x8"), rngs=nnx.Rngs(0)))
  with pytest.raises(convert.ConversionError, match="s1.pathway0_stem.conv.weight"):
    convert.match(slow, _pyslowfast_names("i3d_r50"))


def test_other_number_of_classes(tmp_path):
  name = "slowfast_r50_8x8"
  model = registry.create_model(_config(name, num_classes=11), rngs=nnx.Rngs(0))
  with pytest.raises(convert.ConversionError, match="skip_head"):
    convert.load_torch_state_dict(model, tr.state_dict(_torch_model(name)))
  head = np.asarray(model.head.projection.kernel[...])
  convert.load_torch_state_dict(model, tr.state_dict(_torch_model(name)), skip_head=True)
  np.testing.assert_array_equal(np.asarray(model.head.projection.kernel[...]), head)
  stem = _pyslowfast_names(name)["s1.pathway0_stem.conv.weight"].transpose(2, 3, 4, 1, 0)
  np.testing.assert_array_equal(np.asarray(model.s1.pathway0_stem.conv.kernel[...]), stem)
  # For train.init_from: a classifier of another size is left out, the rest kept.
  path = str(tmp_path / "ptv.pyth")
  torch.save({"model_state": tr.state_dict(_torch_model(name))}, path)
  pure = convert.convert_file_to_pure(path, _config(name, num_classes=11))
  assert "head" not in pure["params"] and "s5" in pure["params"]
  assert "mean" in pure["batch_stats"]["s1"]["pathway0_stem"]["bn"]
  params = convert.convert_file_to_params(path, _config(name))
  assert params["head"]["projection"]["kernel"].shape == (WIDTH * 32 + WIDTH * 4, CLASSES)


def test_cli_saves_orbax_state_that_restores(tmp_path, capsys):
  name = "i3d_nl_r50"
  src = str(tmp_path / "i3d.pyth")
  torch.save({"model_state": tr.state_dict(_torch_model(name))}, src)
  out = convert.main(
      ["--model", name, "--input", src, "--output", str(tmp_path / "out"), "--width", str(WIDTH)]
  )
  assert "converted" in capsys.readouterr().out
  model = registry.create_model(_config(name), rngs=nnx.Rngs(3))
  convert.restore_state(out, model)
  _assert_parity(model, name)
  # The layout train.init_from reads: "params" like the model's pure Param tree.
  restored = ocp.StandardCheckpointer().restore(out)
  expected = nnx.to_pure_dict(nnx.state(model, nnx.Param))
  assert jax.tree.structure(restored["params"]) == jax.tree.structure(expected)
  assert set(restored) == {"params", "batch_stats"}
  with pytest.raises(SystemExit, match="does not fit"):
    convert.main(
        [
            "--model",
            "slow_r50_8x8",
            "--input",
            src,
            "--output",
            str(tmp_path / "o2"),
            "--width",
            str(WIDTH),
        ]
    )
