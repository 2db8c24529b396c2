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
"""Test set-up: 8 fake CPU devices, accelerators hidden from TensorFlow.

The environment variables must be set before JAX or TensorFlow is imported, so
they live here, at the top of the first file pytest loads.
"""

import os


def xla_flags(devices: int = 8) -> str:
  """XLA_FLAGS of every process the tests run: this one and the ones they start.

  One definition, so that the processes share the persistent compilation cache (its key
  includes the flags).

  Args:
    devices: fake CPU devices of the process.

  Returns:
    The flags.
  """
  return f"--xla_force_host_platform_device_count={devices}"


os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + xla_flags()).strip()
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pathlib  # pylint: disable=g-import-not-at-top,g-bad-import-order
import subprocess  # pylint: disable=g-import-not-at-top,g-bad-import-order
import time  # pylint: disable=g-import-not-at-top,g-bad-import-order
from typing import Callable, Sequence  # pylint: disable=g-import-not-at-top,g-bad-import-order

from absl import logging  # pylint: disable=g-import-not-at-top,g-bad-import-order
import pytest  # pylint: disable=g-import-not-at-top,g-bad-import-order

REPO = pathlib.Path(__file__).resolve().parent.parent


def load_config(path: os.PathLike):
  """`get_config()` of a config file (a path, or relative to the repository)."""
  import importlib.util  # pylint: disable=g-import-not-at-top

  path = REPO / path
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


class WaitError(RuntimeError):
  """What a wait was for did not come: a process it watched exited first, or its limit passed."""


def _exited(p: subprocess.Popen) -> str:
  return f"{p.args!r} exited with {p.returncode} first"


def wait_for(
    predicate: Callable[[], bool],
    what: str,
    procs: Sequence[subprocess.Popen] = (),
    limit_s: float = 300.0,
    describe: Callable[[subprocess.Popen], str] = _exited,
) -> None:
  """Polls `predicate` until it holds: the one way tests wait for another process.

  The event ends the wait. The limit only ends a hung test, so it is generous: these
  machines are shared, and a 180 s limit ran out at load 4 on 2 cores.

  Args:
    predicate: the event.
    what: the event in words, for the error.
    procs: processes whose exit ends the wait early, with an error.
    limit_s: seconds before giving up.
    describe: what the error says of a process that exited first (its log, say).

  Raises:
    WaitError: a process of `procs` exited first, or `limit_s` passed.
  """
  end = time.monotonic() + limit_s
  while not predicate():
    for p in procs:
      if p.poll() is not None:
        raise WaitError(f"waiting for {what}: {describe(p)}")
    if time.monotonic() > end:
      raise WaitError(f"waiting for {what}: not there after {limit_s:.0f} s")
    time.sleep(0.1)


@pytest.fixture(autouse=True)
def restore_absl_verbosity():
  """Undoes a CLI's `logging.set_verbosity` (the converter's main sets ERROR), so
  that a later test in the same worker still sees the warnings it asserts on."""
  level = logging.get_verbosity()
  yield
  logging.set_verbosity(level)
