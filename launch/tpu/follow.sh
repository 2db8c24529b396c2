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
# Follows a run: streams a worker's log until the trainer exits (Ctrl-C stops
# following, not training), or with --status prints every worker's state.
#
#   launch/tpu/follow.sh --zone us-central2-b
#   launch/tpu/follow.sh --zone us-central2-b --worker all
#   launch/tpu/follow.sh --zone us-central2-b --status

set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<USAGE
Usage: follow.sh [flags]
${COMMON_FLAGS_HELP}
  --worker N|all           whose log to stream [MGJAX_FOLLOW_WORKER, 0]
  --status                 print the slice's state and each worker's trainer state
Log lines shown first: MGJAX_LOG_LINES on the worker (default 100).
USAGE
}

parse_flags "$@"
finish_settings
if [[ "${STATUS_ONLY}" == 1 ]]; then
  get_slice_state
  echo "slice ${TPU_NAME}: ${SLICE_STATE}"
  get_worker_statuses
  echo "workers: $(echo "${WORKER_STATUSES:-unreachable}" | tr '\n' ' ')-> $(run_outcome "${WORKER_STATUSES}")"
else
  follow_log
fi
