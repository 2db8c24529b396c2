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
"""Tests of mgjax/checkpointing.py: checksum lists and the fallback past damaged checkpoints.

A resumed run must end bit-identical to an undisturbed one from the checkpoint it
restored (tests/test_train.py checks that through the trainer); here every kind of file
a checkpoint holds is truncated, bit-flipped and deleted in turn.
"""

import json
import logging
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mgjax import checkpointing


def make_state(step: int) -> dict:
  """A small train state whose every leaf depends on `step`, with a typed PRNG key."""
  return dict(
      params=dict(
          conv=dict(kernel=jnp.arange(600, dtype=jnp.float32).reshape(2, 3, 100) * step),
          bias=jnp.full((7,), step, jnp.float32),
      ),
      rest=dict(rng=jax.random.key(step), count=jnp.int32(10 * step)),
      step=jnp.int32(step),
  )


def assert_state_equal(a: dict, b: dict) -> None:
  a, b = checkpointing.to_savable(a), checkpointing.to_savable(b)
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> str:
  """A checkpoint directory with steps 1, 2 and 3, written as the trainer writes them."""
  directory = str(tmp_path_factory.mktemp("pristine") / "checkpoints")
  ckpt = checkpointing.Checkpointer(directory, keep=5)
  for step in (1, 2, 3):
    ckpt.save(step, make_state(step))
  ckpt.close()
  return directory


def files_of(step_dir: str) -> list[str]:
  return sorted(
      os.path.relpath(os.path.join(root, f), step_dir)
      for root, _, names in os.walk(step_dir)
      for f in names
  )


def damage_file(path: str, how: str) -> None:
  if how == "delete":
    os.remove(path)
  elif how == "truncate":
    os.truncate(path, os.path.getsize(path) // 2)
  else:  # One bit in the middle.
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x10
    with open(path, "wb") as f:
      f.write(bytes(data))


def test_each_finished_checkpoint_holds_a_checksum_list_of_its_files(pristine):
  for step in (1, 2, 3):
    step_dir = os.path.join(pristine, str(step))
    with open(os.path.join(step_dir, checkpointing.CHECKSUMS)) as f:
      listed = json.load(f)
    # Every file of the checkpoint but the list and the metadata orbax rewrites on commit.
    assert sorted(listed) == [
        f
        for f in files_of(step_dir)
        if f not in (checkpointing.CHECKSUMS, "_CHECKPOINT_METADATA", "commit_success.txt")
    ]
    assert any(size > 500 for size, _ in listed.values())  # The arrays are in it.
    assert checkpointing.damage(step_dir) is None


def test_intact_checkpoints_restore_the_newest(pristine, tmp_path):
  directory = str(tmp_path / "checkpoints")
  shutil.copytree(pristine, directory)
  ckpt = checkpointing.Checkpointer(directory, keep=5)
  step, state = ckpt.restore_latest_readable(make_state(0))
  ckpt.close()
  assert step == 3
  assert_state_equal(state, make_state(3))
  assert not os.path.exists(directory + "_damaged")


def test_no_checkpoint_restores_nothing(tmp_path):
  ckpt = checkpointing.Checkpointer(str(tmp_path / "checkpoints"), keep=5)
  step, state = ckpt.restore_latest_readable(make_state(0))
  ckpt.close()
  assert step is None
  assert_state_equal(state, make_state(0))


@pytest.mark.parametrize("how", ["truncate", "flip", "delete"])
def test_damaged_newest_checkpoint_falls_back_to_the_one_before(pristine, tmp_path, caplog, how):
  """Every file of the newest checkpoint, damaged in turn: the restored state is always
  exactly the state saved at the step reported; damage to any file the checksum list
  covers falls back to step 2, with a warning, and moves step 3 aside intact."""
  names = files_of(os.path.join(pristine, "3"))
  with open(os.path.join(pristine, "3", checkpointing.CHECKSUMS)) as f:
    listed = set(json.load(f))
  assert len(names) >= 8
  for name in names:
    run = tmp_path / f"{how}-{name.replace('/', '_')}"
    directory = str(run / "checkpoints")
    shutil.copytree(pristine, directory)
    damage_file(os.path.join(directory, "3", name), how)
    caplog.clear()
    ckpt = checkpointing.Checkpointer(directory, keep=5)
    with caplog.at_level(logging.WARNING):
      step, state = ckpt.restore_latest_readable(make_state(0))
    ckpt.close()
    assert step in (2, 3), name
    assert_state_equal(state, make_state(step))
    covered = name in listed or (name == checkpointing.CHECKSUMS and how != "delete")
    if covered:
      assert step == 2, f"{how} {name} went unnoticed"
    if step == 2:
      warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
      assert "step 3" in warning and os.path.join(directory, "3") in warning, warning
      (aside,) = os.listdir(directory + "_damaged")
      assert aside.startswith("3-")
      # Moved, not deleted: the damaged checkpoint is there to inspect.
      assert len(files_of(os.path.join(directory + "_damaged", aside))) == len(names) - (
          how == "delete"
      )
      assert sorted(os.listdir(directory)) == ["1", "2"]


def test_no_readable_checkpoint_stops_with_what_was_tried(pristine, tmp_path):
  directory = str(tmp_path / "checkpoints")
  shutil.copytree(pristine, directory)
  for step in (1, 2, 3):
    (data,) = [
        f
        for f in files_of(os.path.join(directory, str(step)))
        if f.startswith("default/ocdbt")
        and "/d/" in f
        and os.path.getsize(os.path.join(directory, str(step), f)) > 500
    ]
    damage_file(os.path.join(directory, str(step), data), "truncate")
  ckpt = checkpointing.Checkpointer(directory, keep=5)
  with pytest.raises(checkpointing.CheckpointError) as error:
    ckpt.restore_latest_readable(make_state(0))
  ckpt.close()
  message = str(error.value)
  for step in (3, 2, 1):
    assert f"step {step} (" in message
  assert "bytes instead of" in message
  assert len(os.listdir(directory + "_damaged")) == 3  # Nothing deleted.


def test_unlisted_checkpoint_is_judged_by_restoring_it(pristine, tmp_path):
  """A checkpoint whose writer died between its commit and its list: a restore decides."""
  directory = str(tmp_path / "checkpoints")
  shutil.copytree(pristine, directory)
  os.remove(os.path.join(directory, "3", checkpointing.CHECKSUMS))
  manifest = os.path.join(directory, "3", "default", "manifest.ocdbt")
  damage_file(manifest, "truncate")
  assert checkpointing.damage(os.path.join(directory, "3")) is None
  ckpt = checkpointing.Checkpointer(directory, keep=5)
  step, state = ckpt.restore_latest_readable(make_state(0))
  ckpt.close()
  assert step == 2
  assert_state_equal(state, make_state(2))
