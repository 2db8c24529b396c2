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
"""Orbax checkpoints of the train state: periodic, at segment ends, on preemption.

The checkpoint holds the whole train state, the step included; the data position
follows from the step (the input pipeline is a pure function of the step), so a
restored run continues with exactly the batches it would have seen. Restoring
places the arrays with the current mesh's shardings, so a run can resume on
another number of devices.
"""

from __future__ import annotations

import os
from typing import Any

from absl import logging
from flax import traverse_util
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from mgjax import sharding
from mgjax.models import convert


def _is_key(x: Any) -> bool:
  return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def to_savable(tree: Any) -> Any:
  """Replaces typed PRNG keys (dropout RNG state) by their raw uint32 data."""
  return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def abstract_savable(tree: Any) -> Any:
  """ShapeDtypeStructs of `to_savable(tree)`, with the shardings of `tree`."""

  def leaf(x):
    sharding = getattr(x, "sharding", None)
    if _is_key(x):
      data = jax.eval_shape(jax.random.key_data, x)
      return jax.ShapeDtypeStruct(data.shape, data.dtype, sharding=sharding)
    return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)

  return jax.tree.map(leaf, tree)


def from_savable(saved: Any, like: Any) -> Any:
  """Inverse of `to_savable`: re-wraps key data where `like` holds keys."""

  def leaf(s, x):
    if _is_key(x):
      return jax.random.wrap_key_data(s, impl=jax.random.key_impl(x))
    return s

  return jax.tree.map(leaf, saved, like)


class Checkpointer:
  """A thin wrapper over `ocp.CheckpointManager` for the train state.

  Args:
    directory: where checkpoints go (local or gs://).
    keep: how many checkpoints to keep.
  """

  def __init__(self, directory: str, keep: int):
    self.manager = ocp.CheckpointManager(
        directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=True
        ),
    )

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state: Any) -> None:
    """Starts an asynchronous save of `state` at `step` (no-op if it exists)."""
    if step in self.manager.all_steps():
      return
    self.manager.save(step, args=ocp.args.StandardSave(to_savable(state)), force=True)

  def restore(self, state_like: Any, step: int | None = None) -> Any:
    """Restores `step` (default: the latest) onto the shardings of `state_like`.

    Args:
      state_like: a state (or abstract state) with the target shapes/shardings.
      step: the step to restore.

    Returns:
      The restored state.
    """
    step = self.latest_step() if step is None else step
    target = abstract_savable(state_like)
    saved = self.manager.restore(step, args=ocp.args.StandardRestore(target))
    return from_savable(saved, state_like)

  def wait(self) -> None:
    """Blocks until pending saves are on disk."""
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def restore_on_one_device(directory: str, step: int | None = None) -> tuple[int | None, Any]:
  """Restores a saved tree onto this process's first device, whatever wrote it.

  For tools that read weights (init_from, tests, notebooks): checkpoints written on
  any topology restore here; the caller places the arrays on its own mesh.

  Args:
    directory: a CheckpointManager directory or a single checkpoint's directory.
    step: the step of a manager directory (default: the latest).

  Returns:
    (step or None for a single checkpoint, the tree as NumPy arrays).
  """
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  as_target = lambda meta: jax.tree.map(
      lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), meta
  )
  try:
    manager = ocp.CheckpointManager(directory, item_handlers=ocp.StandardCheckpointHandler())
    step = manager.latest_step() if step is None else step
  except Exception:  # pylint: disable=broad-except  # Not a manager directory.
    manager, step = None, None
  if manager is not None and step is not None:
    target = as_target(manager.item_metadata(step))
    restored = manager.restore(step, args=ocp.args.StandardRestore(target))
    manager.close()
  else:
    checkpointer = ocp.StandardCheckpointer()
    restored = checkpointer.restore(directory, as_target(checkpointer.metadata(directory)))
  return step, jax.tree.map(np.asarray, restored)


def restore_weights(directory: str) -> tuple[Any, Any]:
  """Loads the weights of an mgjax checkpoint directory (for `train.init_from`).

  Args:
    directory: a training run's checkpoint directory (its latest step), one step's
      directory, or a converted reference checkpoint (`python -m mgjax.models.convert`).

  Returns:
    (parameters, other model state such as BatchNorm statistics) as NumPy trees.
  """
  _, restored = restore_on_one_device(directory)
  # Training checkpoints hold "rest"; converted ones "batch_stats".
  return restored["params"], restored.get("rest", restored.get("batch_stats", {}))


def load_init_params(
    config: ml_collections.ConfigDict, params: dict, rest: dict, mesh: jax.sharding.Mesh
) -> tuple[dict, dict]:
  """Weights from `train.init_from`, with a fresh head if the classes differ.

  Accepts an mgjax checkpoint directory (a run's or a converted one) or a
  PySlowFast / PyTorchVideo checkpoint file (.pyth / .pkl), converted on the fly.
  Parameters and BatchNorm statistics are matched by path; whatever is missing or
  has another shape (the classifier when the number of classes differs) keeps its
  fresh initialisation. The number of frames need not match: 3-D CNNs are fully
  convolutional.

  Args:
    config: the run's config (`train.init_from`, `model`).
    params: the fresh parameters (pure nested dicts).
    rest: the fresh other model state (BatchNorm statistics, RNG state).
    mesh: the device mesh.

  Returns:
    (parameters, other model state), replicated on the mesh.
  """
  path = config.train.init_from
  if os.path.isdir(path):
    loaded_params, loaded_stats = restore_weights(path)
  else:
    pure = convert.convert_file_to_pure(path, config.model)
    loaded_params, loaded_stats = pure["params"], pure["batch_stats"]
  fresh = []

  def merge_by_path(new: dict, old: dict) -> dict:
    # Keys as strings: orbax restores list indices as strings.
    name = lambda key: "/".join(map(str, key))
    old = {name(k): v for k, v in traverse_util.flatten_dict(old).items()}
    merged = {}
    for key, value in traverse_util.flatten_dict(new, keep_empty_nodes=True).items():
      if value is traverse_util.empty_node:
        pass
      elif name(key) in old and tuple(np.shape(old[name(key)])) == tuple(value.shape):
        value = jnp.asarray(old[name(key)], value.dtype)
      else:
        fresh.append(name(key))
      merged[key] = value
    return traverse_util.unflatten_dict(merged)

  params = merge_by_path(params, loaded_params)
  rest = merge_by_path(rest, loaded_stats)  # RNG state has no match and stays fresh.
  if fresh:
    logging.info("init_from %s: kept the fresh initialisation of %s", path, ", ".join(fresh))
  return jax.device_put((params, rest), sharding.replicated(mesh))
