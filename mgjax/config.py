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
"""The experiment configuration: defaults, the known fields, and validation.

Every config file under `configs/` starts from `base()` and sets fields that exist
here; the returned `ConfigDict` is locked, so a misspelt field fails at once with
ml_collections' message naming it (in the file and in `--config.a.b=v` overrides).
`validate()` checks the values before anything compiles or reads data, and raises
one `ConfigError` naming the field and the allowed values.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import ml_collections

# Multigrid defaults of the paper (Wu et al. 2020, Sec. 3 and the reference code).
LONG_CYCLE_FACTORS = ((0.25, 2**-0.5), (0.5, 2**-0.5), (0.5, 1.0), (1.0, 1.0))
SHORT_CYCLE_FACTORS = (0.5, 2**-0.5)

DATASETS = ("kinetics", "ssv2", "charades", "synthetic")
SYNTHETIC_TASKS = ("motion", "composite")  # `mgjax/data/synthetic.py`.
SYNTHETIC_SPLITS = ("train", "val", "test")
LR_POLICIES = ("steps", "cosine")
LONG_CYCLE_MODES = ("multi", "single")
SHORT_CYCLE_RELATIVE = ("base", "current")
SAMPLINGS = ("stride", "segment")
DTYPES = ("float32", "bfloat16")
# Eval presets: (temporal views or None = eval.num_temporal_views, spatial crops, test
# size or None = eval.crop_size); "custom" takes all three from `eval`. The supplement's
# centre-224 / 3-crop-224 / 3-crop-256 tests keep the config's temporal views (10 by default).
EVAL_PRESETS = {
    "10x3": (10, 3, None),
    "center_224": (None, 1, 224),
    "3crop_224": (None, 3, 224),
    "3crop_256": (None, 3, 256),
    "custom": (None, None, None),
}


# grpc://HOST:PORT, HOST a name, an IPv4 address or a bracketed IPv6 address.
_SERVICE_ADDRESS = re.compile(r"grpc://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})")


# The numeric fields that need only a range: (field, test, what is allowed). Where 0 is
# a sentinel ("keep the model's", "off", "the whole split"), the range admits it and the
# field's comment in `base()` says what it means.
_RANGES = (
    ("seed", lambda v: v >= 0, "must be >= 0"),
    ("model.num_classes", lambda v: v >= 1, "must be >= 1"),
    ("model.dropout_rate", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.width", lambda v: v >= 0, "must be >= 0 (0 keeps the named model's)"),
    ("model.bottleneck_ratio", lambda v: v >= 0, "must be >= 0 (0 keeps the named model's)"),
    ("data.sampling_rate", lambda v: v >= 1, "must be >= 1"),
    ("data.mean", lambda v: len(v) == 3, "must hold 3 values (R, G, B)"),
    ("data.std", lambda v: len(v) == 3 and min(v) > 0, "must hold 3 positive values (R, G, B)"),
    ("data.synthetic_videos", lambda v: v >= 1, "must be >= 1"),
    ("data.synthetic_seed", lambda v: v >= 0, "must be >= 0"),
    ("data.num_workers", lambda v: v >= 0, "must be >= 0 (0 = AUTOTUNE)"),
    (
        "multigrid.short_cycle_factors",
        lambda v: all(0 < f <= 1 for f in v),
        "each spatial factor must be in (0, 1]",
    ),
    ("train.checkpoint_every_steps", lambda v: v >= 1, "must be >= 1"),
    ("train.keep_checkpoints", lambda v: v >= 1, "must be >= 1"),
    ("train.log_every_steps", lambda v: v >= 1, "must be >= 1"),
    ("train.eval_every_epochs", lambda v: v >= 0, "must be >= 0 (0 = only at the end)"),
    ("train.precise_bn_batches", lambda v: v >= 0, "must be >= 0 (0 = off)"),
    ("train.max_steps", lambda v: v >= 0, "must be >= 0 (0 = the whole plan)"),
    ("eval.crop_size", lambda v: v >= 1, "must be >= 1"),
    ("eval.num_temporal_views", lambda v: v >= 1, "must be >= 1"),
    ("eval.num_spatial_crops", lambda v: v in (1, 3), "must be 1 or 3"),
    ("eval.batch_size", lambda v: v >= 1, "must be >= 1"),
    ("eval.max_videos", lambda v: v >= 0, "must be >= 0 (0 = the whole split)"),
    ("reference.baseline_top1", lambda v: 0 <= v <= 100, "must be a percentage (0 = none)"),
    ("reference.multigrid_top1", lambda v: 0 <= v <= 100, "must be a percentage (0 = none)"),
    ("reference.baseline_train_minutes", lambda v: v >= 0, "must be >= 0 (0 = none)"),
    ("reference.multigrid_train_minutes", lambda v: v >= 0, "must be >= 0 (0 = none)"),
)


class ConfigError(ValueError):
  """A config value is invalid; the message names the field."""


def base() -> ml_collections.ConfigDict:
  """Returns the default config (Kinetics-400 SlowFast R50 8x8, multigrid).

  Returns:
    A locked ConfigDict with every known field.
  """
  c = ml_collections.ConfigDict()
  c.seed = 0

  c.model = ml_collections.ConfigDict()
  c.model.name = "slowfast_r50_8x8"
  c.model.num_classes = 400
  c.model.dtype = "float32"  # Compute dtype; parameters stay float32.
  c.model.dropout_rate = 0.5
  # Overrides for small models (tests, the demo). 0 / () keep the named model's value.
  c.model.width = 0  # Channels of conv1 (64 in the paper's ResNets).
  c.model.depths = ()  # Blocks per stage res2..res5, e.g. (3, 4, 6, 3).
  c.model.bottleneck_ratio = 0  # Inner width of res2 relative to `width` (1 in the paper).
  # The last BN of each residual branch starts at zero scale (the reference's
  # ZERO_INIT_FINAL_BN). A network with one block per stage then starts as a chain of
  # 1×1×1 shortcuts and learns motion far more slowly: the demo turns it off.
  c.model.zero_init_final_bn = True
  # Spatial strides for small crops (0 / () / True keep the paper's: conv1 stride 2, a
  # stride-2 max-pool, res3-res5 stride 2, i.e. total stride 32). At 224 px the paper's
  # res5 is 7×7 and 4×4 at the plan's smallest crop (112); a 32-pixel crop keeps that
  # proportion only with a total stride of 8 or less.
  c.model.stem_stride = 0  # 1 or 2.
  c.model.stem_pool = True
  # On the CPU backend only, compute the convolutions in the exact forms XLA:CPU runs
  # fastest (`models/layers.py`, `cpu_form`): conv1 (`stem_im2col`) and every other kernel
  # (`factorized_conv`) as im2col and one matmul. Same parameters and function; other
  # backends always use XLA's convolutions.
  c.model.stem_im2col = True
  c.model.factorized_conv = True
  c.model.spatial_strides = ()  # Stride of res2..res5, e.g. (1, 2, 2, 1).

  c.data = ml_collections.ConfigDict()
  c.data.dataset = "kinetics"
  c.data.root = ""  # Frame store directory (or gs:// path).
  c.data.train_split = "train"
  c.data.eval_split = "val"
  c.data.num_train_examples = 234_619  # N: defines an epoch (Kinetics-400 train set).
  c.data.num_frames = 32  # T0: frames of the base shape (fast pathway for SlowFast).
  c.data.sampling_rate = 2  # tau: temporal stride of the base shape.
  c.data.crop_size = 224  # S0: training crop of the base shape.
  c.data.jitter_scales = (256, 320)  # Short-side scale jitter range at S0.
  c.data.sampling = "stride"  # "segment" for SSv2.
  c.data.flip = True
  # Decode crops at least twice the output side at 1/2, 1/4 or 1/8 scale (JPEG DCT scaling,
  # `augment.decode_crop_resize`): cheaper for the small multigrid shapes, but the pixels
  # differ from the reference's bilinear resize (benchmarks/RESULTS.md §5).
  c.data.scaled_decode = False
  c.data.multi_label = False  # Charades.
  c.data.mean = (0.45, 0.45, 0.45)
  c.data.std = (0.225, 0.225, 0.225)
  c.data.cache_dir = ""  # Synthetic dataset cache ("" = ~/.cache/mgjax).
  c.data.synthetic_videos = 2000  # Synthetic dataset size (train + eval).
  c.data.synthetic_seed = 0  # Synthetic dataset generation seed (part of its cache key).
  # "motion": 12 one-motion classes (the demo's); "composite": 30 classes of two motions in
  # sequence by a striped actor among plain distractors (`mgjax/data/synthetic.py`).
  c.data.synthetic_task = "motion"
  c.data.num_workers = 0  # tf.data parallelism (0 = AUTOTUNE).
  # A tf.data service dispatcher, "grpc://HOST:PORT": training batches are made on its
  # workers (CPU machines; `mgjax/data/service.py`), the same as locally. "" = in-process.
  c.data.service_address = ""

  c.optim = ml_collections.ConfigDict()
  c.optim.batch_size = 64  # B0: global batch of the base shape.
  c.optim.base_lr = 0.1
  c.optim.lr_policy = "steps"
  c.optim.steps = (0, 94, 154, 196)  # LR stage starts, in epochs of the baseline.
  c.optim.gamma = 0.1
  c.optim.max_epoch = 239
  c.optim.warmup_epochs = 34.0
  c.optim.warmup_start_lr = 0.01
  c.optim.cosine_end_lr = 0.0
  c.optim.momentum = 0.9
  c.optim.nesterov = True
  c.optim.weight_decay = 1e-4  # Not applied to BatchNorm parameters.

  c.multigrid = ml_collections.ConfigDict()
  c.multigrid.long_cycle = True
  c.multigrid.short_cycle = True
  c.multigrid.long_cycle_mode = "multi"  # "single": one long cycle, no fine-tune phase.
  c.multigrid.long_cycle_factors = LONG_CYCLE_FACTORS
  c.multigrid.short_cycle_factors = SHORT_CYCLE_FACTORS
  c.multigrid.short_cycle_relative = "base"  # The reference's behaviour.
  c.multigrid.epoch_factor = 1.5
  c.multigrid.bn_group_size = 8  # BN statistics over groups of this many long-cycle clips.

  c.train = ml_collections.ConfigDict()
  c.train.checkpoint_every_steps = 1000
  c.train.keep_checkpoints = 3
  c.train.log_every_steps = 50
  c.train.eval_every_epochs = 10.0  # 0 = only at the end.
  c.train.precise_bn_batches = 200  # 0 = off (the running averages of training).
  c.train.init_from = ""  # mgjax checkpoint dir or converted reference checkpoint.
  c.train.compile_cache_dir = ""  # "" = <workdir>/compile_cache.
  # Compile the plan's step shapes on a thread beside training (step 0 waits only for
  # its own shape); False compiles them all before step 0, for benchmarks that time
  # the training loop alone.
  c.train.background_compile = True
  c.train.max_steps = 0  # Stop early after this many steps (0 = the whole plan).

  c.eval = ml_collections.ConfigDict()
  c.eval.preset = "10x3"
  c.eval.num_temporal_views = 10
  c.eval.num_spatial_crops = 3
  c.eval.crop_size = 256  # Test crop; the short side is resized to it.
  c.eval.batch_size = 16  # Global number of views per eval step.
  c.eval.max_videos = 0  # 0 = the whole split.

  # Measured results of this config, printed beside a run's own at its end so that a user
  # sees the trade at a glance (0 / "" = none; the demo sets them).
  c.reference = ml_collections.ConfigDict()
  c.reference.baseline_top1 = 0.0  # The fixed-shape baseline (multigrid off), %.
  c.reference.baseline_train_minutes = 0.0  # Its training loop.
  c.reference.multigrid_top1 = 0.0  # The config as it is, %.
  c.reference.multigrid_train_minutes = 0.0
  c.reference.measured_on = ""  # Seeds, machine, command.

  c.lock()
  return c


def _err(field: str, value: Any, allowed: str) -> ConfigError:
  return ConfigError(f"config.{field} = {value!r} is invalid: {allowed}")


def _get(c: ml_collections.ConfigDict, field: str) -> Any:
  value = c
  for part in field.split("."):
    value = value[part]
  return value


def _one_of(c: ml_collections.ConfigDict, field: str, allowed: Sequence[str]) -> None:
  value = _get(c, field)
  if value not in allowed:
    raise _err(field, value, "allowed values are " + ", ".join(repr(a) for a in allowed))


def validate(c: ml_collections.ConfigDict, num_devices: int | None = None) -> None:
  """Checks a config's values; raises one ConfigError naming the field.

  Args:
    c: the config.
    num_devices: when given, global batches must divide over this many devices.

  Raises:
    ConfigError: on the first invalid field.
  """
  _one_of(c, "data.dataset", DATASETS)
  _one_of(c, "data.synthetic_task", SYNTHETIC_TASKS)
  _one_of(c, "data.sampling", SAMPLINGS)
  _one_of(c, "model.dtype", DTYPES)
  _one_of(c, "optim.lr_policy", LR_POLICIES)
  _one_of(c, "multigrid.long_cycle_mode", LONG_CYCLE_MODES)
  _one_of(c, "multigrid.short_cycle_relative", SHORT_CYCLE_RELATIVE)
  _one_of(c, "eval.preset", tuple(EVAL_PRESETS))
  if c.data.crop_size <= 0 or c.data.crop_size % 32:
    raise _err("data.crop_size", c.data.crop_size, "must be a positive multiple of 32")
  if c.data.num_frames < 1:
    raise _err("data.num_frames", c.data.num_frames, "must be >= 1")
  if c.data.num_train_examples < 1:
    raise _err("data.num_train_examples", c.data.num_train_examples, "must be >= 1")
  address = _SERVICE_ADDRESS.fullmatch(c.data.service_address)
  if c.data.service_address and not (address and 0 < int(address.group(2)) < 65536):
    raise _err(
        "data.service_address",
        c.data.service_address,
        "use '' (no service) or the dispatcher's 'grpc://HOST:PORT'",
    )
  lo, hi = c.data.jitter_scales
  if not 0 < lo <= hi or lo < c.data.crop_size:
    raise _err(
        "data.jitter_scales",
        c.data.jitter_scales,
        f"need crop_size ({c.data.crop_size}) <= low <= high",
    )
  for field, value in (
      ("optim.base_lr", c.optim.base_lr),
      ("optim.batch_size", c.optim.batch_size),
      ("optim.max_epoch", c.optim.max_epoch),
  ):
    if value <= 0:
      raise _err(field, value, "must be > 0")
  for field, value in (
      ("optim.warmup_start_lr", c.optim.warmup_start_lr),
      ("optim.cosine_end_lr", c.optim.cosine_end_lr),
      ("optim.weight_decay", c.optim.weight_decay),
  ):
    if value < 0:
      raise _err(field, value, "must be >= 0")
  if not 0 < c.optim.gamma <= 1:
    raise _err("optim.gamma", c.optim.gamma, "must be in (0, 1]")
  if not 0 <= c.optim.momentum < 1:
    raise _err("optim.momentum", c.optim.momentum, "must be in [0, 1)")
  steps = tuple(c.optim.steps)
  if not steps or steps[0] != 0 or list(steps) != sorted(set(steps)):
    raise _err("optim.steps", steps, "must start at 0 and increase strictly")
  if c.optim.max_epoch <= steps[-1]:
    raise _err("optim.max_epoch", c.optim.max_epoch, f"must exceed the last step ({steps[-1]})")
  if not 0 <= c.optim.warmup_epochs < c.optim.max_epoch:
    raise _err("optim.warmup_epochs", c.optim.warmup_epochs, "must be in [0, max_epoch)")
  if c.multigrid.epoch_factor <= 0:
    raise _err("multigrid.epoch_factor", c.multigrid.epoch_factor, "must be > 0")
  for t, s in c.multigrid.long_cycle_factors:
    if not (0 < t <= 1 and 0 < s <= 1):
      raise _err(
          "multigrid.long_cycle_factors",
          c.multigrid.long_cycle_factors,
          "each (temporal, spatial) factor must be in (0, 1]",
      )
  if len(c.multigrid.short_cycle_factors) != 2:
    raise _err(
        "multigrid.short_cycle_factors",
        c.multigrid.short_cycle_factors,
        "must hold two spatial factors (the third short-cycle size is the long-cycle S)",
    )
  g = c.multigrid.bn_group_size
  if g < 1:
    raise _err("multigrid.bn_group_size", g, "must be >= 1")
  if c.optim.batch_size % g:
    raise _err(
        "optim.batch_size",
        c.optim.batch_size,
        f"must divide into BN groups of multigrid.bn_group_size={g}",
    )
  if num_devices is not None:
    for field, b in (
        ("optim.batch_size", c.optim.batch_size),
        ("eval.batch_size", c.eval.batch_size),
    ):
      if b % num_devices:
        raise _err(field, b, f"must be divisible by the number of devices ({num_devices})")
  for field, ok, allowed in _RANGES:
    value = _get(c, field)
    if not ok(value):
      raise _err(field, value, allowed)
  if c.data.dataset == "synthetic":
    for field in ("data.train_split", "data.eval_split"):
      _one_of(c, field, SYNTHETIC_SPLITS)
  if c.data.dataset == "ssv2" and c.data.sampling != "segment":
    raise _err("data.sampling", c.data.sampling, "Something-Something V2 uses 'segment'")


# Dataset recipes shared by the config files: the facts of each dataset and the
# reference's training recipe for it live here once; config files pick the model,
# the frames and the multigrid mode.
def kinetics400(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Kinetics-400 with the reference's stepwise SlowFast recipe.

  400 classes, 234,619 training clips, stride sampling, flips; global batch 64,
  LR 0.1 ÷10 at epochs 94, 154 and 196, 239 epochs, warm-up from 0.01 over 34
  epochs, weight decay 1e-4.
  """
  c.data.dataset = "kinetics"
  c.data.num_train_examples = 234_619
  c.model.num_classes = 400
  c.data.sampling = "stride"
  c.data.flip = True
  c.data.multi_label = False
  c.optim.batch_size = 64
  c.optim.base_lr = 0.1
  c.optim.steps = (0, 94, 154, 196)
  c.optim.max_epoch = 239
  c.optim.warmup_epochs = 34.0
  c.optim.warmup_start_lr = 0.01
  c.optim.weight_decay = 1e-4
  return c


def ssv2(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Something-Something V2 with the supplement's recipe (§2).

  174 classes, 168,913 training clips; segment sampling (one frame from each of T
  segments) and no flips, since the labels distinguish directions; global batch
  16, LR 0.03 ÷10 at epochs 14 and 18, 22 epochs, warm-up from 1e-4 over 0.19
  epochs (the supplement's 2k iterations at batch 16), weight decay 1e-6. Tested
  with 1 temporal view x 3 crops as the reference.
  """
  c.data.dataset = "ssv2"
  c.data.num_train_examples = 168_913
  c.model.num_classes = 174
  c.data.sampling = "segment"
  c.data.sampling_rate = 1  # Unused by segment sampling.
  c.data.flip = False
  c.data.multi_label = False
  c.optim.batch_size = 16
  c.optim.base_lr = 0.03
  c.optim.steps = (0, 14, 18)
  c.optim.max_epoch = 22
  c.optim.warmup_epochs = 0.19
  c.optim.warmup_start_lr = 1e-4
  c.optim.weight_decay = 1e-6
  c.train.eval_every_epochs = 2.0
  c.eval.preset = "custom"
  c.eval.num_temporal_views = 1
  c.eval.num_spatial_crops = 3
  return c


def charades(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Charades with the reference's recipe: multi-label, mAP.

  157 classes, 7,985 training videos; global batch 16, LR 0.0375 ÷10 at epochs 41
  and 49, 57 epochs (the supplement's 28k iterations at batch 16), warm-up from
  1e-4 over 4 epochs, short-side jitter 256-340; sigmoid outputs, max over 10x3
  test views.
  """
  c.data.dataset = "charades"
  c.data.num_train_examples = 7_985
  c.model.num_classes = 157
  c.data.sampling = "stride"
  c.data.flip = True
  c.data.multi_label = True
  c.data.jitter_scales = (256, 340)
  c.optim.batch_size = 16
  c.optim.base_lr = 0.0375
  c.optim.steps = (0, 41, 49)
  c.optim.max_epoch = 57
  c.optim.warmup_epochs = 4.0
  c.optim.warmup_start_lr = 1e-4
  c.optim.weight_decay = 1e-4
  c.train.eval_every_epochs = 5.0
  return c


def synthetic_demo(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The small-scale setting of the demo and the benchmarks: a CPU-sized SlowFast on the
  synthetic motion dataset.

  SlowFast 8x8 at width 32 with one block per stage; 1,000 videos (800 train, 104 val, 96
  test) of dataset seed 1, whose videos no tuning has seen; reported on the test split.
  Base shape 4x32x32²: 32 consecutive frames at batch 4.
  """
  c.model.name = "slowfast_r50_8x8"
  c.model.width = 32  # Fast pathway: 4 channels.
  c.model.depths = (1, 1, 1, 1)
  # With one block per stage, zero-initialised residual branches leave the network a chain
  # of 1x1x1 shortcuts at the start; it then stays at chance for hundreds of steps.
  c.model.zero_init_final_bn = False
  c.model.dropout_rate = 0.0
  c.data.dataset = "synthetic"
  c.data.synthetic_videos = 1000
  # Seed 0's videos tuned the LR and the shape below (their old 200-video val split is
  # today's val + test): seed 1 keeps the test split unseen.
  c.data.synthetic_seed = 1
  c.data.num_train_examples = 800
  c.data.eval_split = "test"
  # 32 consecutive frames (8 on the slow pathway) at a base batch of 4, not 16 frames at
  # stride 2 and batch 8 (the same B·T·S²): the long cycle's coarsest shape divides T by 4,
  # and at 4 frames (one on the slow pathway) the first segment learned nothing at any LR
  # tried (36-55% over seeds 0-2 against 73.5-77.5% with 32 frames, at 30 epochs).
  c.data.num_frames = 32
  c.data.sampling_rate = 1
  c.data.crop_size = 32
  c.data.jitter_scales = (32, 36)  # Keep most of the (downscaled) frame in the crop.
  # A small base batch: at this scale accuracy is bound by the number of SGD steps more
  # than by epochs. BN groups of 4 clips: one base-shape batch.
  c.optim.batch_size = 4
  c.multigrid.bn_group_size = 4
  c.optim.base_lr = 0.0025  # x8 in the first long-cycle shape; 0.00125 and 0.005 are worse.
  c.optim.warmup_epochs = 1.0
  c.optim.warmup_start_lr = 0.00025
  c.optim.weight_decay = 1e-4
  # 48 base epochs (72 epochs of data with multigrid's epoch factor 1.5): with 30, long +
  # short ran 1,626 steps and ended 15-25 points below the baseline (RESULTS.md §0). The
  # LR stages are the earlier (0, 21, 27 of 30 epochs), stretched.
  c.optim.steps = (0, 34, 43)
  c.optim.max_epoch = 48
  c.train.log_every_steps = 20
  c.train.checkpoint_every_steps = 100
  c.train.eval_every_epochs = 0.0
  c.train.precise_bn_batches = 10
  c.eval.preset = "custom"
  c.eval.num_temporal_views = 2
  c.eval.num_spatial_crops = 1
  c.eval.crop_size = 32
  c.eval.batch_size = 16
  return c


def multigrid_off(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The baseline: base shape, base epochs, base LR schedule."""
  c.multigrid.long_cycle = False
  c.multigrid.short_cycle = False
  return c
