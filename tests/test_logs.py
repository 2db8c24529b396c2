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
"""Which log lines a run shows (`mgjax/logs.py`).

The end-to-end check (a real run prints its progress and hides orbax's and clu's INFO
lines unless `--verbosity=1`) is in test_train; here, the rule and its set-up.
"""

import logging as std_logging
import os

from absl import logging
import pytest

from conftest import REPO
from mgjax import logs


def _record(path: str, level: int) -> std_logging.LogRecord:
  return std_logging.LogRecord("absl", level, path, 1, "message", None, None)


def test_filter_keeps_mgjax_info_and_every_warning():
  keep = logs.LibraryInfoFilter().filter
  ours = str(REPO / "mgjax" / "train.py")
  theirs = os.path.join(os.path.dirname(pytest.__file__), "orbax", "checkpoint_manager.py")
  assert keep(_record(ours, std_logging.INFO))
  assert not keep(_record(theirs, std_logging.INFO))
  assert keep(_record(theirs, std_logging.WARNING))
  # A file beside the package whose name starts like it is not the package.
  assert not keep(_record(str(REPO / "mgjax_extra" / "x.py"), std_logging.INFO))


def test_hide_library_info_once_and_only_below_debug(monkeypatch):
  handler = logging.get_absl_handler()
  monkeypatch.setattr(handler, "filters", [])  # Restored after the test.
  count = lambda: sum(isinstance(f, logs.LibraryInfoFilter) for f in handler.filters)
  verbosity = logging.get_verbosity()
  try:
    logging.set_verbosity(logging.DEBUG)  # -v 1
    logs.hide_library_info()
    assert count() == 0
    logging.set_verbosity(logging.INFO)
    logs.hide_library_info()
    logs.hide_library_info()  # A benchmark and the trainer may both ask.
    assert count() == 1
  finally:
    logging.set_verbosity(verbosity)
