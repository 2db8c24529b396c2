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
"""What the benchmarks' reports say about where they ran (`benchmarks/common.py`).

A report is committed and read on other machines, so the command line it records may
name paths inside the checkout (a config, an earlier report) but not this machine's
temporary directories.
"""

import importlib.util
import os
import sys
import tempfile

from absl import logging

from conftest import REPO
from mgjax import logs


def _common():
  spec = importlib.util.spec_from_file_location(
      "benchmarks_common", REPO / "benchmarks" / "common.py"
  )
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # Its dataclasses look their module up there.
  spec.loader.exec_module(module)
  return module


common = _common()


def test_shown_path_keeps_checkout_paths_and_hides_others():
  assert common.shown_path(str(REPO / "configs" / "demo.py")) == os.path.join("configs", "demo.py")
  assert common.shown_path(str(REPO)) == "."
  with tempfile.TemporaryDirectory() as tmp:
    assert common.shown_path(tmp) == "DIR"
    assert common.shown_path(os.path.join(tmp, "x", "report.json")) == "DIR"
  # A sibling whose name starts with the checkout's is outside it, not inside.
  assert common.shown_path(str(REPO) + "_other") == "DIR"


def test_shown_command_hides_local_paths_in_every_flag_form(monkeypatch):
  monkeypatch.chdir(REPO)
  with tempfile.TemporaryDirectory() as tmp:
    report = str(REPO / "benchmarks" / "results" / "multigrid_speedup_demo_stride8.json")
    argv = [
        str(REPO / "benchmarks" / "multigrid_speedup.py"),
        "--config",
        "configs/demo_stride8.py",
        "--seeds",
        "0,1,2",
        f"--outdir={tmp}",
        "--workdir",
        os.path.join(tmp, "not_yet_made"),
        "--reuse_from",
        report,
        "--config.train.num_epochs=2",
    ]
    command = common.shown_command(argv)
  assert command == (
      "benchmarks/multigrid_speedup.py --config configs/demo_stride8.py --seeds 0,1,2 "
      "--outdir=DIR --workdir DIR --reuse_from benchmarks/results/multigrid_speedup_demo_stride8.json "
      "--config.train.num_epochs=2"
  )
  assert tmp not in command


def test_quiet_logs_hides_the_libraries_info_lines(monkeypatch):
  """orbax logs some 70 INFO lines per checkpoint: not in a benchmark's output."""
  handler = logging.get_absl_handler()
  monkeypatch.setattr(handler, "filters", [])  # Restored after the test.
  monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
  common.quiet_logs()
  assert any(isinstance(f, logs.LibraryInfoFilter) for f in handler.filters)
