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

r"""Kinetics-400, SlowFast R50 8x8, stepwise baseline (no multigrid).

The reference's stepwise recipe (`mgjax.config.kinetics400`): 239 epochs, LR
0.1 at global batch 64, ÷10 at epochs 94, 154 and 196, warm-up from 0.01 over 34
epochs. 32 frames at stride 2 (the slow pathway sees 8). Published: 75.6 top-1
/ 91.9 top-5 (supplement §1.1).

  python -m mgjax.main --config configs/kinetics/slowfast_r50_8x8.py \
    --workdir DIR --config.data.root=gs://BUCKET/kinetics400_store
"""

from mgjax import config as config_lib


def get_config():
  c = config_lib.kinetics400(config_lib.base())
  c.model.name = "slowfast_r50_8x8"
  c.data.num_frames = 32
  c.data.sampling_rate = 2
  return config_lib.multigrid_off(c)
