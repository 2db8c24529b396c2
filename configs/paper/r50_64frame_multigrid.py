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

"""Supplement Table 1.4, row 'Multigrid': the 64-frame R50 SlowFast (16x8),
multigrid (5.5x speedup). Published numbers for the table's test settings,
which are eval presets:

  --config.eval.preset=center_224   77.6 / 93.2
  --config.eval.preset=3crop_224    78.1 / 93.5
  --config.eval.preset=3crop_256    78.1 / 93.4 (the default here)
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.kinetics400(config_lib.base())
  c.model.name = "slowfast_r50_16x8"
  c.data.num_frames = 64
  c.data.sampling_rate = 2
  c.eval.preset = "3crop_256"
  return c
