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
"""A tiny multigrid run for the tests: seconds per step on a CPU.

A 1-block-per-stage SlowFast of width 8 on a small synthetic motion dataset at
32-pixel crops and 16 frames, with the long and short cycles on, so a few dozen
steps pass through several multigrid shapes, a segment boundary, checkpoints
and a 2-view evaluation.
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.base()
  c.model.name = "slowfast_r50_8x8"
  c.model.width = 8
  c.model.depths = (1, 1, 1, 1)
  c.model.dropout_rate = 0.0
  c.data.dataset = "synthetic"
  c.data.synthetic_videos = 60  # 48 train, 12 val.
  c.data.num_train_examples = 48
  c.data.num_frames = 16
  c.data.sampling_rate = 1
  c.data.crop_size = 32
  c.data.jitter_scales = (32, 40)
  c.optim.batch_size = 8
  c.optim.base_lr = 0.05
  c.optim.steps = (0, 6, 9)
  c.optim.max_epoch = 12
  c.optim.warmup_epochs = 0.0
  c.optim.weight_decay = 1e-4
  c.train.log_every_steps = 5
  c.train.checkpoint_every_steps = 10
  c.train.keep_checkpoints = 100
  c.train.eval_every_epochs = 0.0
  c.train.precise_bn_batches = 2
  c.eval.preset = "custom"
  c.eval.num_temporal_views = 2
  c.eval.num_spatial_crops = 1
  c.eval.crop_size = 32
  c.eval.batch_size = 8
  return c
