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
# Stops the trainer on every worker: SIGTERM, so it saves a checkpoint first
# (run.sh with the same workdir resumes it). The slice stays up.
#
#   launch/tpu/stop.sh --zone us-central2-b

set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<USAGE
Usage: stop.sh [flags]
${COMMON_FLAGS_HELP}
USAGE
}

parse_flags "$@"
finish_settings
stop_training
