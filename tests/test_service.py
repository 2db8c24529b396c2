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
"""Tests of the training input through the tf.data service (mgjax/data/service.py).

A dispatcher and workers run on loopback over the tiny synthetic store; every batch
through the service must equal the local pipeline's, bit for bit.
"""

import dataclasses
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

import data_testlib
from mgjax import config as config_lib
from mgjax import multigrid
from mgjax.data import datasets
from mgjax.data import frame_store
from mgjax.data import pipeline
from mgjax.data import service


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  return data_testlib.tiny_synthetic(tmp_path_factory)


@pytest.fixture(scope="module")
def local_config(root):
  return data_testlib.tiny_config(root)


@pytest.fixture(scope="module")
def plan(local_config):
  return multigrid.Plan.from_config(local_config)


@pytest.fixture(scope="module")
def local_run(local_config, plan):
  """Every batch of the 12-step plan (shapes change along it), one host, with metadata."""
  return list(pipeline.train_dataset(local_config, plan, 0, with_metadata=True))


@pytest.fixture(scope="module")
def service_config(root):
  """The tiny config with a dispatcher and two workers in this process, on loopback."""
  dispatcher = service.start_dispatcher(0)
  workers = [
      service.start_worker(dispatcher.target, worker_address="localhost:%port%") for _ in range(2)
  ]
  yield data_testlib.tiny_config(root, **{"data.service_address": dispatcher.target})
  for server in workers + [dispatcher]:  # Workers first: one stopped after it waits.
    server.stop()


def assert_same(expected, got):
  """Equal batch lists: the same keys, dtypes, shapes and values."""
  assert len(got) == len(expected)
  for k, (a, b) in enumerate(zip(expected, got)):
    assert a.keys() == b.keys(), k
    for key in a:
      assert np.asarray(b[key]).dtype == np.asarray(a[key]).dtype, (k, key)
      np.testing.assert_array_equal(b[key], a[key], err_msg=f"batch {k}, {key}")


def test_the_service_gives_the_local_batches(service_config, local_config, plan, local_run):
  it = pipeline.train_dataset(service_config, plan, 0, with_metadata=True)
  assert isinstance(it, service.OrderedBatches)
  assert_same(local_run, list(it))
  # Every step came from the workers (equal batches computed here would prove nothing).
  assert it.local_steps == []
  # Without metadata the step tag is stripped: the trainer's keys, as locally.
  plain = pipeline.train_dataset(service_config, plan, 0, stop_step=4)
  assert_same(list(pipeline.train_dataset(local_config, plan, 0, stop_step=4)), list(plain))
  assert plain.local_steps == []


def test_restart_in_the_middle(service_config, plan, local_run):
  """A pipeline started at step 5 (a new job) gives the local batches of steps 5-11."""
  it = pipeline.train_dataset(service_config, plan, 5, with_metadata=True)
  assert_same(local_run[5:], list(it))
  assert it.local_steps == []


def test_hosts_get_their_own_slices(service_config, local_config, plan):
  """Two hosts' pipelines (two jobs at once) give each host's local slice."""
  hosts = [pipeline.train_dataset(service_config, plan, 0, p, 2, stop_step=6) for p in range(2)]
  got = [[], []]
  for a, b in zip(*hosts):  # Read alternately, as two trainers would.
    got[0].append(a)
    got[1].append(b)
  for p in range(2):
    assert_same(list(pipeline.train_dataset(local_config, plan, 0, p, 2, stop_step=6)), got[p])
    assert hosts[p].local_steps == []
  with pytest.raises(ValueError, match="divide"):
    pipeline.train_dataset(service_config, plan, 0, 0, 3)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _start(*args) -> subprocess.Popen:
  """A server started by the CLI."""
  return subprocess.Popen(
      [sys.executable, "-m", "mgjax.data.service", *args],
      stdout=subprocess.PIPE,
      stderr=subprocess.DEVNULL,
      text=True,
  )


def _wait_until_serving(proc: subprocess.Popen) -> subprocess.Popen:
  line = proc.stdout.readline()
  assert line.startswith("mgjax-service: ") and "serving" in line, line
  return proc


def test_a_killed_worker_is_replaced_and_its_steps_recomputed(root, plan, local_run, monkeypatch):
  """Servers started by the CLI as processes, so that a worker can die by SIGKILL.

  The only worker dies right after the first batch: the steps it was working on are lost
  (dynamic sharding hands a split out once), a replacement takes the remaining steps, and
  the lost ones are computed in the trainer once 4 later steps have come.
  """
  # The window (4 later steps) finds the lost steps; the patience only covers a lost step
  # among the last four, and is long enough for the replacement to start.
  monkeypatch.setattr(service, "DEFAULT_WINDOW", 4)
  monkeypatch.setattr(service, "DEFAULT_PATIENCE_S", 60.0)
  port = _free_port()
  worker = ["worker", "--dispatcher_address", f"localhost:{port}"]
  worker += ["--worker_address", "localhost:%port%"]
  procs = [_start("dispatcher", "--port", str(port)), _start(*worker)]  # Both start at once.
  try:
    for proc in procs:
      _wait_until_serving(proc)
    config = data_testlib.tiny_config(root, **{"data.service_address": f"grpc://localhost:{port}"})
    it = pipeline.train_dataset(config, plan, 0, with_metadata=True)
    got = [next(it)]
    procs[1].send_signal(signal.SIGKILL)
    procs[1].wait()
    procs.append(_wait_until_serving(_start(*worker)))  # The replacement.
    got += list(it)
    assert_same(local_run, got)
    # The dead worker held at least the split after the first (its pipeline reads ahead):
    # it was recomputed here. The replacement served most steps.
    assert it.local_steps and len(it.local_steps) < plan.num_steps // 2, it.local_steps
  finally:
    for proc in procs:
      proc.kill()
      proc.wait()


def test_without_a_dispatcher_the_steps_are_made_here(
    root, local_config, plan, monkeypatch, caplog
):
  """Nothing listens at the address: after the patience every step is computed here (and
  the trainer does not hang on the service's connection attempts)."""
  monkeypatch.setattr(service, "DEFAULT_PATIENCE_S", 1.0)
  config = data_testlib.tiny_config(
      root, **{"data.service_address": f"grpc://localhost:{_free_port()}"}
  )
  it = pipeline.train_dataset(config, plan, 0, stop_step=2)
  with caplog.at_level("WARNING"):
    got = list(it)
  assert_same(list(pipeline.train_dataset(local_config, plan, 0, stop_step=2)), got)
  assert it.local_steps == [0, 1] and "is a dispatcher running there" in caplog.text


def test_bad_files_are_checked_here_once(root, service_config, plan, tmp_path):
  """Batches with failed clips (here: really broken files) are made again in the trainer,
  until every failed video has failed there too; they equal the local batches."""
  store = str(tmp_path / "store")
  shutil.copytree(root, store, ignore=shutil.ignore_patterns("mp4"))
  broken = data_testlib.tiny_config(store)
  videos = datasets.load(broken, "train")
  with open(videos.files[0], "wb") as f:
    f.write(b"not a sequence example")
  record = frame_store.read(videos.files[3])
  record.frames[2:] = [b"\xff\xd8 broken jpeg"] * (len(record.frames) - 2)
  frame_store.atomic_write(videos.files[3], frame_store.serialize(record))
  local = list(pipeline.train_dataset(broken, plan, 0, stop_step=6, with_metadata=True))
  address = {"data.service_address": service_config.data.service_address}
  it = pipeline.train_dataset(
      data_testlib.tiny_config(store, **address), plan, 0, stop_step=6, with_metadata=True
  )
  assert_same(local, list(it))
  failing = [k for k, b in enumerate(local) if b["failed"]]
  assert len(failing) > 2 and it.local_steps == []
  assert it.rechecked_steps[0] == failing[0] and len(it.rechecked_steps) < len(failing)


def test_a_video_only_a_worker_cannot_read_is_made_here(
    root, local_config, plan, local_run, caplog
):
  """A worker process that cannot read a file the trainer reads (as with a store not
  mounted on the workers) would make a clip of a replacement video: the trainer makes
  that batch itself. The file's path is /proc/self/fd/N, N open only in this process."""
  videos = datasets.load(local_config, "train")
  fd = os.open(videos.files[5], os.O_RDONLY)
  high = fcntl.fcntl(fd, fcntl.F_DUPFD, 900)  # A free descriptor the worker will not have.
  os.close(fd)
  dispatcher = service.start_dispatcher(0)
  port = dispatcher.target.rsplit(":", 1)[-1]
  worker = _start(
      "worker", "--dispatcher_address", f"localhost:{port}", "--worker_address", "localhost:%port%"
  )
  try:
    _wait_until_serving(worker)
    files = list(videos.files)
    files[5] = f"/proc/self/fd/{high}"
    config = data_testlib.tiny_config(root, **{"data.service_address": dispatcher.target})
    it = pipeline.train_dataset(
        config,
        plan,
        0,
        stop_step=3,
        videos=dataclasses.replace(videos, files=files),
        with_metadata=True,
    )
    with caplog.at_level("WARNING"):
      got = list(it)
    assert_same(local_run[:3], got)
    assert it.rechecked_steps and it.local_steps == []
    assert "failed to load on a tf.data service worker" in caplog.text
  finally:
    worker.kill()
    worker.wait()
    os.close(high)
    dispatcher.stop()


def test_cli_needs_a_role_and_a_dispatcher(capsys):
  for args, message in ((["--port", "1"], "dispatcher or worker"), (["worker"], "--dispatcher")):
    with pytest.raises(SystemExit) as exit_:
      service.main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    "address", ["grpc://localhost:5050", "grpc://10.1.2.3:5050", "grpc://[::1]:5050", ""]
)
def test_validate_accepts_addresses(address):
  c = config_lib.base()
  c.data.service_address = address
  config_lib.validate(c)


@pytest.mark.parametrize(
    "address",
    ["localhost:5050", "grpc://localhost", "http://h:5050", "grpc://h:99999", "grpc://h:5 0"],
)
def test_validate_rejects_malformed_addresses(address):
  c = config_lib.base()
  c.data.service_address = address
  with pytest.raises(config_lib.ConfigError, match=r"data\.service_address.*grpc://HOST:PORT"):
    config_lib.validate(c)
