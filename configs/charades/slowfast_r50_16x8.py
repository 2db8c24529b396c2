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

"""Charades, SlowFast R50 16x8, baseline (no multigrid): multi-label, mAP.

The reference's Charades recipe (`mgjax.config.charades`): batch 16, LR 0.0375
÷10 at epochs 41 and 49, 57 epochs (the supplement's 28k iterations), warm-up 4
epochs from 1e-4, jitter 256-340, sigmoid outputs with max over test views. The
reference starts from Kinetics weights: set `--config.train.init_from`.
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.charades(config_lib.base())
  c.model.name = "slowfast_r50_16x8"
  c.data.num_frames = 64
  c.data.sampling_rate = 2
  return config_lib.multigrid_off(c)
