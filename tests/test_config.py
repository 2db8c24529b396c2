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
"""Tests of the config defaults, the config files and validation (mgjax/config.py)."""

import pytest

import conftest
from conftest import REPO
from mgjax import config as config_lib
from mgjax import multigrid

CONFIG_FILES = sorted(p for p in (REPO / "configs").rglob("*.py"))


load = conftest.load_config


def test_config_files_exist():
  names = {str(p.relative_to(REPO / "configs")) for p in CONFIG_FILES}
  for required in (
      "kinetics/slowfast_r50_8x8.py",
      "kinetics/slowfast_r50_8x8_multigrid.py",
      "ssv2/slowfast_r50_16x8.py",
      "ssv2/slowfast_r50_16x8_multigrid.py",
      "charades/slowfast_r50_16x8.py",
      "charades/slowfast_r50_16x8_multigrid.py",
  ):
    assert required in names
  assert len([n for n in names if n.startswith("paper/")]) >= 10


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_config_validates_and_plans(path):
  c = load(path)
  assert c.is_locked
  config_lib.validate(c)
  plan = multigrid.Plan.from_config(c)
  assert plan.num_steps > 0
  doc = path.read_text()
  if "paper/" in str(path):
    assert "Supplement Table" in doc and "Published" in doc


def test_dataset_recipes():
  ssv2 = load(REPO / "configs/ssv2/slowfast_r50_16x8.py")
  assert (ssv2.data.sampling, ssv2.data.flip, ssv2.optim.weight_decay) == ("segment", False, 1e-6)
  assert (ssv2.data.num_frames, ssv2.optim.batch_size, ssv2.optim.base_lr) == (64, 16, 0.03)
  charades = load(REPO / "configs/charades/slowfast_r50_16x8.py")
  assert charades.data.multi_label and tuple(charades.data.jitter_scales) == (256, 340)
  # The supplement: the Charades baseline trains ~28k iterations at batch 16.
  assert 28_000 <= multigrid.Plan.from_config(charades).num_steps <= 28_500


def test_unknown_field_fails_naming_it():
  c = config_lib.base()
  with pytest.raises(AttributeError, match="crop_sise"):
    c.data.crop_sise = 64


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("data.crop_size", 100, "data.crop_size.*multiple of 32"),
        ("optim.batch_size", 12, "optim.batch_size.*bn_group_size=8"),
        ("optim.lr_policy", "linear", "optim.lr_policy.*'steps', 'cosine'"),
        ("multigrid.long_cycle_mode", "double", "multigrid.long_cycle_mode.*'multi', 'single'"),
        ("multigrid.short_cycle_relative", "x", "short_cycle_relative.*'base', 'current'"),
        ("data.dataset", "imagenet", "data.dataset.*'kinetics'"),
        ("optim.steps", (0, 50, 20), "optim.steps"),
        ("optim.max_epoch", 150, "optim.max_epoch"),
        ("data.jitter_scales", (128, 320), "data.jitter_scales"),
        ("optim.base_lr", -1.0, r"optim.base_lr = -1.0 is invalid: must be > 0"),
        ("optim.base_lr", 0.0, r"optim.base_lr.*> 0"),
        ("optim.weight_decay", -1e-4, r"optim.weight_decay.*>= 0"),
        ("optim.momentum", 1.0, r"optim.momentum.*\[0, 1\)"),
        ("optim.gamma", 0.0, r"optim.gamma.*\(0, 1\]"),
    ],
)
def test_bad_values_fail_naming_the_field(field, value, message):
  c = config_lib.base()
  section, name = field.split(".")
  c[section][name] = value
  with pytest.raises(config_lib.ConfigError, match=message):
    config_lib.validate(c)


def test_batch_must_divide_over_devices():
  c = config_lib.base()
  c.optim.batch_size = 16
  config_lib.validate(c, num_devices=8)
  with pytest.raises(config_lib.ConfigError, match="optim.batch_size.*devices"):
    config_lib.validate(c, num_devices=32)
