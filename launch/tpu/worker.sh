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
# Runs on every TPU VM worker (copied to ~/mgjax-run by the launch scripts).
#
#   worker.sh install PIP_SPEC...   venv/ with Python >= 3.11 (via uv) + the specs
#   worker.sh start CMD [ARGS...]   runs CMD detached in this directory: it
#                                   survives the ssh session; its output goes
#                                   to train.log, its pid to train.pid and its
#                                   exit code to train.rc
#   worker.sh status                prints "mgjax-status: running | exited:RC |
#                                   terminated:RC | died | none" (terminated:
#                                   the VM's shutdown signalled the session)
#   worker.sh stop                  SIGTERM (the trainer checkpoints), then
#                                   SIGKILL after MGJAX_STOP_TIMEOUT seconds
#   worker.sh logs [--follow]       the log; --follow streams it until the
#                                   trainer exits
#
# One trainer at a time: `start` refuses while one is running.

set -euo pipefail

RUN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_FILE=${RUN_DIR}/train.log
PID_FILE=${RUN_DIR}/train.pid
RC_FILE=${RUN_DIR}/train.rc
SIGNALLED_FILE=${RUN_DIR}/train.signalled   # The session got SIGTERM/INT/HUP.
PYTHON_VERSION=${MGJAX_PYTHON_VERSION:-3.11}   # jax 0.10 needs Python >= 3.11.
STOP_TIMEOUT=${MGJAX_STOP_TIMEOUT:-600}        # Time to write a checkpoint.

is_running() {
  [[ -f "${PID_FILE}" ]] && kill -0 "$(cat "${PID_FILE}")" 2>/dev/null
}

cmd_install() {
  cd "${RUN_DIR}"
  export PATH="${HOME}/.local/bin:${PATH}"
  # The TPU images ship Python 3.10; uv fetches a managed 3.11 when needed.
  if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --user --quiet uv || curl -LsSf https://astral.sh/uv/install.sh | sh
  fi
  if [[ ! -x venv/bin/python ]]; then
    uv venv --python "${PYTHON_VERSION}" venv
  fi
  uv pip install --python venv/bin/python "$@"
  venv/bin/python -c 'import jax, mgjax; print("mgjax-install: jax", jax.__version__)'
}

cmd_start() {
  (($# > 0)) || { echo "worker.sh start: no command" >&2; exit 2; }
  if is_running; then
    echo "worker.sh: a trainer is already running (pid $(cat "${PID_FILE}")); stop it first" >&2
    exit 3
  fi
  cd "${RUN_DIR}"
  rm -f "${RC_FILE}" "${PID_FILE}" "${SIGNALLED_FILE}"
  printf '=== %s start: %s\n' "$(date -u +%FT%TZ)" "$*" >> "${LOG_FILE}"
  # A wrapper shell records the exit code. On preemption the VM's shutdown
  # sends SIGTERM to every process, the trainer included (`stop` signals the
  # trainer only), so the wrapper survives such signals and notes them: its
  # trap runs after its foreground command ends, so $? is still the trainer's
  # status (caught signals reset on exec: the trainer keeps the default
  # handlers). The note tells a trainer that stopped because its VM is going
  # away (status "terminated") from one that finished ("exited"). The trainer
  # writes its own pid, then execs.
  # setsid + nohup detach all this from the ssh session, and no fd stays open
  # to it, so ssh returns at once.
  # shellcheck disable=SC2016  # Expanded by the inner shells.
  setsid nohup bash -c '
    pid_file=$1; rc_file=$2; shift 2
    signalled=0
    trap signalled=1 TERM INT HUP
    bash -c '\''echo $$ > "$0"; exec "$@"'\'' "${pid_file}" "$@"
    rc=$?
    if [[ "${signalled}" == 1 ]]; then touch "${rc_file%.rc}.signalled"; fi
    echo "${rc}" > "${rc_file}"
    printf "=== %s exit code %s\n" "$(date -u +%FT%TZ)" "${rc}"
  ' mgjax-worker "${PID_FILE}" "${RC_FILE}" "$@" >> "${LOG_FILE}" 2>&1 < /dev/null &
  # Report the trainer's pid once the wrapper has written it.
  for _ in $(seq 1 50); do
    [[ -s "${PID_FILE}" || -s "${RC_FILE}" ]] && break
    sleep 0.1
  done
  echo "mgjax-started: pid $(cat "${PID_FILE}" 2>/dev/null || echo '?'), log ${LOG_FILE}"
}

finished_state() {
  if [[ -f "${SIGNALLED_FILE}" ]]; then
    echo "terminated:$(cat "${RC_FILE}")"
  else
    echo "exited:$(cat "${RC_FILE}")"
  fi
}

cmd_status() {
  local state=none
  if is_running; then
    state=running
  elif [[ -s "${RC_FILE}" ]]; then
    state=$(finished_state)
  elif [[ -f "${PID_FILE}" ]]; then
    # Between the trainer's exit and the wrapper writing the code: look again.
    sleep 1
    if [[ -s "${RC_FILE}" ]]; then state=$(finished_state); else state=died; fi
  fi
  echo "mgjax-status: ${state}"
}

cmd_stop() {
  if ! is_running; then
    cmd_status
    return 0
  fi
  local pid waited=0
  pid=$(cat "${PID_FILE}")
  echo "worker.sh: SIGTERM to ${pid} (the trainer saves a checkpoint)"
  kill -TERM "${pid}" 2>/dev/null || true
  while kill -0 "${pid}" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT)); then
      echo "worker.sh: still running after ${STOP_TIMEOUT}s, SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      break
    fi
    sleep 1
    waited=$((waited + 1))
  done
  # Give the wrapper a moment to record the exit code.
  for _ in 1 2 3 4 5; do [[ -s "${RC_FILE}" ]] && break; sleep 0.2; done
  cmd_status
}

cmd_logs() {
  [[ -f "${LOG_FILE}" ]] || { echo "worker.sh: no log yet (${LOG_FILE})" >&2; return 0; }
  if [[ "${1:-}" == --follow ]] && is_running; then
    # -F survives log rotation; --pid ends the stream when the trainer exits.
    tail -n "${MGJAX_LOG_LINES:-100}" -F --pid="$(cat "${PID_FILE}")" "${LOG_FILE}"
  else
    tail -n "${MGJAX_LOG_LINES:-100}" "${LOG_FILE}"
  fi
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case ${cmd} in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    status) cmd_status ;;
    stop) cmd_stop ;;
    logs) cmd_logs "$@" ;;
    *) echo "usage: worker.sh install|start|status|stop|logs [...]" >&2; exit 2 ;;
  esac
}

main "$@"
