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

orbax's atomic commit protects a checkpoint against a crash during its save, not
against damage afterwards (a half-copied directory, a truncated or bit-rotted file).
So each finished checkpoint gets a list of its files' sizes and CRC-32s, and a resume
checks the newest checkpoint against it (and by restoring it) before trusting it. A
damaged one is moved aside, never deleted, and the one before it is restored.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from typing import Any, Iterator
import zlib

from absl import logging
from etils import epath
from flax import traverse_util
import jax
import jax.numpy as jnp
from jax.experimental import multihost_utils
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


# Written into each finished checkpoint's directory by process 0; orbax ignores it.
CHECKSUMS = "mgjax_checksums.json"
# orbax rewrites the step's metadata when it commits, after the list is made: it is
# checked by parsing it instead.
_STEP_METADATA = "_CHECKPOINT_METADATA"


class CheckpointError(RuntimeError):
  """No checkpoint of a run that has checkpoints can be read, or one cannot be written."""


def _disk_full(error: BaseException) -> bool:
  """Whether `error` (or what caused it) says the filesystem is full."""
  seen = set()
  while error is not None and id(error) not in seen:
    seen.add(id(error))
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
      return True
    if "No space left on device" in str(error) or "ENOSPC" in str(error):
      return True
    error = error.__cause__ or error.__context__
  return False


def _filesystem(path: epath.Path) -> str:
  """The mount point of a local path with its free and total space, or the path."""
  local = os.path.realpath(os.fspath(path))
  if not os.path.exists(os.path.dirname(local)):
    return str(path)  # Not a local path (gs://...).
  while not os.path.ismount(local):
    local = os.path.dirname(local)
  stats = os.statvfs(local)
  free, total = stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize
  return (
      f"the filesystem mounted at {local} ({free / 2**20:.1f} MiB free of {total / 2**20:.1f} MiB)"
  )


def _file_checksums(directory: epath.Path) -> dict[str, list[int]]:
  """{relative path: [size, CRC-32]} of a checkpoint's files but the list and its metadata."""
  sums, todo = {}, [directory]
  while todo:  # By hand: epath has no recursive glob on GCS.
    for path in todo.pop().iterdir():
      name = str(path.relative_to(directory))
      if path.is_dir():
        todo.append(path)
      elif name not in (CHECKSUMS, _STEP_METADATA):
        data = path.read_bytes()
        sums[name] = [len(data), zlib.crc32(data)]
  return dict(sorted(sums.items()))


def seal(directory: str | os.PathLike) -> None:
  """Records the sizes and CRC-32s of a finished checkpoint's files inside it."""
  directory = epath.Path(directory)
  tmp = directory / (CHECKSUMS + ".tmp")
  tmp.write_text(json.dumps(_file_checksums(directory), indent=1))
  tmp.rename(directory / CHECKSUMS)  # Atomic: a list is complete or absent.


def damage(directory: str | os.PathLike) -> str | None:
  """Why a checkpoint's files differ from the list `seal` made, or None if they match.

  A checkpoint without a list (its writer died between the commit and the list)
  passes here; only a restore can then tell.
  """
  directory = epath.Path(directory)
  listing = directory / CHECKSUMS
  if not listing.exists():
    return None
  try:
    expected = json.loads(listing.read_text())
  except (ValueError, UnicodeDecodeError) as e:
    return f"its checksum list {CHECKSUMS} is unreadable ({e})"
  try:
    json.loads((directory / _STEP_METADATA).read_text())
  except FileNotFoundError:
    return f"{_STEP_METADATA} is missing"
  except (ValueError, UnicodeDecodeError) as e:
    return f"{_STEP_METADATA} is unreadable ({e})"
  found = _file_checksums(directory)
  for name, (size, crc) in sorted(expected.items()):
    if name not in found:
      return f"{name} is missing"
    if found[name][0] != size:
      return f"{name} has {found[name][0]} bytes instead of {size}"
    if found[name][1] != crc:
      return f"{name} has changed since it was written (CRC-32 mismatch)"
  return None


class Checkpointer:
  """A thin wrapper over `ocp.CheckpointManager` for the train state.

  Args:
    directory: where checkpoints go (local or gs://).
    keep: how many checkpoints to keep.
  """

  def __init__(self, directory: str, keep: int):
    self.directory = epath.Path(directory)
    self._saving: int | None = None  # The step of the save in flight.
    self._failed = False  # A save failed and was reported.
    self.manager = ocp.CheckpointManager(
        directory,
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep,
            create=True,
            enable_async_checkpointing=True,
            async_options=ocp.AsyncOptions(post_finalization_callback=self._seal_finished),
        ),
    )

  def _seal_finished(self) -> None:
    """Seals the checkpoint being committed (orbax calls this once its files are
    written, before the commit renames its temporary directory to the step)."""
    if jax.process_index() != 0 or self._saving is None:
      return
    for path in self.directory.iterdir():
      if path.name.split(".")[0] == str(self._saving) and not (path / CHECKSUMS).exists():
        seal(path)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state: Any) -> None:
    """Starts an asynchronous save of `state` at `step` (no-op if it exists).

    Raises:
      CheckpointError: this or the previous save found the filesystem full.
    """
    if step in self.manager.all_steps():
      return
    with self._reporting_disk_full():
      self.manager.wait_until_finished()  # One save in flight: `_saving` names it.
      self._saving = step
      self.manager.save(step, args=ocp.args.StandardSave(to_savable(state)), force=True)

  @contextlib.contextmanager
  def _reporting_disk_full(self) -> Iterator[None]:
    """Turns a full filesystem during a save into one clear error (raised once)."""
    try:
      yield
    except Exception as e:  # pylint: disable=broad-except  # orbax and tensorstore's errors.
      if not _disk_full(e):
        raise
      self._failed = True
      good = [s for s in self.manager.all_steps() if s != self._saving]
      raise CheckpointError(
          f"The checkpoint of step {self._saving} could not be written to {self.directory}: "
          f"no space left on {_filesystem(self.directory)}. "
          + (
              f"The checkpoint at step {max(good)} is intact; free space and relaunch the "
              "same command to resume from it."
              if good
              else "No checkpoint was written before it."
          )
      ) from e

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

  def restore_latest_readable(self, state_like: Any) -> tuple[int | None, Any]:
    """Restores the newest checkpoint that is intact, moving damaged ones aside.

    Each checkpoint, newest first, is checked against its checksum list and then
    restored. One that fails is logged with its step, path and reason and moved to
    `<directory>_damaged/<step>-<time>` (kept for inspection, never deleted); the
    one before it is tried next.

    Args:
      state_like: a state (or abstract state) with the target shapes/shardings.

    Returns:
      (step, restored state), or (None, `state_like`) when there is no checkpoint.

    Raises:
      CheckpointError: there are checkpoints but none can be read (a run must not
        silently start again from step 0).
    """
    tried = []
    for step in sorted(self.manager.all_steps(), reverse=True):
      path = self.directory / str(step)
      reason = damage(path)
      if reason is None:
        try:
          return step, self.restore(state_like, step)
        except Exception as e:  # pylint: disable=broad-except  # Whatever orbax raises.
          reason = f"restoring it raised {type(e).__name__}: {str(e).strip()[:300]}"
      aside = self._move_aside(step)
      logging.warning(
          "The checkpoint at step %d (%s) cannot be read: %s. Moved it to %s; trying the "
          "one before it.",
          step,
          path,
          reason,
          aside,
      )
      tried.append(f"step {step} ({path}): {reason}")
    if tried:
      raise CheckpointError(
          f"No readable checkpoint in {self.directory}; tried, newest first:\n  "
          + "\n  ".join(tried)
          + f"\nThey were moved to {self.directory}_damaged. Restore a good copy into "
          f"{self.directory} to resume, or start a new run in another workdir."
      )
    return None, state_like

  def _move_aside(self, step: int) -> epath.Path:
    """Moves a step's directory out of the manager's sight (process 0), in step."""
    aside = epath.Path(f"{self.directory}_damaged") / f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
    if jax.process_index() == 0:
      aside.parent.mkdir(parents=True, exist_ok=True)
      (self.directory / str(step)).rename(aside)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f"mgjax: checkpoint {step} moved aside")
    self.manager.reload()
    return aside

  def wait(self) -> None:
    """Blocks until pending saves are on disk."""
    with self._reporting_disk_full():
      self.manager.wait_until_finished()

  def close(self) -> None:
    """Waits for pending saves and closes; a failed save was raised once, not again here."""
    try:
      if not self._failed:
        self.wait()
    finally:
      try:
        self.manager.close()
      except Exception:  # pylint: disable=broad-except  # orbax repeats the failed save's error.
        if not self._failed:
          raise


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
