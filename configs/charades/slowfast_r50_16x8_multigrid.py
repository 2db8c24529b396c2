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

"""Charades, SlowFast R50 16x8, multigrid (long + short cycles): multi-label, mAP.

The baseline (`slowfast_r50_16x8.py`) with multigrid on (86 epochs). Start from
Kinetics weights as the baseline (`--config.train.init_from`).
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.charades(config_lib.base())
  c.model.name = "slowfast_r50_16x8"
  c.data.num_frames = 64
  c.data.sampling_rate = 2
  return c
