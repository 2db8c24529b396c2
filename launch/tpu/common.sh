# shellcheck shell=bash disable=SC2034  # Settings are read by the scripts that source this.
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
# Shared part of the Cloud TPU launch scripts (sourced, not run).
#
# Holds the settings (environment defaults, overridden by flags), the dry-run
# switch (`run_cmd` prints a command instead of running it), and one function
# per gcloud action: create / wait / delete the slice, copy files to and run
# commands on every worker, start / watch the trainer. The scripts beside this
# file only parse flags and call these, so every gcloud command is spelled once.
#
# Written for bash >= 3.2 (the macOS default): no associative arrays or mapfile,
# and possibly-empty arrays are expanded as ${a[@]+"${a[@]}"} under `set -u`.

MGJAX_TPU_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The checkout whose configs/ (and, by default, sdist) the workers get.
REPO_ROOT=${MGJAX_REPO_ROOT:-$(cd "${MGJAX_TPU_DIR}/../.." && pwd)}

# ---------------------------------------------------------------------------
# Settings. Every one has an MGJAX_* environment default and a flag.
# ---------------------------------------------------------------------------
GCLOUD=${MGJAX_GCLOUD:-gcloud}
TPU_NAME=${MGJAX_TPU_NAME:-mgjax-tpu}
QR_NAME=${MGJAX_QR_NAME:-}                     # "" = "<TPU_NAME>-qr".
PROJECT=${MGJAX_PROJECT:-}                     # "" = gcloud's core/project.
ZONE=${MGJAX_ZONE:-}
ACCELERATOR_TYPE=${MGJAX_ACCELERATOR_TYPE:-v4-8}
RUNTIME_VERSION=${MGJAX_RUNTIME_VERSION:-}     # "" = chosen from the accelerator.
SPOT=${MGJAX_SPOT:-0}
QUEUED=${MGJAX_QUEUED:-0}
VALID_UNTIL=${MGJAX_VALID_UNTIL:-}             # Queued request expiry, e.g. 6h.
DRY_RUN=${MGJAX_DRY_RUN:-0}
CONFIG=${MGJAX_CONFIG:-}
WORKDIR=${MGJAX_WORKDIR:-}
MODE=${MGJAX_MODE:-}
# Where the workers get mgjax: "sdist" (build one from this checkout and copy
# it), a local .whl/.tar.gz/.zip to copy, or any pip requirement (git URL...).
SOURCE=${MGJAX_SOURCE:-sdist}
JAX_SPEC=${MGJAX_JAX_SPEC:-jax[tpu]>=0.10,<0.11}
LOCAL_PYTHON=${MGJAX_LOCAL_PYTHON:-python3}    # Builds the sdist here.
DATA_SRC=${MGJAX_DATA_SRC:-}                   # Optional copy of the data to
DATA_DST=${MGJAX_DATA_DST:-}                   # every worker's disk.
FOLLOW=${MGJAX_FOLLOW:-1}
FOLLOW_WORKER=${MGJAX_FOLLOW_WORKER:-0}
POLL_SECONDS=${MGJAX_POLL_SECONDS:-60}
MAX_POLLS=${MGJAX_MAX_POLLS:-0}                # 0 = wait for as long as it takes.
MAX_RETRIES=${MGJAX_MAX_RETRIES:-20}
DELETE_WHEN_DONE=${MGJAX_DELETE_WHEN_DONE:-0}
STATUS_ONLY=0
# Extra flags for `create`, split on spaces (e.g. "--network=n --scopes=...").
read -r -a CREATE_EXTRA <<< "${MGJAX_CREATE_FLAGS:-}"
ENV_VARS=()        # NAME=VALUE pairs set for the trainer (--env).
TRAIN_ARGS=()      # Arguments after `--` and --config.* overrides, for mgjax.main.

# The workers' directory (relative to the login's home): worker.sh, venv/,
# configs/, dist/, and the trainer's log, pid and exit-code files.
REMOTE_DIR=mgjax-run

# ---------------------------------------------------------------------------
# Messages, quoting, dry-run.
# ---------------------------------------------------------------------------
log() { printf '[mgjax %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Quotes one word for a POSIX shell, leaving plain words readable.
shell_quote() {
  case $1 in
    '') printf "''" ;;
    *[!A-Za-z0-9_./:=@,+%^-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}

# Quotes all arguments into one command line.
join_quoted() {
  local out='' word
  for word in "$@"; do
    out="${out:+${out} }$(shell_quote "${word}")"
  done
  printf '%s' "${out}"
}

# Runs a command, or with --dry-run prints it (to stdout) and runs nothing.
run_cmd() {
  if [[ "${DRY_RUN}" == 1 ]]; then
    printf '+ %s\n' "$(join_quoted "$@")"
    return 0
  fi
  printf '+ %s\n' "$(join_quoted "$@")" >&2
  "$@"
}

# Runs a step ("$@") in a subshell where `set -e` holds even though the caller
# wants to survive its failure (bash ignores -e inside `if f` and `f || ...`);
# sets STEP_RC. Call it as a plain statement.
attempt() {
  set +e
  (set -e; "$@")
  STEP_RC=$?
  set -e
}

pause() {
  if [[ "${DRY_RUN}" != 1 && "${POLL_SECONDS}" != 0 ]]; then sleep "${POLL_SECONDS}"; fi
}

# ---------------------------------------------------------------------------
# Flags.
# ---------------------------------------------------------------------------
COMMON_FLAGS_HELP='Slice flags (environment default in brackets):
  --name NAME              TPU VM / node name [MGJAX_TPU_NAME, mgjax-tpu]
  --project ID             GCP project [MGJAX_PROJECT, gcloud default]
  --zone ZONE              zone, e.g. us-central2-b (v4), us-east5-a (v5p) [MGJAX_ZONE]
  --accelerator-type TYPE  v4-8, v5p-64, ... [MGJAX_ACCELERATOR_TYPE, v4-8]
  --version VERSION        TPU software version [MGJAX_RUNTIME_VERSION,
                           tpu-ubuntu2204-base for v2-v4, v2-alpha-tpuv5 for v5p,
                           v2-alpha-tpuv5-lite for v5e, v2-alpha-tpuv6e for v6e]
  --spot                   spot capacity (preemptible) [MGJAX_SPOT=1]
  --queued                 go through a queued resource named NAME-qr [MGJAX_QUEUED=1]
  --qr-name NAME           queued resource name [MGJAX_QR_NAME]
  --dry-run                print every command instead of running it [MGJAX_DRY_RUN=1]
  -h, --help               this help'

TRAIN_FLAGS_HELP='Trainer flags:
  --config PATH            config file: under configs/, or any file (then copied)
                           [MGJAX_CONFIG]
  --workdir gs://...       checkpoints and logs; must be on GCS [MGJAX_WORKDIR]
  --mode MODE              train | eval | train_and_eval [MGJAX_MODE]
  --env NAME=VALUE         environment variable for the trainer (repeatable)
  --config.a.b=V           config override passed to mgjax.main (repeatable)
  -- ARGS...               everything after -- goes to mgjax.main as is'

# Parses the flags shared by all scripts; a script that knows fewer of them
# still accepts them (they only matter to the scripts that use them).
parse_flags() {
  local flag value
  while (($#)); do
    flag=$1
    value=
    case ${flag} in
      --*=*) value=${flag#*=}; flag=${flag%%=*} ;;
    esac
    case ${flag} in
      -h|--help) usage; exit 0 ;;
      --dry-run) DRY_RUN=1 ;;
      --spot) SPOT=1 ;;
      --queued) QUEUED=1 ;;
      --no-follow) FOLLOW=0 ;;
      --delete-when-done) DELETE_WHEN_DONE=1 ;;
      --status) STATUS_ONLY=1 ;;
      --config.*)
        # A config override keeps its `=value` (or takes the next word).
        if [[ $1 == *=* ]]; then TRAIN_ARGS+=("$1"); else
          (($# >= 2)) || die "${flag} needs a value"
          TRAIN_ARGS+=("$1" "$2"); shift
        fi ;;
      --) shift; TRAIN_ARGS+=("$@"); return 0 ;;
      --name|--project|--zone|--accelerator-type|--version|--qr-name|--valid-until|\
      --config|--workdir|--mode|--env|--source|--data-src|--data-dst|--worker|\
      --max-retries|--poll-seconds)
        if [[ $1 != *=* ]]; then
          (($# >= 2)) || die "${flag} needs a value"
          value=$2
          shift
        fi
        case ${flag} in
          --name) TPU_NAME=${value} ;;
          --project) PROJECT=${value} ;;
          --zone) ZONE=${value} ;;
          --accelerator-type) ACCELERATOR_TYPE=${value} ;;
          --version) RUNTIME_VERSION=${value} ;;
          --qr-name) QR_NAME=${value} ;;
          --valid-until) VALID_UNTIL=${value} ;;
          --config) CONFIG=${value} ;;
          --workdir) WORKDIR=${value} ;;
          --mode) MODE=${value} ;;
          --env) [[ ${value} == [A-Za-z_]*=* ]] || die "--env wants NAME=VALUE, got '${value}'"
                 ENV_VARS+=("${value}") ;;
          --source) SOURCE=${value} ;;
          --data-src) DATA_SRC=${value} ;;
          --data-dst) DATA_DST=${value} ;;
          --worker) FOLLOW_WORKER=${value} ;;
          --max-retries) MAX_RETRIES=${value} ;;
          --poll-seconds) POLL_SECONDS=${value} ;;
        esac ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
  done
}

# Fills the derived settings and checks the ones every script needs.
finish_settings() {
  [[ -n "${ZONE}" ]] || die "no zone: pass --zone or set MGJAX_ZONE"
  [[ -n "${TPU_NAME}" ]] || die "empty --name"
  QR_NAME=${QR_NAME:-${TPU_NAME}-qr}
  if [[ -z "${RUNTIME_VERSION}" ]]; then
    RUNTIME_VERSION=$(default_runtime_version "${ACCELERATOR_TYPE}")
  fi
  LOC_FLAGS=(--zone="${ZONE}")
  if [[ -n "${PROJECT}" ]]; then LOC_FLAGS+=(--project="${PROJECT}"); fi
}

# The TPU software version Google recommends for JAX on each generation.
default_runtime_version() {
  case $1 in
    v6e-*) echo v2-alpha-tpuv6e ;;
    v5litepod-*|v5e-*) echo v2-alpha-tpuv5-lite ;;
    v5p-*) echo v2-alpha-tpuv5 ;;
    v2-*|v3-*|v4-*) echo tpu-ubuntu2204-base ;;
    *) die "no default software version for '$1': pass --version" ;;
  esac
}

# ---------------------------------------------------------------------------
# The slice: state, create, wait, delete.
# ---------------------------------------------------------------------------

# Healthy state of the resource we manage: a node is READY, a queued resource
# ACTIVE (its node is then READY too).
healthy_state() { if [[ "${QUEUED}" == 1 ]]; then echo ACTIVE; else echo READY; fi; }

# Sets SLICE_STATE to the state of the slice (of its queued resource with
# --queued), or NOT_FOUND, or UNKNOWN when gcloud failed for another reason
# (network, auth), which callers treat as "ask again later". In dry-run mode it
# prints the describe command and pretends the state is $1 (default: healthy).
get_slice_state() {
  local pretend=${1:-$(healthy_state)} out err rc
  local cmd=("${GCLOUD}" compute tpus)
  if [[ "${QUEUED}" == 1 ]]; then
    cmd+=(queued-resources describe "${QR_NAME}" "${LOC_FLAGS[@]}" --format='value(state.state)')
  else
    cmd+=(tpu-vm describe "${TPU_NAME}" "${LOC_FLAGS[@]}" --format='value(state)')
  fi
  if [[ "${DRY_RUN}" == 1 ]]; then
    run_cmd "${cmd[@]}"
    SLICE_STATE=${pretend}
    return 0
  fi
  err=$(mktemp)
  rc=0
  out=$("${cmd[@]}" 2>"${err}") || rc=$?
  if ((rc != 0)); then
    if grep -qi 'not.\{0,3\}found' "${err}"; then out=NOT_FOUND; else
      log "describe failed: $(tr '\n' ' ' < "${err}")"
      out=UNKNOWN
    fi
  fi
  rm -f "${err}"
  out=$(printf '%s' "${out}" | tr -d '[:space:]')
  SLICE_STATE=${out:-UNKNOWN}
}

# States after which the slice can only be deleted and created again.
is_lost_state() {
  case $1 in
    PREEMPTED|TERMINATED|STOPPED|STOPPING|SUSPENDED|SUSPENDING|FAILED|HIDDEN) return 0 ;;
    *) return 1 ;;
  esac
}

create_slice() {
  local spot=()
  if [[ "${SPOT}" == 1 ]]; then spot=(--spot); fi
  if [[ "${QUEUED}" == 1 ]]; then
    local valid=()
    if [[ -n "${VALID_UNTIL}" ]]; then valid=(--valid-until-duration="${VALID_UNTIL}"); fi
    log "requesting ${ACCELERATOR_TYPE} through queued resource ${QR_NAME} (node ${TPU_NAME})"
    run_cmd "${GCLOUD}" compute tpus queued-resources create "${QR_NAME}" "${LOC_FLAGS[@]}" \
      --accelerator-type="${ACCELERATOR_TYPE}" --runtime-version="${RUNTIME_VERSION}" \
      --node-id="${TPU_NAME}" ${spot[@]+"${spot[@]}"} ${valid[@]+"${valid[@]}"} \
      ${CREATE_EXTRA[@]+"${CREATE_EXTRA[@]}"}
  else
    log "creating ${ACCELERATOR_TYPE} TPU VM ${TPU_NAME}"
    run_cmd "${GCLOUD}" compute tpus tpu-vm create "${TPU_NAME}" "${LOC_FLAGS[@]}" \
      --accelerator-type="${ACCELERATOR_TYPE}" --version="${RUNTIME_VERSION}" \
      ${spot[@]+"${spot[@]}"} ${CREATE_EXTRA[@]+"${CREATE_EXTRA[@]}"}
  fi
}

# Waits until the slice is usable; returns 1 if it is lost or gone, or after
# MAX_POLLS polls (0: no limit; a queued request may wait for hours).
wait_ready() {
  local want state polls=0
  want=$(healthy_state)
  while :; do
    get_slice_state
    state=${SLICE_STATE}
    if [[ "${state}" == "${want}" ]]; then
      log "${TPU_NAME} is ${state}"
      return 0
    fi
    if is_lost_state "${state}" || [[ "${state}" == NOT_FOUND ]]; then
      log "${TPU_NAME}: state ${state} while waiting for ${want}"
      return 1
    fi
    polls=$((polls + 1))
    if ((MAX_POLLS > 0 && polls >= MAX_POLLS)); then
      log "${TPU_NAME} still ${state} after ${polls} polls"
      return 1
    fi
    log "${TPU_NAME}: ${state}, waiting for ${want}"
    pause
  done
}

delete_slice() {
  if [[ "${QUEUED}" == 1 ]]; then
    # --force deletes the node first; a queued resource cannot outlive it.
    log "deleting queued resource ${QR_NAME} and its node ${TPU_NAME}"
    run_cmd "${GCLOUD}" compute tpus queued-resources delete "${QR_NAME}" "${LOC_FLAGS[@]}" \
      --force --quiet
  else
    log "deleting TPU VM ${TPU_NAME}"
    run_cmd "${GCLOUD}" compute tpus tpu-vm delete "${TPU_NAME}" "${LOC_FLAGS[@]}" --quiet
  fi
}

# ---------------------------------------------------------------------------
# Workers: ssh / scp on all of them, install, start, watch.
# ---------------------------------------------------------------------------

# ssh_workers WORKER COMMAND: runs COMMAND (one shell line) on WORKER (0.. or all).
ssh_workers() {
  run_cmd "${GCLOUD}" compute tpus tpu-vm ssh "${TPU_NAME}" "${LOC_FLAGS[@]}" \
    --worker="$1" --command="$2"
}

# scp_workers DEST SRC...: copies local files/directories to DEST on every worker.
scp_workers() {
  local dest=$1
  shift
  run_cmd "${GCLOUD}" compute tpus tpu-vm scp --recurse "$@" "${TPU_NAME}:${dest}" \
    "${LOC_FLAGS[@]}" --worker=all
}

# Resolves --config into the path the workers see (relative to REMOTE_DIR):
# files under the checkout's configs/ keep their path (configs/ is copied
# whole), any other file is copied beside and keeps its name. Accepts
# ml_collections' "file.py:arg" form. Sets REMOTE_CONFIG and EXTRA_CONFIG.
resolve_config() {
  [[ -n "${CONFIG}" ]] || die "no config: pass --config or set MGJAX_CONFIG"
  local file=${CONFIG%%:*} abs
  local suffix=${CONFIG#"${file}"}
  if [[ -f "${file}" ]]; then
    abs="$(cd "$(dirname "${file}")" && pwd)/$(basename "${file}")"
  elif [[ -f "${REPO_ROOT}/${file}" ]]; then
    abs="${REPO_ROOT}/${file}"
  else
    die "config file not found: ${file}"
  fi
  EXTRA_CONFIG=
  case ${abs} in
    "${REPO_ROOT}"/configs/*) REMOTE_CONFIG="${abs#"${REPO_ROOT}"/}${suffix}" ;;
    *) EXTRA_CONFIG=${abs}; REMOTE_CONFIG="$(basename "${abs}")${suffix}" ;;
  esac
}

# Checks --workdir: every worker, and every relaunch on a new slice, must see
# the same checkpoints, so it lives on GCS.
check_workdir() {
  [[ -n "${WORKDIR}" ]] || die "no workdir: pass --workdir gs://BUCKET/PATH or set MGJAX_WORKDIR"
  [[ "${WORKDIR}" == gs://?* ]] || die "--workdir must be a gs:// path (got '${WORKDIR}')"
}

# Copies worker.sh and configs/ (plus an outside config file) to every worker.
sync_files() {
  local srcs=("${MGJAX_TPU_DIR}/worker.sh")
  if [[ -d "${REPO_ROOT}/configs" ]]; then srcs+=("${REPO_ROOT}/configs"); fi
  if [[ -n "${EXTRA_CONFIG:-}" ]]; then srcs+=("${EXTRA_CONFIG}"); fi
  ssh_workers all "mkdir -p ${REMOTE_DIR}/dist"
  scp_workers "${REMOTE_DIR}/" "${srcs[@]}"
}

# Builds an sdist of the checkout into $1; sets SDIST_PATH.
build_sdist() {
  local out=$1
  if [[ "${DRY_RUN}" == 1 ]]; then
    printf '+ cd %s && %s\n' "$(shell_quote "${REPO_ROOT}")" \
      "$(join_quoted "${LOCAL_PYTHON}" setup.py -q sdist --dist-dir "${out}")"
    SDIST_PATH="${out}/mgjax-VERSION.tar.gz"
    return 0
  fi
  log "building an sdist of ${REPO_ROOT}"
  (cd "${REPO_ROOT}" && "${LOCAL_PYTHON}" setup.py -q sdist --dist-dir "${out}") >&2 \
    || die "sdist build failed (set MGJAX_SOURCE to a wheel or a git URL instead)"
  local found=("${out}"/mgjax-*.tar.gz)
  [[ -f "${found[0]}" ]] || die "no sdist in ${out}"
  SDIST_PATH=${found[0]}
}

# Installs jax[tpu] and mgjax (from SOURCE) into a venv on every worker, and
# optionally copies the data to their disks.
setup_workers() {
  local spec tmp=''
  sync_files
  case ${SOURCE} in
    sdist)
      tmp=$(mktemp -d)
      build_sdist "${tmp}"
      scp_workers "${REMOTE_DIR}/dist/" "${SDIST_PATH}"
      spec="dist/$(basename "${SDIST_PATH}")" ;;
    *.whl|*.tar.gz|*.zip)
      [[ -f "${SOURCE}" ]] || die "MGJAX_SOURCE file not found: ${SOURCE}"
      scp_workers "${REMOTE_DIR}/dist/" "${SOURCE}"
      spec="dist/$(basename "${SOURCE}")" ;;
    *) spec=${SOURCE} ;;
  esac
  log "installing ${JAX_SPEC} and ${spec} on every worker"
  ssh_workers all "cd ${REMOTE_DIR} && bash worker.sh install $(join_quoted "${JAX_SPEC}" "${spec}")"
  if [[ -n "${tmp}" ]]; then rm -rf "${tmp}"; fi
  if [[ -n "${DATA_SRC}" ]]; then
    [[ -n "${DATA_DST}" ]] || die "--data-src needs --data-dst (a directory on the workers)"
    log "copying ${DATA_SRC} to ${DATA_DST} on every worker"
    ssh_workers all "mkdir -p $(shell_quote "${DATA_DST}") && gcloud storage rsync --recursive $(join_quoted "${DATA_SRC}" "${DATA_DST}")"
  fi
}

# The trainer's command line on a worker (run from REMOTE_DIR).
train_command() {
  local cmd=()
  if ((${#ENV_VARS[@]})); then cmd=(env "${ENV_VARS[@]}"); fi
  cmd+=(venv/bin/python -m mgjax.main --config "${REMOTE_CONFIG}" --workdir "${WORKDIR}")
  if [[ -n "${MODE}" ]]; then cmd+=(--mode="${MODE}"); fi
  join_quoted "${cmd[@]}" ${TRAIN_ARGS[@]+"${TRAIN_ARGS[@]}"}
}

# Starts the trainer on all workers at once, detached (it survives the ssh
# session; worker.sh keeps its log, pid and exit code).
start_training() {
  sync_files
  log "starting mgjax.main on every worker of ${TPU_NAME}"
  ssh_workers all "cd ${REMOTE_DIR} && bash worker.sh start $(train_command)"
}

# Streams the trainer's log from FOLLOW_WORKER until the trainer exits.
follow_log() {
  ssh_workers "${FOLLOW_WORKER}" "bash ${REMOTE_DIR}/worker.sh logs --follow"
}

stop_training() {
  ssh_workers all "bash ${REMOTE_DIR}/worker.sh stop"
}

# Sets WORKER_STATUSES to one word per worker: running | exited:RC |
# terminated:RC (stopped by its VM's shutdown) | died | none; empty when ssh
# failed. Dry-run prints the command and pretends $1.
get_worker_statuses() {
  local cmd=("${GCLOUD}" compute tpus tpu-vm ssh "${TPU_NAME}" "${LOC_FLAGS[@]}"
             --worker=all --command="bash ${REMOTE_DIR}/worker.sh status")
  if [[ "${DRY_RUN}" == 1 ]]; then
    run_cmd "${cmd[@]}"
    WORKER_STATUSES=${1:-running}
    return 0
  fi
  local out
  WORKER_STATUSES=
  out=$("${cmd[@]}" 2>/dev/null) || return 0
  # gcloud may add lines of its own; worker.sh marks its answers.
  WORKER_STATUSES=$(printf '%s\n' "${out}" \
    | sed -n 's/^.*mgjax-status: *\([a-z]*\(:[0-9]*\)\{0,1\}\).*$/\1/p')
}

# Sums worker statuses up as: interrupted (a trainer was stopped by its VM's
# shutdown: a preemption is under way), failed (one exited non-zero, died or
# never started), done (all exited 0), running, or unknown (no answer).
run_outcome() {
  local statuses=$1 word n=0 ok=0 bad=0 interrupted=0
  for word in ${statuses}; do
    n=$((n + 1))
    case ${word} in
      exited:0) ok=$((ok + 1)) ;;
      running) ;;
      terminated:*) interrupted=$((interrupted + 1)) ;;
      *) bad=$((bad + 1)) ;;
    esac
  done
  if ((n == 0)); then echo unknown
  elif ((interrupted > 0)); then echo interrupted
  elif ((bad > 0)); then echo failed
  elif ((ok == n)); then echo 'done'
  else echo running
  fi
}
