#!/bin/bash
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
#
# Step time, clips/s and MFU of the full-size models on one GPU, mgjax vs PyTorchVideo.
#
#   bash benchmarks/gpu.sh OUTDIR [PEAK_BF16_TFLOPS]
#
# 1. SlowFast R50 8x8 (32x224²) and I3D R50 (8x224²), batch 8, bf16 compute.
# 2. As 1 in float32 (each framework's default convolution precision; the MFU column
#    against half the bf16 peak, TF32's).
# 3. Every step shape of the paper's Kinetics SlowFast multigrid plan at 8 clips per GPU
#    (the paper's per-GPU batch), bf16: per-shape times and the run time they imply
#    for multigrid and its baseline. Last, as it is the slow one: on an H100 it takes
#    about 9 min, 368 s of which is XLA compiling its 10 shapes.
# Each part writes its table to OUTDIR as soon as it ends (a part cut short leaves
# step_time_<tag>_partial.json). PEAK_BF16_TFLOPS is the GPU's dense bf16 peak
# (default 989, an H100/H200 SXM).
# Needs JAX with its CUDA plugin, flax, optax, orbax, ml_collections, absl, torch with CUDA and
# pytorchvideo; not TensorFlow (the train step does not import it).
set -euo pipefail
out=${1:?usage: gpu.sh OUTDIR [PEAK_BF16_TFLOPS]}
peak=${2:-989}
cd "$(dirname "$0")/.."
# JAX would take 75% of the GPU's memory up front; torch runs in the same process.
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
models=(--cases "slowfast_r50,i3d_r50" --model_batch 8 --model_crop 224 --rounds 3 --steps 5)
python3 benchmarks/step_time.py "${models[@]}" --dtype bfloat16 --peak_tflops "$peak" \
  --outdir "$out" --tag gpu_bf16
python3 benchmarks/step_time.py "${models[@]}" --dtype float32 \
  --peak_tflops "$(python3 -c "print($peak / 2)")" --outdir "$out" --tag gpu_fp32
python3 benchmarks/step_time.py --cases plan --plan_config configs/kinetics/slowfast_r50_8x8_multigrid.py \
  --plan_set optim.batch_size=8 --dtype bfloat16 --rounds 2 --steps 3 --peak_tflops "$peak" \
  --outdir "$out" --tag gpu_plan
