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
# Runs a training job to the end on spot or queued capacity: makes sure the
# slice exists (creating it, and installing mgjax, when needed), starts
# `python -m mgjax.main` on all workers, then polls. When the slice is lost
# (a spot VM PREEMPTED/TERMINATED, a queued resource SUSPENDED/FAILED) it
# deletes it, creates it again and relaunches the same command: the trainer
# saved a checkpoint on SIGTERM and resumes from the GCS workdir. Bounded by
# --max-retries relaunches; a trainer that fails on a healthy slice is
# relaunched at most MGJAX_MAX_FAILURES times. Works for on-demand slices too.
#
#   launch/tpu/run_preemptible.sh --zone us-east5-a --accelerator-type v5p-64 \
#     --queued --spot --config configs/kinetics/slowfast_r50_8x8_multigrid.py \
#     --workdir gs://BUCKET/runs/k400_mg --delete-when-done

set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MAX_FAILURES=${MGJAX_MAX_FAILURES:-2}

usage() {
  cat <<USAGE
Usage: run_preemptible.sh [flags] [--config.a.b=V ...] [-- MGJAX_MAIN_ARGS...]
${COMMON_FLAGS_HELP}
${TRAIN_FLAGS_HELP}
Loop flags:
  --max-retries N          relaunches after the first launch [MGJAX_MAX_RETRIES, 20]
  --poll-seconds N         seconds between checks [MGJAX_POLL_SECONDS, 60]
  --delete-when-done       delete the slice once training has finished
  --valid-until DURATION   queued request expiry (e.g. 6h) [MGJAX_VALID_UNTIL]
  --source SRC             as in setup.sh [MGJAX_SOURCE, sdist]
Trainer failures on a healthy slice tolerated: MGJAX_MAX_FAILURES [2].
USAGE
}

parse_flags "$@"
finish_settings
resolve_config
check_workdir

# The steps below use `attempt`, so they are called as plain statements (bash
# ignores `set -e` in anything called from a condition) and report through
# globals.

# Makes sure a usable slice exists. Sets SLICE_OK=1 if so, and FRESH=1 when it
# was (re)created (so mgjax must be installed).
ensure_slice() {
  SLICE_OK=0
  FRESH=0
  # A dry run shows the path from nothing.
  get_slice_state NOT_FOUND
  local state=${SLICE_STATE}
  if is_lost_state "${state}"; then
    log "${TPU_NAME} is ${state}: deleting it to create it again"
    attempt delete_slice
    if ((STEP_RC != 0)); then return 0; fi
    state=NOT_FOUND
  fi
  if [[ "${state}" == NOT_FOUND ]]; then
    attempt create_slice
    if ((STEP_RC != 0)); then return 0; fi
    FRESH=1
  fi
  attempt wait_ready
  if ((STEP_RC == 0)); then SLICE_OK=1; fi
}

# Polls until training is over. Sets OUTCOME: done (every worker's trainer
# exited 0), lost (the slice is gone or preempted), interrupted (trainers
# stopped by a shutdown but the slice stayed up, e.g. a maintenance restart)
# or failed (a trainer failed on a healthy slice).
monitor() {
  OUTCOME=
  local interrupted_polls=0
  if [[ "${DRY_RUN}" == 1 ]]; then
    log "dry run: from here the slice state and the workers' status are polled every ${POLL_SECONDS}s"
    get_slice_state
    get_worker_statuses 'exited:0'
    OUTCOME='done'
    return 0
  fi
  while :; do
    pause
    get_slice_state
    if [[ "${SLICE_STATE}" == NOT_FOUND ]] || is_lost_state "${SLICE_STATE}"; then
      log "${TPU_NAME} is ${SLICE_STATE} (preempted?)"
      OUTCOME=lost
      return 0
    fi
    if [[ "${SLICE_STATE}" != "$(healthy_state)" ]]; then
      log "${TPU_NAME} is ${SLICE_STATE}; checking again later"
      continue
    fi
    get_worker_statuses
    case $(run_outcome "${WORKER_STATUSES}") in
      done) OUTCOME='done'; return 0 ;;
      interrupted)
        # The trainers saved a checkpoint on SIGTERM from their VMs' shutdown:
        # the slice's state flips to PREEMPTED/SUSPENDED shortly. If it does
        # not, relaunch on it.
        interrupted_polls=$((interrupted_polls + 1))
        if ((interrupted_polls >= 3)); then
          log "trainers were stopped by a shutdown but ${TPU_NAME} stayed up"
          OUTCOME=interrupted
          return 0
        fi
        log "trainers were stopped by a shutdown (preemption?); watching ${TPU_NAME}" ;;
      failed)
        log "the trainer failed on a healthy slice (workers: $(echo "${WORKER_STATUSES}" | tr '\n' ' '))"
        OUTCOME=failed
        return 0 ;;
      *) ;;
    esac
  done
}

launches=0
failures=0
need_setup=1
while :; do
  if ((launches > MAX_RETRIES)); then
    die "gave up after ${launches} tries (--max-retries ${MAX_RETRIES})"
  fi
  ensure_slice
  if [[ "${SLICE_OK}" != 1 ]]; then
    log "no usable slice yet; trying again"
    launches=$((launches + 1))   # A failed create counts as a try.
    pause
    continue
  fi
  if [[ "${FRESH}" == 1 ]]; then need_setup=1; fi
  # A trainer may still be running on a slice that outlived an earlier loop
  # (its workstation went away): watch it rather than reinstall or start a
  # second one.
  running=0
  if [[ "${FRESH}" != 1 && "${DRY_RUN}" != 1 ]]; then
    get_worker_statuses
    if [[ "$(run_outcome "${WORKER_STATUSES}")" == running ]]; then running=1; fi
  fi
  if [[ "${running}" == 1 ]]; then
    log "a trainer is already running on ${TPU_NAME}; watching it"
  else
    if [[ "${need_setup}" == 1 ]]; then
      attempt setup_workers
      if ((STEP_RC != 0)); then
        log "setup failed; trying again"
        launches=$((launches + 1))
        pause
        continue
      fi
      need_setup=0
    fi
    launches=$((launches + 1))
    log "launch ${launches} (at most $((MAX_RETRIES + 1)))"
    attempt start_training
    if ((STEP_RC != 0)); then
      log "start failed; checking the slice again"
      pause
      continue
    fi
  fi
  monitor
  case ${OUTCOME} in
    done)
      if [[ "${DRY_RUN}" == 1 ]]; then log "dry run: nothing was run"; else log "training finished"; fi
      if [[ "${DELETE_WHEN_DONE}" == 1 ]]; then delete_slice; fi
      exit 0 ;;
    lost) log "relaunching on a new slice" ;;
    interrupted) log "relaunching on the same slice" ;;
    failed)
      failures=$((failures + 1))
      if ((failures > MAX_FAILURES)); then
        die "the trainer failed ${failures} times on a healthy slice; see launch/tpu/follow.sh"
      fi
      # No worker may be left running before the relaunch.
      attempt stop_training ;;
  esac
done
