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
"""What a run prints: mgjax's own INFO lines and every warning, not the libraries' INFO.

orbax logs its save scheduling and clu echoes every metric at INFO: about 1,500 lines
in the demo and some 70 per checkpoint in a benchmark, burying the progress, shape
changes and evaluations a person reads. `-v 1` (`--verbosity=1`) shows them again.

No JAX or TensorFlow import here: benchmarks call this before they import either.
"""

import logging as std_logging
import os

from absl import logging

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class LibraryInfoFilter(std_logging.Filter):
  """Passes mgjax's INFO lines and every warning; drops the libraries' INFO.

  absl attributes each record to the file that called it, so the path tells them apart.
  """

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or record.pathname.startswith(_PACKAGE)


def hide_library_info() -> None:
  """Adds the filter to absl's handler unless the verbosity asks for debug lines.

  Call it after absl has parsed the flags (inside `main`), so that `-v` is known.
  """
  if logging.get_verbosity() >= logging.DEBUG:
    return
  handler = logging.get_absl_handler()
  if not any(isinstance(f, LibraryInfoFilter) for f in handler.filters):
    handler.addFilter(LibraryInfoFilter())
