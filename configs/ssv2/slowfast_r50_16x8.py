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

"""Something-Something V2, SlowFast R50 16x8, baseline (no multigrid).

64 frames by segment sampling, the supplement's SSv2 recipe
(`mgjax.config.ssv2`: batch 16, LR 0.03, steps 0/14/18, 22 epochs, warm-up
0.19 epochs from 1e-4, weight decay 1e-6, no flips). The reference starts from
Kinetics weights: set `--config.train.init_from` to a Kinetics SlowFast 16x8
checkpoint (mgjax, or converted by `python -m mgjax.models.convert`).
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.ssv2(config_lib.base())
  c.model.name = "slowfast_r50_16x8"
  c.data.num_frames = 64
  c.data.sampling_rate = 1
  return config_lib.multigrid_off(c)
