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
# Submits launch/gpu/slurm.sbatch with the resources given as flags.
#
#   launch/gpu/submit_slurm.sh --nodes 4 --gpus-per-node 8 \
#     --config configs/kinetics/slowfast_r50_8x8_multigrid.py --workdir /shared/runs/k400_mg
#   launch/gpu/submit_slurm.sh --nodes 4 --gpus-per-node 8 --per-gpu --partition gpu ...
#
# Other arguments (--config.a.b=V, and all after --) go to mgjax.main.

set -euo pipefail

SBATCH_SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/slurm.sbatch"
DRY_RUN=${MGJAX_DRY_RUN:-0}
NODES=${MGJAX_NODES:-2}
GPUS_PER_NODE=${MGJAX_GPUS_PER_NODE:-8}
PER_GPU=0
PARTITION=${MGJAX_PARTITION:-}
ACCOUNT=${MGJAX_ACCOUNT:-}
TIME=${MGJAX_TIME:-}
JOB_NAME=${MGJAX_JOB_NAME:-mgjax}
ARGS=()

usage() {
  cat <<'USAGE'
Usage: submit_slurm.sh [flags] --config PATH --workdir DIR [--config.a.b=V ...] [-- ARGS...]
  --nodes N            nodes [MGJAX_NODES, 2]
  --gpus-per-node G    GPUs per node [MGJAX_GPUS_PER_NODE, 8]
  --per-gpu            one process per GPU (default: one per node)
  --partition P        [MGJAX_PARTITION]
  --account A          [MGJAX_ACCOUNT]
  --time T             time limit, e.g. 24:00:00 [MGJAX_TIME, the script's 24 h]
  --job-name NAME      [MGJAX_JOB_NAME, mgjax]
  --config PATH, --workdir DIR, --mode MODE   passed to mgjax.main
  --dry-run            print the sbatch command instead of running it
Python on the nodes: MGJAX_PYTHON (exported to the job).
USAGE
}

die() { echo "submit_slurm.sh: $*" >&2; exit 1; }

while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1 ;;
    --per-gpu) PER_GPU=1 ;;
    --nodes|--gpus-per-node|--partition|--account|--time|--job-name|--config|--workdir|--mode)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --nodes) NODES=$2 ;;
        --gpus-per-node) GPUS_PER_NODE=$2 ;;
        --partition) PARTITION=$2 ;;
        --account) ACCOUNT=$2 ;;
        --time) TIME=$2 ;;
        --job-name) JOB_NAME=$2 ;;
        --config|--workdir) ARGS+=("$1" "$2") ;;
        --mode) ARGS+=("--mode=$2") ;;
      esac
      shift ;;
    --config=*|--workdir=*|--mode=*|--config.*) ARGS+=("$1") ;;
    --) shift; ARGS+=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

tasks_per_node=1
if [[ "${PER_GPU}" == 1 ]]; then tasks_per_node=${GPUS_PER_NODE}; fi
cmd=(sbatch --job-name="${JOB_NAME}" --nodes="${NODES}" --gpus-per-node="${GPUS_PER_NODE}"
     --ntasks-per-node="${tasks_per_node}")
if [[ -n "${PARTITION}" ]]; then cmd+=(--partition="${PARTITION}"); fi
if [[ -n "${ACCOUNT}" ]]; then cmd+=(--account="${ACCOUNT}"); fi
if [[ -n "${TIME}" ]]; then cmd+=(--time="${TIME}"); fi
cmd+=("${SBATCH_SCRIPT}" ${ARGS[@]+"${ARGS[@]}"})

if [[ "${DRY_RUN}" == 1 ]]; then
  printf '+'
  printf ' %q' "${cmd[@]}"
  printf '\n'
  exit 0
fi
"${cmd[@]}"
