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
# Starts a tf.data service server for the training input (mgjax/data/service.py) on
# this CPU machine: the dispatcher (one per service) or a worker (one per machine).
#
#   launch/cpu/data_service.sh dispatcher [--port 5050]
#   launch/cpu/data_service.sh worker --dispatcher HOST:5050 [--port 5051]
#
# Then train with --config.data.service_address=grpc://HOST:5050. Workers read the
# frame store at the trainer's paths (config.data.root: gs:// or a shared file
# system). The server is exec'ed and runs until it is killed (SIGTERM, Ctrl-C).

set -euo pipefail

PYTHON=${MGJAX_PYTHON:-python3}
DRY_RUN=${MGJAX_DRY_RUN:-0}
DISPATCHER=${MGJAX_DISPATCHER:-}
PORT=""
ROLE=""
ARGS=()

usage() {
  cat <<'USAGE'
Usage: data_service.sh dispatcher|worker [flags] [-- ARGS...]
  --dispatcher HOST:PORT  worker: the dispatcher [MGJAX_DISPATCHER]
  --port PORT             dispatcher: 5050 by default; worker: any free port by default
  --python PATH           Python with mgjax installed [MGJAX_PYTHON, python3]
  --dry-run               print the command instead of running it [MGJAX_DRY_RUN=1]
ARGS go to `python -m mgjax.data.service` (e.g. --worker_address HOST:%port%).
USAGE
}

die() { echo "data_service.sh: $*" >&2; exit 1; }

while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1 ;;
    dispatcher|worker) ROLE=$1 ;;
    --dispatcher=*) DISPATCHER=${1#*=} ;;
    --port=*) PORT=${1#*=} ;;
    --python=*) PYTHON=${1#*=} ;;
    --dispatcher|--port|--python)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --dispatcher) DISPATCHER=$2 ;;
        --port) PORT=$2 ;;
        --python) PYTHON=$2 ;;
      esac
      shift ;;
    --) shift; ARGS+=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

[[ -n "${ROLE}" ]] || die "say which server: dispatcher or worker (see --help)"
cmd=("${PYTHON}" -m mgjax.data.service "${ROLE}")
if [[ -n "${PORT}" ]]; then cmd+=(--port "${PORT}"); fi
if [[ "${ROLE}" == worker ]]; then
  [[ -n "${DISPATCHER}" ]] || die "a worker needs --dispatcher HOST:PORT (or MGJAX_DISPATCHER)"
  cmd+=(--dispatcher_address "${DISPATCHER}")
fi
cmd+=(${ARGS[@]+"${ARGS[@]}"})
# TensorFlow on CPU only, also on a machine with GPUs (they stay with any trainer there).
export CUDA_VISIBLE_DEVICES=""

if [[ "${DRY_RUN}" == 1 ]]; then
  printf '+ CUDA_VISIBLE_DEVICES='
  printf ' %q' "${cmd[@]}"
  printf '\n'
  exit 0
fi
exec "${cmd[@]}"
