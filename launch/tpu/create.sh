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
# Creates a Cloud TPU VM or pod slice (on-demand, spot, or through a queued
# resource) and waits until it is usable.
#
#   launch/tpu/create.sh --zone us-central2-b --accelerator-type v4-8
#   launch/tpu/create.sh --zone us-east5-a --accelerator-type v5p-64 --queued --spot

set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<USAGE
Usage: create.sh [flags]
Creates the slice (tpu-vm create, or queued-resources create with --queued)
and polls until it is READY (ACTIVE for a queued resource).

${COMMON_FLAGS_HELP}
  --valid-until DURATION   queued request expires after this (e.g. 6h) [MGJAX_VALID_UNTIL]
  --poll-seconds N         seconds between state polls [MGJAX_POLL_SECONDS, 60]
Extra create flags: MGJAX_CREATE_FLAGS="--network=... --service-account=..."
USAGE
}

parse_flags "$@"
finish_settings
create_slice
wait_ready || exit 1
