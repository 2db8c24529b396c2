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
"""Tests of mgjax/compilation.py: the executable cache and compiling beside training."""

import functools
import glob
import logging
import os

import jax
from jax.experimental.compilation_cache import compilation_cache as jax_cache
import numpy as np
import pytest

from conftest import REPO
from conftest import load_config
from mgjax import compilation
from mgjax import multigrid
from mgjax import sharding
from mgjax import steps as steps_lib


def small_config(**fields):
  c = load_config(REPO / "configs" / "tiny.py")
  c.data.root = "unused"  # Nothing here reads data.
  c.model.name = "c2d_r50"  # One pathway: half the program of the tiny SlowFast, faster compiles.
  c.data.crop_size = 16
  c.data.jitter_scales = (16, 20)
  c.update_from_flattened_dict(fields)
  return c


class Setup:
  """A config's model, state and the pieces `CompiledSteps` needs."""

  def __init__(self, config, mesh):
    self.config, self.mesh = config, mesh
    self.model_def, self.state = steps_lib.init_state(config, mesh)
    self.labels = steps_lib.label_spec(config)
    self.keys = compilation.step_keys(multigrid.Plan.from_config(config))

  def context(self):
    return compilation.step_context(self.config, self.mesh, self.state, self.labels, {})

  def steps(self, cache_dir=None):
    step_fn = functools.partial(steps_lib.train_step, model_def=self.model_def, config=self.config)
    cache = compilation.ExecutableCache(cache_dir, self.context()) if cache_dir else None
    return compilation.CompiledSteps(step_fn, self.mesh, self.labels, self.state, cache=cache)

  def batch(self, key, seed=0):
    b, t, s, _ = key
    rng = np.random.default_rng(seed)
    return sharding.global_batch(
        self.mesh,
        dict(
            video=rng.integers(0, 256, (b, t, s, s, 3), dtype=np.uint8),
            label=rng.integers(0, self.config.model.num_classes, (b,), dtype=np.int32),
        ),
    )

  def run(self, steps, key):
    state = jax.tree.map(lambda x: x.copy(), self.state)  # The step donates its state.
    return jax.device_get(steps(key, state, self.batch(key), 0.01))


@pytest.fixture(scope="module")
def setup():
  return Setup(small_config(), sharding.make_mesh())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  """One executable cache for the module: a later test loads what an earlier one compiled.

  JAX's persistent cache (which the trainer turns on, maybe earlier in this process) is
  off while it lives, so every compile here is fresh.
  """
  previous = jax.config.jax_compilation_cache_dir
  jax.config.update("jax_compilation_cache_dir", None)
  jax_cache.reset_cache()
  yield str(tmp_path_factory.mktemp("executables"))
  jax.config.update("jax_compilation_cache_dir", previous)
  jax_cache.reset_cache()


def test_step_keys_in_order_of_first_use_and_from_a_start_step():
  plan = multigrid.Plan.from_config(small_config())
  table = plan.step_table()
  keys = compilation.step_keys(plan)
  firsts = [
      min(i for i in range(plan.num_steps) if compilation.step_key(table, i) == k) for k in keys
  ]
  assert firsts == sorted(firsts) and len(set(keys)) == len(keys) >= 6
  later = compilation.step_keys(plan, start=firsts[3])
  assert later[0] == compilation.step_key(table, firsts[3])
  assert set(later) == {compilation.step_key(table, i) for i in range(firsts[3], plan.num_steps)}


def test_key_changes_with_the_program_not_with_the_schedule(setup):
  key = setup.keys[0]
  base = compilation.ExecutableCache("unused", setup.context()).key(key)

  def key_of(context=None, **fields):
    if fields:
      context = dict(setup.context(), config=compilation.program_fields(small_config(**fields)))
    return compilation.ExecutableCache("unused", context).key(key)

  # The LR schedule, data and evaluation fields do not reach the step's program.
  assert (
      key_of(
          **{
              "optim.base_lr": 0.3,
              "optim.lr_policy": "cosine",
              "seed": 3,
              "data.synthetic_videos": 90,
              "eval.crop_size": 48,
              "multigrid.short_cycle": False,
              "train.log_every_steps": 7,
          }
      )
      == base
  )
  # The model, the optimizer's update rule and the loss do.
  for field, value in (
      ("model.width", 16),
      ("model.dropout_rate", 0.5),
      ("model.dtype", "bfloat16"),
      ("model.name", "slow_r50_8x8"),
      ("optim.momentum", 0.8),
      ("optim.weight_decay", 0.0),
      ("data.multi_label", True),
      ("data.mean", (0.5, 0.5, 0.5)),
  ):
    assert key_of(**{field: value}) != base, field
  # And so do the shape, the mesh and the code.
  assert compilation.ExecutableCache("unused", setup.context()).key(setup.keys[1]) != base
  on_four = compilation.step_context(
      setup.config, sharding.make_mesh(4), setup.state, setup.labels, {}
  )
  assert key_of(on_four) != base
  assert key_of(dict(setup.context(), code="another version of the model code")) != base


def test_restart_loads_the_same_executable_and_a_corrupt_entry_is_recompiled(
    setup, cache_dir, caplog
):
  key = setup.keys[0]
  first = setup.steps(cache_dir)
  first.compile_all([key])
  assert [entry[:2] for entry in first.log] == [(key, "compiled")]
  expected = setup.run(first, key)
  (path,) = glob.glob(os.path.join(cache_dir, "*.exe"))

  restarted = setup.steps(cache_dir)
  restarted.compile_all([key])
  assert [entry[:2] for entry in restarted.log] == [(key, "loaded")]
  np.testing.assert_equal(setup.run(restarted, key), expected)  # Bit for bit.

  with open(path, "rb") as f:
    data = bytearray(f.read())
  data[len(data) // 2 : len(data) // 2 + 100] = bytes(100)  # Damaged in the middle.
  with open(path, "wb") as f:
    f.write(data)
  with caplog.at_level(logging.WARNING):
    again = setup.steps(cache_dir)
    again.compile_all([key])
  warnings = [r for r in caplog.records if "could not be loaded" in r.getMessage()]
  assert len(warnings) == 1 and "checksum" in warnings[0].getMessage()
  assert [entry[:2] for entry in again.log] == [(key, "compiled")]
  np.testing.assert_equal(setup.run(again, key), expected)
  rewritten = setup.steps(cache_dir)
  rewritten.compile_all([key])
  assert [entry[:2] for entry in rewritten.log] == [(key, "loaded")]


def test_background_compile_waits_only_for_shapes_not_ready(setup, cache_dir):
  steps = setup.steps(cache_dir)  # The first shape is loaded if the test above ran.
  keys = setup.keys[:2]
  said = []
  steps.start(keys, log=said.append)
  first = setup.run(steps, keys[0])  # Waits for its own shape only.
  assert np.isfinite(first[1]["loss"])
  b, t, s, g = keys[0]
  waited = f"for step shape B={b} T={t} S={s} bn_group={g} to compile."
  assert [m for m in said if m.startswith("Waited")][0].endswith(waited), said
  steps.ready(keys[1])
  assert [entry[0] for entry in steps.log] == keys  # Compiled in the given order.
  with pytest.raises(KeyError, match="not compiled"):
    steps.ready(setup.keys[2])
  steps.close()
