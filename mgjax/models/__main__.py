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
"""Model report: the models, their parameters and their cost per input shape.

  python -m mgjax.models                                  # every model
  python -m mgjax.models --model slowfast_r50_8x8         # its default clip at 224² and 256²
  python -m mgjax.models --model i3d_r50 --frames 16 --crop 112 --batch 8
  python -m mgjax.models --config configs/kinetics/slowfast_r50_8x8_multigrid.py

With `--config` (and `--config.a.b=v` overrides) the model comes from the config
and the cost is shown for every shape of the run's multigrid plan, per clip and
per step (global batch), next to the step's share of the base shape's cost: the
cost per shape that the schedule promises.

FLOPs are XLA's cost analysis of the compiled inference forward pass for
abstract inputs (no real memory is allocated); XLA counts a multiply-add as 2
FLOPs, the papers' "GFLOPs" count multiply-adds (GMACs column).
"""

from __future__ import annotations

import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from mgjax import config as config_lib
from mgjax.models import registry
from mgjax.models import summary

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file (optional).", lock_config=True
)
_MODEL = flags.DEFINE_string("model", None, "Model name (default: the config's, or list all).")
_FRAMES = flags.DEFINE_integer("frames", 0, "Frames per clip (default: the model's).")
_CROP = flags.DEFINE_integer("crop", 0, "Crop size (default: 224 and 256).")
_BATCH = flags.DEFINE_integer("batch", 1, "Clips per forward pass.")
_NUM_CLASSES = flags.DEFINE_integer("num_classes", 400, "Classes (without --config).")


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = _CONFIG.value
  if config is not None:
    config_lib.validate(config)
    if _MODEL.value and _MODEL.value != config.model.name:
      raise app.UsageError("--model and --config disagree; use --config.model.name")
    print(summary.plan_report(config))
    return
  if not _MODEL.value:
    print(summary.list_models())
    return
  spec = registry.model_spec(_MODEL.value)
  model_config = config_lib.base().model
  model_config.name = _MODEL.value
  model_config.num_classes = _NUM_CLASSES.value
  frames = _FRAMES.value or spec.num_frames
  if frames % spec.alpha:
    raise app.UsageError(f"{_MODEL.value} needs frames divisible by alpha={spec.alpha}")
  crops = [_CROP.value] if _CROP.value else [224, 256]
  print(summary.model_report(model_config, frames, crops, _BATCH.value))


if __name__ == "__main__":
  app.run(main)
  sys.exit(0)
