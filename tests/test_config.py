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

import re

import ml_collections
import pytest

import conftest
from conftest import REPO
from mgjax import config as config_lib
from mgjax import multigrid
from mgjax.models import registry

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


# One bad value for every field of `base()` that can be judged before a run starts, and the
# config the value is judged in (most fields: `base()` as it is). The error must name the
# field, and come from the checks `mgjax.main` runs before anything compiles or reads data.
BAD_VALUES = [
    ("seed", -1, {}),
    ("model.name", "slowfast_r51_8x8", {}),
    ("model.num_classes", 0, {}),
    ("model.dtype", "float16", {}),
    ("model.dropout_rate", 1.5, {}),
    ("model.width", -8, {}),
    ("model.depths", (1, 1), {}),
    ("model.bottleneck_ratio", -1, {}),
    ("model.stem_stride", 3, {}),
    ("model.spatial_strides", (1, 2), {}),
    ("data.dataset", "imagenet", {}),
    ("data.train_split", "training", {"data.dataset": "synthetic"}),
    ("data.eval_split", "validation", {"data.dataset": "synthetic"}),
    ("data.num_train_examples", 0, {}),
    ("data.num_frames", 0, {}),
    ("data.sampling_rate", 0, {}),
    ("data.crop_size", 100, {}),
    ("data.jitter_scales", (128, 320), {}),
    ("data.sampling", "random", {}),
    ("data.mean", (0.45, 0.45), {}),
    ("data.std", (0.225, 0.0, 0.225), {}),
    ("data.synthetic_videos", 0, {}),
    ("data.synthetic_seed", -1, {}),
    ("data.synthetic_task", "cater", {}),
    ("data.num_workers", -2, {}),
    ("data.service_address", "localhost:5000", {}),
    ("optim.batch_size", 0, {}),
    ("optim.base_lr", -1.0, {}),
    ("optim.lr_policy", "linear", {}),
    ("optim.steps", (0, 50, 20), {}),
    ("optim.gamma", 0.0, {}),
    ("optim.max_epoch", 150, {}),
    ("optim.warmup_epochs", -1.0, {}),
    ("optim.warmup_start_lr", -0.1, {}),
    ("optim.cosine_end_lr", -0.1, {}),
    ("optim.momentum", 1.0, {}),
    ("optim.weight_decay", -1e-4, {}),
    ("multigrid.long_cycle_mode", "double", {}),
    ("multigrid.long_cycle_factors", ((0.25, 2.0),), {}),
    ("multigrid.short_cycle_factors", (0.5, 1.5), {}),
    ("multigrid.short_cycle_relative", "x", {}),
    ("multigrid.epoch_factor", 0.0, {}),
    ("multigrid.bn_group_size", 0, {}),
    ("train.checkpoint_every_steps", -5, {}),
    ("train.keep_checkpoints", 0, {}),
    ("train.log_every_steps", 0, {}),
    ("train.eval_every_epochs", -1.0, {}),
    ("train.precise_bn_batches", -1, {}),
    ("train.max_steps", -1, {}),
    ("eval.preset", "5x5", {}),
    ("eval.num_temporal_views", 0, {}),
    ("eval.num_spatial_crops", 2, {}),
    ("eval.crop_size", 0, {}),
    ("eval.batch_size", 0, {}),
    ("eval.max_videos", -1, {}),
    ("reference.baseline_top1", 101.0, {}),
    ("reference.baseline_train_minutes", -1.0, {}),
    ("reference.multigrid_top1", -1.0, {}),
    ("reference.multigrid_train_minutes", -1.0, {}),
]
# Fields no check can judge before the run: paths and URLs (opened when used), free text,
# and split names of datasets whose splits are files. Booleans are typed: ml_collections
# rejects any other value (`test_bool_fields_reject_other_types`).
NOT_JUDGED_BEFORE_THE_RUN = {
    "data.root",
    "data.cache_dir",
    "train.init_from",
    "train.compile_cache_dir",
    "reference.measured_on",
}


def _leaves(c, prefix=""):
  for key, value in c.items():
    if isinstance(value, ml_collections.ConfigDict):
      yield from _leaves(value, f"{prefix}{key}.")
    else:
      yield f"{prefix}{key}", value


def test_every_field_is_judged_or_typed():
  leaves = dict(_leaves(config_lib.base()))
  judged = {field for field, _, _ in BAD_VALUES}
  typed = {f for f, v in leaves.items() if isinstance(v, bool)}
  assert judged | typed | NOT_JUDGED_BEFORE_THE_RUN == set(leaves), (
      "a config field has no bad value in BAD_VALUES: "
      f"{sorted(set(leaves) - judged - typed - NOT_JUDGED_BEFORE_THE_RUN)}"
  )
  assert not judged & (typed | NOT_JUDGED_BEFORE_THE_RUN)


@pytest.mark.parametrize("field,value,context", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_each_bad_value_fails_naming_its_field(field, value, context):
  c = config_lib.base()
  c.update_from_flattened_dict(context)
  config_lib.validate(c)  # The context alone is valid.
  c.update_from_flattened_dict({field: value})
  with pytest.raises(config_lib.ConfigError, match=re.escape(field)):
    config_lib.validate(c)  # What `mgjax.main` checks before anything compiles,
    registry.check_config(c.model)  # in this order.


def test_bool_fields_reject_other_types():
  c = config_lib.base()
  for field, value in _leaves(c):
    if isinstance(value, bool):
      with pytest.raises(TypeError, match=field.rsplit(".", 1)[-1]):
        c.update_from_flattened_dict({field: "yes"})
