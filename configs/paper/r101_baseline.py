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

"""Supplement Table 1.1, row 'R101 baseline': SlowFast R101 8x8 on Kinetics-400, the
R50 recipe unchanged.

Published: 76.5 top-1 / 92.4 top-5.
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.kinetics400(config_lib.base())
  c.model.name = "slowfast_r101_8x8"
  c.data.num_frames = 32
  c.data.sampling_rate = 2
  return config_lib.multigrid_off(c)
