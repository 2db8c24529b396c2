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
# Starts `python -m mgjax.main` on all workers of a slice at once (detached:
# it survives a dropped connection) and streams worker 0's log until it ends.
# On SIGTERM (preemption, stop.sh) the trainer saves a checkpoint; running the
# same command again resumes from the workdir.
#
#   launch/tpu/run.sh --zone us-central2-b \
#     --config configs/kinetics/slowfast_r50_8x8_multigrid.py \
#     --workdir gs://BUCKET/runs/k400_mg -- --config.data.root=gs://BUCKET/k400

set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<USAGE
Usage: run.sh [flags] [--config.a.b=V ...] [-- MGJAX_MAIN_ARGS...]
${COMMON_FLAGS_HELP}
${TRAIN_FLAGS_HELP}
  --no-follow              return after starting, do not stream the log
  --worker N|all           whose log to stream [MGJAX_FOLLOW_WORKER, 0]
USAGE
}

parse_flags "$@"
finish_settings
resolve_config
check_workdir
start_training
if [[ "${FOLLOW}" == 1 ]]; then
  follow_log
else
  log "started; follow with launch/tpu/follow.sh --name ${TPU_NAME} --zone ${ZONE}"
fi
