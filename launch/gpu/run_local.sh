#!/usr/bin/env bash
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
# Trains on one machine with all its GPUs: a single process drives every
# local GPU (jax needs no distributed set-up within one host).
#
#   launch/gpu/run_local.sh --config configs/kinetics/slowfast_r50_8x8_multigrid.py \
#     --workdir /data/runs/k400_mg [--gpus 0,1,2,3] [--config.a.b=V ...] [-- ARGS...]
#
# The trainer is exec'ed, so a SIGTERM sent to this script (Ctrl-C, a job
# scheduler) reaches it directly and it saves a checkpoint; running the same
# command again resumes from the workdir.

set -euo pipefail

PYTHON=${MGJAX_PYTHON:-python3}
DRY_RUN=${MGJAX_DRY_RUN:-0}
CONFIG=${MGJAX_CONFIG:-}
WORKDIR=${MGJAX_WORKDIR:-}
MODE=${MGJAX_MODE:-}
GPUS=${MGJAX_GPUS:-}
ARGS=()

usage() {
  cat <<'USAGE'
Usage: run_local.sh --config PATH --workdir DIR [flags] [--config.a.b=V ...] [-- ARGS...]
  --config PATH      config file [MGJAX_CONFIG]
  --workdir DIR      checkpoints and logs (local disk or gs://) [MGJAX_WORKDIR]
  --mode MODE        train | eval | train_and_eval [MGJAX_MODE]
  --gpus LIST        CUDA_VISIBLE_DEVICES, e.g. 0,1,2,3 [MGJAX_GPUS, all]
  --python PATH      Python with mgjax and jax[cuda12] installed [MGJAX_PYTHON, python3]
  --dry-run          print the command instead of running it [MGJAX_DRY_RUN=1]
USAGE
}

die() { echo "run_local.sh: $*" >&2; exit 1; }

while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1 ;;
    --config=*) CONFIG=${1#*=} ;;
    --workdir=*) WORKDIR=${1#*=} ;;
    --mode=*) MODE=${1#*=} ;;
    --gpus=*) GPUS=${1#*=} ;;
    --python=*) PYTHON=${1#*=} ;;
    --config|--workdir|--mode|--gpus|--python)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --config) CONFIG=$2 ;;
        --workdir) WORKDIR=$2 ;;
        --mode) MODE=$2 ;;
        --gpus) GPUS=$2 ;;
        --python) PYTHON=$2 ;;
      esac
      shift ;;
    --config.*) ARGS+=("$1") ;;
    --) shift; ARGS+=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[[ -n "${CONFIG}" ]] || die "pass --config (or set MGJAX_CONFIG)"
[[ -n "${WORKDIR}" ]] || die "pass --workdir (or set MGJAX_WORKDIR)"

cmd=("${PYTHON}" -m mgjax.main --config "${CONFIG}" --workdir "${WORKDIR}")
if [[ -n "${MODE}" ]]; then cmd+=(--mode="${MODE}"); fi
cmd+=(${ARGS[@]+"${ARGS[@]}"})
if [[ -n "${GPUS}" ]]; then export CUDA_VISIBLE_DEVICES=${GPUS}; fi

if [[ "${DRY_RUN}" == 1 ]]; then
  printf '+'
  if [[ -n "${GPUS}" ]]; then printf ' CUDA_VISIBLE_DEVICES=%q' "${GPUS}"; fi
  printf ' %q' "${cmd[@]}"
  printf '\n'
  exit 0
fi
exec "${cmd[@]}"
