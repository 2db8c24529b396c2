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
"""Converts reference checkpoints (PyTorchVideo, PySlowFast, Caffe2) to mgjax state.

Three formats are read, all mapped first onto one naming, PySlowFast's
(`s1.pathway0_stem.conv.weight`, `s2.pathway1_res0.branch2.a_bn.running_mean`,
`s1_fuse.conv_f2s.weight`, `s3.pathway0_nonlocal1.conv_theta.bias`,
`head.projection.weight`), which mgjax's module tree mirrors:

- PyTorchVideo hub `.pyth` (`model_state` with `blocks.N...` keys, also with the
  `model.` prefix of PySlowFast's PTV wrappers);
- PySlowFast `.pyth` (`model_state` with `s1...s5/head` keys), including sub-BN
  buffers (`bn.bn.running_mean`, `bn.split_bn.running_mean`), which are folded
  back into one BN the way the reference does before evaluation;
- PySlowFast's Caffe2 `.pkl` zoo files (`blobs` with names like
  `res2_0_branch2a_w`, `res_conv1_bn_s`, `t_pool1_subsample_w`, `pred_w`), read
  with an unpickler that only admits numpy arrays.

Layouts: torch conv weights [out, in, t, h, w] become NNX kernels [t, h, w, in,
out]; linear weights [out, in] become [in, out]; BN weight/bias/running_mean/
running_var become scale/bias/mean/var.

A checkpoint that does not fit the model is refused with the list of missing,
unexpected and mis-shaped tensors. CLI:

  python -m mgjax.models.convert --model slowfast_r50_8x8 --input SLOWFAST_8x8_R50.pyth \
      --output /tmp/sf_r50_8x8

The output directory is an orbax checkpoint {"params": ..., "batch_stats": ...}
of pure dicts (`nnx.to_pure_dict` layout), restored with `restore_state` or,
for `train.init_from`, by `mgjax.checkpointing.restore_weights`.

Python API: `read_checkpoint(path)`, `load_torch_state_dict(model, state_dict)`,
`convert_file(path, model) -> nnx.State`, `convert_file_to_pure(path,
config.model)` / `convert_file_to_params(...)` (no model initialisation; a
classifier with another number of classes is left out so the caller keeps a
fresh one), `save_state` / `restore_state`.
"""

from __future__ import annotations

import argparse
import io
import os
import pickle
import re
from typing import Any, Iterable, Mapping

import jax
import jax.numpy as jnp
from flax import nnx
import numpy as np

from mgjax import config as config_lib
from mgjax.models import registry

HEAD_PREFIX = "head."

_BN_LEAVES = {"scale": "weight", "bias": "bias", "mean": "running_mean", "var": "running_var"}


class ConversionError(ValueError):
  """The checkpoint does not match the model; the message lists the differences."""


# --------------------------------------------------------------------------------------
# Reading checkpoints into PySlowFast naming.
# --------------------------------------------------------------------------------------


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Unpickles Caffe2 blob dicts while refusing anything but numpy arrays and
  plain containers (a pickle can otherwise run arbitrary code)."""

  _ALLOWED = {
      ("numpy.core.multiarray", "_reconstruct"),
      ("numpy._core.multiarray", "_reconstruct"),
      ("numpy.core.multiarray", "scalar"),
      ("numpy._core.multiarray", "scalar"),
      ("numpy.core.numeric", "_frombuffer"),
      ("numpy._core.numeric", "_frombuffer"),
      ("numpy", "ndarray"),
      ("numpy", "dtype"),
      ("collections", "OrderedDict"),
      ("copy_reg", "_reconstructor"),
      ("copyreg", "_reconstructor"),
      ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
      ("__builtin__", "object"),
      ("builtins", "object"),
  }

  def find_class(self, module, name):
    if (module, name) in self._ALLOWED:
      return super().find_class(module, name)
    raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name} from a Caffe2 checkpoint")


_C2_BN = {"s": "weight", "b": "bias", "rm": "running_mean", "riv": "running_var"}
_C2_PARAM = {"w": "weight", "b": "bias"}
_C2_IGNORED = re.compile(r".*(_momentum|_lr|model_iter|^lr)$|^(lr|model_iter)$")


def caffe2_name(name: str) -> str | None:
  """Maps a Caffe2 blob name of the PySlowFast zoo to PySlowFast naming.

  Args:
    name: e.g. "res2_0_branch2a_w", "t_res3_3_branch2c_bn_subsample_bn_rm".

  Returns:
    The PySlowFast tensor name, or None when the blob is not a model tensor
    (optimizer momenta, learning rate, iteration counter) or is unknown.
  """
  rules = [
      (r"pred_(w|b)", lambda m: f"head.projection.{_C2_PARAM[m[1]]}"),
      (
          r"nonlocal_conv(\d+)_(\d+)_(theta|phi|g|out)_(w|b)",
          lambda m: f"s{m[1]}.pathway0_nonlocal{m[2]}.conv_{m[3]}.{_C2_PARAM[m[4]]}",
      ),
      (
          r"nonlocal_conv(\d+)_(\d+)_bn_(s|b|rm|riv)",
          lambda m: f"s{m[1]}.pathway0_nonlocal{m[2]}.bn.{_C2_BN[m[3]]}",
      ),
      (r"t_pool1_subsample_(w|b)", lambda m: f"s1_fuse.conv_f2s.{_C2_PARAM[m[1]]}"),
      (r"t_pool1_subsample_bn_(s|b|rm|riv)", lambda m: f"s1_fuse.bn.{_C2_BN[m[1]]}"),
      (
          r"t_res(\d+)_\d+_branch2c_bn_subsample_(w|b)",
          lambda m: f"s{m[1]}_fuse.conv_f2s.{_C2_PARAM[m[2]]}",
      ),
      (
          r"t_res(\d+)_\d+_branch2c_bn_subsample_bn_(s|b|rm|riv)",
          lambda m: f"s{m[1]}_fuse.bn.{_C2_BN[m[2]]}",
      ),
      (
          r"(t_)?res(\d+)_(\d+)_branch2([abc])_(w|b)",
          lambda m: f"s{m[2]}.pathway{int(bool(m[1]))}_res{m[3]}.branch2.{m[4]}.{_C2_PARAM[m[5]]}",
      ),
      (
          r"(t_)?res(\d+)_(\d+)_branch2([abc])_bn_(s|b|rm|riv)",
          lambda m: f"s{m[2]}.pathway{int(bool(m[1]))}_res{m[3]}.branch2.{m[4]}_bn.{_C2_BN[m[5]]}",
      ),
      (
          r"(t_)?res(\d+)_(\d+)_branch1_(w|b)",
          lambda m: f"s{m[2]}.pathway{int(bool(m[1]))}_res{m[3]}.branch1.{_C2_PARAM[m[4]]}",
      ),
      (
          r"(t_)?res(\d+)_(\d+)_branch1_bn_(s|b|rm|riv)",
          lambda m: f"s{m[2]}.pathway{int(bool(m[1]))}_res{m[3]}.branch1_bn.{_C2_BN[m[4]]}",
      ),
      (
          r"(t_)?(?:res_)?conv1_(w|b)",
          lambda m: f"s1.pathway{int(bool(m[1]))}_stem.conv.{_C2_PARAM[m[2]]}",
      ),
      (
          r"(t_)?res_conv1_bn_(s|b|rm|riv)",
          lambda m: f"s1.pathway{int(bool(m[1]))}_stem.bn.{_C2_BN[m[2]]}",
      ),
  ]
  for pattern, fn in rules:
    m = re.fullmatch(pattern, name)
    if m:
      return fn(m)
  return None


_PTV_BRANCH = {
    "branch1_conv": "branch1",
    "branch1_norm": "branch1_bn",
    "branch2.conv_a": "branch2.a",
    "branch2.norm_a": "branch2.a_bn",
    "branch2.conv_b": "branch2.b",
    "branch2.norm_b": "branch2.b_bn",
    "branch2.conv_c": "branch2.c",
    "branch2.norm_c": "branch2.c_bn",
}


def _ptv_block(rest: str) -> str | None:
  """`branch2.conv_a.weight` → `branch2.a.weight` (PyTorchVideo → PySlowFast)."""
  for src, dst in _PTV_BRANCH.items():
    if rest.startswith(src + "."):
      return dst + rest[len(src) :]
  return None


def _ptv_names(keys: Iterable[str]) -> dict[str, str | None]:
  """Maps PyTorchVideo `blocks.N...` keys to PySlowFast names (None: unknown).

  Single-pathway nets number their blocks stem, res2, [pool,] res3, res4, res5,
  head; the optional parameter-free pool shifts the indices, so stages are
  ranked by index rather than read from it.
  """
  keys = list(keys)
  stage_ids = sorted(
      {int(m[1]) for k in keys if (m := re.match(r"blocks\.(\d+)\.res_blocks\.", k))}
  )
  rank = {b: i + 2 for i, b in enumerate(stage_ids)}
  out = {}
  for k in keys:
    name = None
    if m := re.fullmatch(r"blocks\.0\.multipathway_blocks\.(\d+)\.(conv|norm)\.(\w+)", k):
      name = f"s1.pathway{m[1]}_stem.{'conv' if m[2] == 'conv' else 'bn'}.{m[3]}"
    elif m := re.fullmatch(
        r"blocks\.(\d+)\.multipathway_blocks\.(\d+)\.res_blocks\.(\d+)\.(.+)", k
    ):
      rest = _ptv_block(m[4])
      if rest is not None:
        name = f"s{int(m[1]) + 1}.pathway{m[2]}_res{m[3]}.{rest}"
    elif m := re.fullmatch(
        r"blocks\.(\d+)\.multipathway_fusion\.(conv_fast_to_slow|norm)\.(\w+)", k
    ):
      name = f"s{int(m[1]) + 1}_fuse.{'conv_f2s' if m[2] == 'conv_fast_to_slow' else 'bn'}.{m[3]}"
    elif m := re.fullmatch(r"blocks\.0\.(conv|norm)\.(\w+)", k):
      name = f"s1.pathway0_stem.{'conv' if m[1] == 'conv' else 'bn'}.{m[2]}"
    elif m := re.fullmatch(r"blocks\.(\d+)\.res_blocks\.(\d+)\.(.+)", k):
      rest = _ptv_block(m[3])
      if rest is not None:
        name = f"s{rank[int(m[1])]}.pathway0_res{m[2]}.{rest}"
    elif m := re.fullmatch(r"blocks\.\d+\.proj\.(weight|bias)", k):
      name = f"head.projection.{m[1]}"
    out[k] = name
  return out


def _fold_sub_bn(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Folds PySlowFast sub-BN tensors into plain BN names.

  A SubBatchNorm3d `X` stores its affine parameters as `X.weight`/`X.bias`, the
  evaluation statistics as `X.bn.running_*` and the per-split training
  statistics as `X.split_bn.running_*` (C × splits). The `X.bn` statistics are
  used; where only split statistics exist they are aggregated as the reference
  does (mean of split means; mean of split variances + variance of split means).
  """
  keys = set(sd)
  sub = {k[: -len(".split_bn.running_mean")] for k in keys if k.endswith(".split_bn.running_mean")}
  sub |= {
      m[1]
      for k in keys
      if (m := re.fullmatch(r"(.+)\.bn\.(running_mean|running_var)", k))
      and f"{m[1]}.weight" in keys
      and f"{m[1]}.running_mean" not in keys
  }
  out = {}
  for k, v in sd.items():
    if k.endswith("num_batches_tracked") or ".split_bn." in k:
      continue
    m = re.fullmatch(r"(.+)\.bn\.(running_mean|running_var|weight|bias)", k)
    if m and m[1] in sub:
      target = f"{m[1]}.{m[2]}"
      if target not in keys:  # the SubBN-level affine parameters win over inner ones
        out[target] = v
      continue
    out[k] = v
  for x in sub:
    if f"{x}.running_mean" not in out and f"{x}.split_bn.running_mean" in sd:
      c = out[f"{x}.weight"].shape[0] if f"{x}.weight" in out else None
      means = np.asarray(sd[f"{x}.split_bn.running_mean"]).reshape(-1, c)
      vars_ = np.asarray(sd[f"{x}.split_bn.running_var"]).reshape(-1, c)
      mean = means.mean(0)
      out[f"{x}.running_mean"] = mean
      out[f"{x}.running_var"] = vars_.mean(0) + ((means - mean) ** 2).mean(0)
  return out


def canonical_state_dict(state_dict: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], list[str]]:
  """Maps a torch state dict (PyTorchVideo or PySlowFast naming) to PySlowFast naming.

  Args:
    state_dict: tensor name → torch tensor or numpy array.

  Returns:
    (name → float32 numpy array, names that could not be mapped).
  """
  arrays = {}
  for k, v in state_dict.items():
    while k.startswith(("module.", "model.")):
      k = k.split(".", 1)[1]
    arrays[k] = _to_numpy(v)
  ptv = _ptv_names(k for k in arrays if k.startswith("blocks."))
  out, unknown = {}, []
  for k, v in arrays.items():
    if k.startswith("blocks."):
      name = ptv[k]
      if name is None:
        if not k.endswith("num_batches_tracked"):
          unknown.append(k)
        continue
      k = name
    # Newer PySlowFast names the non-local BN "norm".
    k = re.sub(r"(_nonlocal\d+)\.norm\.", r"\1.bn.", k)
    out[k] = v
  return _fold_sub_bn(out), unknown


def _to_numpy(v: Any) -> np.ndarray:
  if hasattr(v, "detach"):  # a torch tensor; bfloat16 has no numpy dtype
    v = v.detach().cpu()
    if v.is_floating_point():
      v = v.float()
    v = v.numpy()
  # A copy: torch's numpy() shares memory, and JAX on CPU may share it again, so
  # the converted model would see the torch model's later in-place BN updates.
  return np.array(v, copy=True)


def read_caffe2(path: str) -> tuple[dict[str, np.ndarray], list[str]]:
  """Reads a Caffe2 `.pkl` of the PySlowFast zoo into PySlowFast naming.

  Returns:
    (name → array, blob names that are not model tensors and not known
    optimizer / bookkeeping blobs).
  """
  with open(path, "rb") as f:
    data = _NumpyOnlyUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
  blobs = data["blobs"] if isinstance(data, dict) and "blobs" in data else data
  out, unknown = {}, []
  for k, v in blobs.items():
    name = caffe2_name(k)
    if name is None:
      if not _C2_IGNORED.match(k):
        unknown.append(k)
      continue
    out[name] = np.asarray(v)
  return out, unknown


def read_torch(path: str) -> tuple[dict[str, np.ndarray], list[str]]:
  """Reads a `.pyth` / `.pt` checkpoint (needs torch) into PySlowFast naming."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ConversionError(f"reading {path} needs PyTorch (pip install torch)") from e
  ckpt = torch.load(path, map_location="cpu", weights_only=True)
  if isinstance(ckpt, dict):
    for key in ("model_state", "state_dict", "model"):
      if key in ckpt and isinstance(ckpt[key], dict):
        ckpt = ckpt[key]
        break
  return canonical_state_dict(ckpt)


def read_checkpoint(path: str) -> tuple[dict[str, np.ndarray], list[str]]:
  """Reads any supported checkpoint into PySlowFast naming.

  A file whose pickle holds a `blobs` dict is Caffe2; anything else goes to torch.

  Returns:
    (name → array, names that could not be mapped).
  """
  with open(path, "rb") as f:
    head = f.read(4)
  if head[:2] == b"PK":  # torch's zip format
    return read_torch(path)
  try:
    return read_caffe2(path)
  except pickle.UnpicklingError as e:
    raise ConversionError(
        f"{path} is neither a torch checkpoint nor a Caffe2 blob pickle: {e}"
    ) from e
  except (KeyError, TypeError, AttributeError, EOFError, ValueError):
    # Not a {"blobs": ...} dict, e.g. torch's legacy format, whose first pickle
    # is a magic number.
    return read_torch(path)


# --------------------------------------------------------------------------------------
# Mapping onto the model.
# --------------------------------------------------------------------------------------


def reference_name(path: tuple[str, ...], ndim: int) -> tuple[str, tuple[int, ...] | None]:
  """The PySlowFast name of an NNX state leaf and the axis permutation from torch.

  Args:
    path: NNX state path, e.g. ("s2", "pathway0_res0", "branch2", "a", "kernel").
    ndim: rank of the leaf.

  Returns:
    (name, permutation that turns the torch tensor into the leaf, or None).
  """
  module, leaf = ".".join(path[:-1]), path[-1]
  if leaf == "kernel":
    return f"{module}.weight", ((2, 3, 4, 1, 0) if ndim == 5 else (1, 0))
  if leaf in _BN_LEAVES:
    return f"{module}.{_BN_LEAVES[leaf]}", None
  raise KeyError(f"no reference name for state leaf {'/'.join(path)}")


def _variables(model: nnx.Module) -> dict[tuple[str, ...], tuple[str, tuple[int, ...]]]:
  """path → (kind "params" / "batch_stats", shape) of the model's Param and BatchStat leaves."""
  out = {}
  for kind, var_type in (("params", nnx.Param), ("batch_stats", nnx.BatchStat)):
    for path, var in nnx.state(model, var_type).flat_state():
      out[tuple(str(p) for p in path)] = (kind, tuple(var.shape))
  return out


def _fit(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
  """`arr` reshaped to `shape` when they differ only by size-1 axes, else None."""
  if arr.shape == shape:
    return arr
  if arr.size == int(np.prod(shape)) and [d for d in arr.shape if d != 1] == [
      d for d in shape if d != 1
  ]:
    return arr.reshape(shape)
  return None


def _report(title: str, names: list[str], limit: int = 25) -> str:
  if not names:
    return ""
  shown = "\n    ".join(sorted(names)[:limit])
  more = f"\n    ... and {len(names) - limit} more" if len(names) > limit else ""
  return f"\n  {title} ({len(names)}):\n    {shown}{more}"


def match(
    model: nnx.Module,
    sd: Mapping[str, np.ndarray],
    unknown: Iterable[str] = (),
    *,
    skip_head: bool = False,
    strict: bool = True,
) -> dict[tuple[str, ...], np.ndarray]:
  """Matches PySlowFast-named tensors to the model's state leaves.

  Works on abstract models (`nnx.eval_shape`): only shapes are read.

  Args:
    model: the mgjax model.
    sd: PySlowFast name → array (from `read_checkpoint` / `canonical_state_dict`).
    unknown: checkpoint names that could not be mapped (reported as unexpected).
    skip_head: leave the classifier out on both sides.
    strict: refuse unless every model tensor is found and every checkpoint
      tensor used. Mis-shaped tensors are always refused.

  Returns:
    state path → float32 array in the leaf's layout.

  Raises:
    ConversionError: listing missing, unexpected and mis-shaped tensors.
  """
  expected = {}
  for path, (_, shape) in _variables(model).items():
    name, perm = reference_name(path, len(shape))
    if skip_head and name.startswith(HEAD_PREFIX):
      continue
    torch_shape = shape if perm is None else tuple(shape[i] for i in np.argsort(perm))
    expected[name] = (path, perm, torch_shape)
  if skip_head:
    sd = {k: v for k, v in sd.items() if not k.startswith(HEAD_PREFIX)}

  missing = [n for n in expected if n not in sd]
  unexpected = [n for n in sd if n not in expected] + list(unknown)
  misshaped, values = [], {}
  for name, (path, perm, torch_shape) in expected.items():
    if name not in sd:
      continue
    arr = _fit(np.asarray(sd[name]), torch_shape)
    if arr is None:
      misshaped.append(f"{name}: checkpoint {tuple(np.shape(sd[name]))}, model {torch_shape}")
      continue
    values[path] = np.array(arr if perm is None else arr.transpose(perm), np.float32, order="C")
  if misshaped or (strict and (missing or unexpected)):
    hint = ""
    w = sd.get("head.projection.weight")
    head = expected.get("head.projection.weight")
    if w is not None and head is not None and np.shape(w)[0] != head[2][0]:
      hint = (
          f"\n  The checkpoint's classifier has {np.shape(w)[0]} classes, the model "
          f"{head[2][0]}: convert with skip_head (--skip_head) to keep a fresh classifier."
      )
    raise ConversionError(
        f"checkpoint does not match the model: {len(missing)} missing, {len(unexpected)} "
        f"unexpected, {len(misshaped)} mis-shaped tensor(s)"
        + _report("missing from the checkpoint", missing)
        + _report("unexpected in the checkpoint", unexpected)
        + _report("mis-shaped", misshaped)
        + hint
    )
  return values


def _apply(model: nnx.Module, values: Mapping[tuple[str, ...], np.ndarray]) -> nnx.State:
  state = nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat))
  for path, var in state.flat_state():
    key = tuple(str(p) for p in path)
    if key in values:
      var.set_value(jnp.asarray(values[key], var.dtype))
  nnx.update(model, state)
  return nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat))


def load_torch_state_dict(
    model: nnx.Module,
    state_dict: Mapping[str, Any],
    *,
    skip_head: bool = False,
    strict: bool = True,
) -> nnx.State:
  """Loads reference tensors into `model` (in place).

  Args:
    model: a concrete mgjax model (e.g. from `registry.create_model`).
    state_dict: tensor name → torch tensor or array, in PyTorchVideo or PySlowFast
      naming.
    skip_head: keep the model's classifier and ignore the checkpoint's (to
      fine-tune with another number of classes).
    strict: see `match`.

  Returns:
    The model's new Param + BatchStat state.

  Raises:
    ConversionError: listing missing, unexpected and mis-shaped tensors.
  """
  sd, unknown = canonical_state_dict(state_dict)
  return _apply(model, match(model, sd, unknown, skip_head=skip_head, strict=strict))


def convert_file(
    path: str, model: nnx.Module, *, skip_head: bool = False, strict: bool = True
) -> nnx.State:
  """Reads a PyTorchVideo / PySlowFast / Caffe2 checkpoint into `model` (in place).

  Args:
    path: `.pyth` / `.pt` (torch) or `.pkl` (Caffe2) file.
    model: a concrete mgjax model.
    skip_head: keep the model's classifier.
    strict: see `match`.

  Returns:
    The model's new Param + BatchStat state.
  """
  sd, unknown = read_checkpoint(path)
  return _apply(model, match(model, sd, unknown, skip_head=skip_head, strict=strict))


def create_from_checkpoint(
    model_config: Any, source: str | Mapping[str, Any], *, skip_head: bool = False, seed: int = 0
) -> nnx.Module:
  """Builds `config.model` with the weights of a checkpoint, skipping random init.

  Eager construction draws every kernel at random (seconds for an R50, more for
  an R101) only for the values to be overwritten. Here the model is built
  abstractly (`nnx.eval_shape`), the checkpoint fills its parameters and BN
  statistics, and only the leaves it does not cover (the dropout RNG state, the
  classifier with `skip_head`) are initialised, by a jitted construction whose
  other outputs XLA discards as dead code.

  Args:
    model_config: `config.model`.
    source: checkpoint path, or a state dict (PyTorchVideo / PySlowFast names).
    skip_head: initialise the classifier instead of loading it.
    seed: seed of the `nnx.Rngs` for the initialised leaves.

  Returns:
    The concrete model.

  Raises:
    ConversionError: when the checkpoint does not match.
  """
  sd, unknown = read_checkpoint(source) if isinstance(source, str) else canonical_state_dict(source)
  create = lambda: registry.create_model(model_config, rngs=nnx.Rngs(seed))
  abstract = nnx.eval_shape(create)
  values = match(abstract, sd, unknown, skip_head=skip_head)
  graphdef, state = nnx.split(abstract)
  flat = [(tuple(str(p) for p in path), var) for path, var in state.flat_state()]
  todo = [path for path, _ in flat if path not in values]

  def init_rest():
    leaves = {tuple(str(p) for p in path): var for path, var in nnx.state(create()).flat_state()}
    return {path: leaves[path].get_value() for path in todo}

  rest = jax.jit(init_rest)() if todo else {}
  for path, var in flat:
    var.set_value(jnp.asarray(values[path], var.dtype) if path in values else rest[path])
  return nnx.merge(graphdef, state)


def _nest(values: Mapping[tuple[str, ...], np.ndarray]) -> dict:
  out: dict = {}
  for path, v in values.items():
    d = out
    for p in path[:-1]:
      d = d.setdefault(p, {})
    d[path[-1]] = v
  return out


def to_pure(model: nnx.Module, values: Mapping[tuple[str, ...], np.ndarray]) -> dict[str, dict]:
  """Matched values as {"params": pure dict, "batch_stats": pure dict} (NumPy leaves).

  The trees have the layout of `nnx.to_pure_dict(nnx.state(model, nnx.Param))`
  (resp. nnx.BatchStat), restricted to the leaves in `values`.
  """
  kinds = _variables(model)
  return {
      kind: _nest({p: v for p, v in values.items() if kinds[p][0] == kind})
      for kind in ("params", "batch_stats")
  }


def convert_file_to_pure(
    path: str, model_config: Any, *, skip_head: bool | None = None
) -> dict[str, dict]:
  """Converts a checkpoint for `config.model` without initialising a model.

  Args:
    path: checkpoint file.
    model_config: `config.model`.
    skip_head: drop the classifier; None (default) drops it only when its number
      of classes differs from `model_config.num_classes` (the caller then keeps
      a fresh classifier).

  Returns:
    {"params": ..., "batch_stats": ...} pure dicts of NumPy arrays.
  """
  sd, unknown = read_checkpoint(path)
  if skip_head is None:
    w = sd.get("head.projection.weight")
    skip_head = w is not None and np.shape(w)[0] != int(model_config.num_classes)
  model = nnx.eval_shape(lambda: registry.create_model(model_config, rngs=nnx.Rngs(0)))
  return to_pure(model, match(model, sd, unknown, skip_head=skip_head))


def convert_file_to_params(path: str, model_config: Any, *, skip_head: bool | None = None) -> dict:
  """The parameters of `convert_file_to_pure` (BatchNorm statistics: its "batch_stats")."""
  return convert_file_to_pure(path, model_config, skip_head=skip_head)["params"]


# --------------------------------------------------------------------------------------
# Saving and restoring converted state (orbax).
# --------------------------------------------------------------------------------------


def save_state(
    state: nnx.State | Mapping[str, dict], directory: str, *, metadata: dict | None = None
) -> str:
  """Saves converted state as an orbax checkpoint {"params": ..., "batch_stats": ...}.

  The layout is the one `mgjax.checkpointing.restore_weights` reads for
  `train.init_from` (its "params" subtree).

  Args:
    state: an nnx.State of Param and BatchStat variables (e.g. from
      `convert_file`) or the dict of `convert_file_to_pure`.
    directory: output directory (must not exist).
    metadata: JSON-able custom metadata (model name, source file...).

  Returns:
    The absolute directory.
  """
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

  if isinstance(state, nnx.State):
    state = {
        "params": nnx.to_pure_dict(state.filter(nnx.Param)),
        "batch_stats": nnx.to_pure_dict(state.filter(nnx.BatchStat)),
    }
  directory = os.path.abspath(directory)
  ckptr = ocp.StandardCheckpointer()
  ckptr.save(directory, dict(state), custom_metadata=metadata or {})
  ckptr.wait_until_finished()
  return directory


def restore_state(directory: str, model: nnx.Module, *, skip_head: bool = False) -> nnx.State:
  """Restores a `save_state` checkpoint into `model` (in place).

  Args:
    directory: the checkpoint directory.
    model: a model of the same architecture.
    skip_head: keep the model's classifier (e.g. another number of classes).

  Returns:
    The model's new Param + BatchStat state.
  """
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top

  restored = ocp.StandardCheckpointer().restore(os.path.abspath(directory))
  values = {}
  for kind in ("params", "batch_stats"):
    for path, v in jax.tree_util.tree_flatten_with_path(restored.get(kind, {}))[0]:
      key = tuple(str(getattr(p, "key", getattr(p, "idx", p))) for p in path)
      if skip_head and key[0] == "head":
        continue
      values[key] = np.asarray(v)
  variables = _variables(model)
  bad = [
      f"{'/'.join(k)}: saved {v.shape}, model {variables[k][1]}"
      for k, v in values.items()
      if k in variables and v.shape != variables[k][1]
  ]
  missing = [k for k in variables if k not in values and not (skip_head and k[0] == "head")]
  unexpected = [k for k in values if k not in variables]
  if bad or missing or unexpected:
    raise ConversionError(
        f"{directory} does not match the model"
        + _report("missing", ["/".join(k) for k in missing])
        + _report("unexpected", ["/".join(k) for k in unexpected])
        + _report("mis-shaped", bad)
    )
  return _apply(model, values)


# --------------------------------------------------------------------------------------
# CLI.
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> str:
  """CLI entry point (see the module docstring); returns the output directory.

  argparse rather than absl flags, as in data/convert.py: this module is a library of
  the trainer too, absl flags are defined process-wide at import, and both converters'
  `--input`/`--output` would collide in one process (the tests call both `main`s).
  """
  parser = argparse.ArgumentParser(
      prog="python -m mgjax.models.convert",
      description="Convert a PyTorchVideo / PySlowFast / Caffe2 checkpoint to an mgjax (orbax) one.",
  )
  parser.add_argument("--model", required=True, choices=registry.MODEL_NAMES)
  parser.add_argument(
      "--input", required=True, help=".pyth/.pt (torch) or .pkl (Caffe2) checkpoint"
  )
  parser.add_argument("--output", required=True, help="output directory (must not exist)")
  parser.add_argument(
      "--num_classes",
      type=int,
      default=0,
      help="classes of the model (default: those of the checkpoint's classifier)",
  )
  parser.add_argument("--skip_head", action="store_true", help="leave the classifier out")
  parser.add_argument("--width", type=int, default=0, help="config.model.width override")
  parser.add_argument(
      "--depths", type=str, default="", help="config.model.depths override, e.g. 1,1,1,1"
  )
  parser.add_argument(
      "--bottleneck_ratio", type=int, default=0, help="config.model.bottleneck_ratio override"
  )
  args = parser.parse_args(argv)

  try:
    sd, unknown = read_checkpoint(args.input)
  except (OSError, ConversionError, pickle.UnpicklingError) as e:
    raise SystemExit(f"error: cannot read {args.input}: {e}") from None
  num_classes = args.num_classes
  if not num_classes:
    w = sd.get("head.projection.weight")
    if w is None:
      raise SystemExit("error: the checkpoint has no classifier; pass --num_classes")
    num_classes = int(np.shape(w)[0])
  model_config = config_lib.base().model
  model_config.name = args.model
  model_config.num_classes = num_classes
  model_config.width = args.width
  model_config.depths = tuple(int(d) for d in args.depths.split(",") if d)
  model_config.bottleneck_ratio = args.bottleneck_ratio
  model = nnx.eval_shape(lambda: registry.create_model(model_config, rngs=nnx.Rngs(0)))
  try:
    values = match(model, sd, unknown, skip_head=args.skip_head)
  except ConversionError as e:
    raise SystemExit(f"error: {args.input} does not fit {args.model}: {e}") from None
  out = save_state(
      to_pure(model, values),
      args.output,
      metadata={
          "model": args.model,
          "num_classes": num_classes,
          "source": os.path.basename(args.input),
          "skip_head": bool(args.skip_head),
      },
  )
  n = sum(
      int(np.prod(shape))
      for path, (kind, shape) in _variables(model).items()
      if kind == "params" and path in values
  )
  print(f"converted {args.input} -> {out} ({args.model}, {num_classes} classes, {n:,} parameters)")
  return out


if __name__ == "__main__":
  main()
