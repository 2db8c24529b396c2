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
# Installs mgjax on every worker of a slice: a Python >= 3.11 venv with
# jax[tpu] and mgjax, the checkout's configs/ and the worker helper; optionally
# copies the data from GCS to every worker's disk (the trainer can also read
# gs:// paths directly: set config.data.root to one).
#
#   launch/tpu/setup.sh --zone us-central2-b
#   MGJAX_SOURCE=git+https://github.com/ORG/mgjax@main launch/tpu/setup.sh --zone ...

set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
  cat <<USAGE
Usage: setup.sh [flags]
${COMMON_FLAGS_HELP}
Setup flags:
  --source SRC             where mgjax comes from [MGJAX_SOURCE, sdist]: "sdist"
                           (built from this checkout and copied), a local
                           .whl/.tar.gz file (copied), or a pip requirement such
                           as git+https://github.com/ORG/mgjax@REF
  --data-src gs://...      copy this data to every worker ... [MGJAX_DATA_SRC]
  --data-dst DIR           ... into this directory [MGJAX_DATA_DST]
jax comes from MGJAX_JAX_SPEC [${JAX_SPEC}].
USAGE
}

parse_flags "$@"
finish_settings
setup_workers
log "setup of ${TPU_NAME} done"
