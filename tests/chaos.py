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
"""Chaos on loopback: the whole distributed training job, one fault at a time.

  python tests/chaos.py [--size small|full] [--cases trainer_kill,...] [--workdir DIR]

The job is what a pod slice runs, on 127.0.0.1: two trainer processes
(`python -m mgjax.main`, jax.distributed, 4 CPU devices each) that take their input from
a tf.data service dispatcher (with a journal) and two workers (`python -m
mgjax.data.service`). It trains `configs/tiny.py` once undisturbed (the reference), then
once per case with one fault:

- `trainer_kill`: trainer process 1 gets kill -9 mid-run. The job is then restarted
  whole, as a slice's supervisor does: the survivor is killed if it has not exited
  (how it ended is reported) and both trainers are launched again; they resume from the
  last checkpoint.
- `worker_restart`: a worker gets kill -9 mid-run and a new one starts at its address.
  The trainers run on; a step the dead worker held is made in the trainer.
- `dispatcher_restart`: the dispatcher gets kill -9 mid-run and starts again at its
  address with its journal. The trainers run on without a restart (what they get from
  the service meanwhile, and what they made themselves, is reported).
- `save_kill`: trainer process 0, which commits checkpoints, gets kill -9 while a
  checkpoint is being committed (its files written, its temporary directory not yet
  renamed; the kill comes from inside the process at that moment, so it always lands
  there). The job restarts whole and resumes from the checkpoint before.

Every case must end with a train state bit-identical to the reference's at the same
step. Each process writes its output to `<workdir>/<case>/*.log`; every wait has a
deadline and names what it waited for, and every process is killed at the end.
`--size small` (the test's, `tests/test_chaos.py`) trains the base shape only for 12
steps; `--size full` runs the tiny config's whole multigrid plan (19 steps, 9 shapes),
so faults and restarts land between shape changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Callable, Sequence

import conftest

REPO = conftest.REPO
TINY = REPO / "configs" / "tiny.py"
CASES = ("trainer_kill", "worker_restart", "dispatcher_restart", "save_kill")
DEADLINE_S = 3600.0  # For any one wait: it only ends a hung job (2 cores run five processes).
SURVIVOR_GRACE_S = 30.0  # How long the other trainer gets to end by itself after a kill.
# The trainers' patience with a silent service (service.DEFAULT_PATIENCE_S is 60 s): a
# step lost with a worker near the end of a 12-step run has no later steps to count.
PATIENCE_S = 20.0
# Line of the trainer's log for each step that the service did not deliver.
LOCAL_STEP = re.compile(r"Step (\d+) did not come from the tf.data service")

# A trainer: `python -m mgjax.main` whose service patience is PATIENCE_S and whose
# process 0 kills itself (SIGKILL) while committing the checkpoint of step
# $MGJAX_CHAOS_KILL_IN_SAVE: orbax calls `_seal_finished` once the files are written and
# before the commit renames the temporary directory.
_TRAINER = f"""
import os, signal
from absl import app
from mgjax import checkpointing, main
from mgjax.data import service
service.DEFAULT_PATIENCE_S = {PATIENCE_S}
kill_step = int(os.environ.get("MGJAX_CHAOS_KILL_IN_SAVE", "-1"))
seal = checkpointing.Checkpointer._seal_finished
def seal_or_die(self):
  if self._saving == kill_step:
    os.kill(os.getpid(), signal.SIGKILL)
  seal(self)
checkpointing.Checkpointer._seal_finished = seal_or_die
app.run(main.main)
"""


@dataclasses.dataclass(frozen=True)
class Size:
  """How long the job trains and where the faults land.

  Attributes:
    overrides: `--config.a.b=v` flags of the trainers, beside `configs/tiny.py`.
    fault_after: faults come once the checkpoint of this step is committed.
    save_kill_step: the step whose checkpoint is being committed when `save_kill` kills.
  """

  overrides: tuple[str, ...]
  fault_after: int
  save_kill_step: int


SIZES = {
    "small": Size(
        overrides=(
            "--config.multigrid.long_cycle=False",
            "--config.multigrid.short_cycle=False",
            "--config.train.max_steps=12",
            "--config.train.checkpoint_every_steps=3",
        ),
        fault_after=3,
        save_kill_step=6,
    ),
    "full": Size(
        overrides=("--config.train.checkpoint_every_steps=4",),
        fault_after=8,
        save_kill_step=12,
    ),
}


class ChaosError(RuntimeError):
  """A process failed where it must not."""


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def wait_for(
    predicate: Callable[[], bool],
    what: str,
    procs: Sequence[subprocess.Popen] = (),
    deadline_s: float = DEADLINE_S,
) -> None:
  """`conftest.wait_for` with the chaos job's limit, naming processes by their role."""
  conftest.wait_for(
      predicate,
      what,
      procs,
      deadline_s,
      lambda p: f"{_name(p)} exited with {p.returncode} first",
  )


def _name(p: subprocess.Popen) -> str:
  return getattr(p, "chaos_name", str(p.args))


def committed_steps(workdir: pathlib.Path) -> list[int]:
  """The steps of the committed checkpoints (orbax renames a finished one to its step)."""
  d = workdir / "checkpoints"
  return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit()) if d.is_dir() else []


class Job:
  """One case's processes: the service (fixed loopback ports, so that a restarted server
  takes its predecessor's address) and the trainers, each writing a log in `directory`."""

  def __init__(self, directory: pathlib.Path, cache: pathlib.Path, size: Size):
    self.directory, self.cache, self.size = directory, cache, size
    self.workdir = directory / "work"
    directory.mkdir(parents=True)
    self.dispatcher_port = free_port()
    self.worker_ports = [free_port(), free_port()]
    self.servers: dict[str, subprocess.Popen] = {}
    self.trainers: list[subprocess.Popen] = []
    self._starts: dict[str, int] = {}  # Launches of each server so far.
    self._logs = []

  def _start(self, name: str, argv: Sequence[str], env=None) -> subprocess.Popen:
    log = open(self.directory / f"{name}.log", "a", encoding="utf-8")
    self._logs.append(log)
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.chaos_name = name
    return proc

  def log(self, name: str) -> str:
    return (self.directory / f"{name}.log").read_text(encoding="utf-8", errors="replace")

  def _serving(self, name: str) -> bool:
    """Whether the latest launch of server `name` printed its readiness line."""
    return self.log(name).count("mgjax-service: ") >= self._starts[name]

  def start_server(self, name: str, wait: bool = True) -> None:
    """Starts `dispatcher` or `worker0`/`worker1` and (with `wait`) waits until it serves."""
    service = [sys.executable, "-m", "mgjax.data.service"]
    if name == "dispatcher":
      argv = [*service, "dispatcher", "--port", str(self.dispatcher_port)]
      argv += ["--work_dir", str(self.directory / "journal")]
    else:
      port = self.worker_ports[int(name[-1])]
      argv = [*service, "worker", "--port", str(port)]
      argv += ["--dispatcher_address", f"127.0.0.1:{self.dispatcher_port}"]
      argv += ["--worker_address", "127.0.0.1:%port%"]
    self._starts[name] = self._starts.get(name, 0) + 1
    self.servers[name] = self._start(name, argv)
    if wait:
      self.wait_until_serving(name)

  def wait_until_serving(self, name: str) -> None:
    proc = self.servers[name]
    wait_for(lambda: self._serving(name), f"{name} to serve", [proc])

  def start_service(self) -> None:
    """Starts the dispatcher and both workers at once and waits until all serve."""
    for name in ("dispatcher", "worker0", "worker1"):
      self.start_server(name, wait=False)
    for name in self.servers:
      self.wait_until_serving(name)

  def kill(self, proc: subprocess.Popen) -> None:
    if proc.poll() is None:
      proc.send_signal(signal.SIGKILL)
    proc.wait()

  def start_trainers(self, kill_in_save: int | None = None) -> None:
    """Launches both trainer processes (a fresh coordinator port per launch)."""
    coordinator = f"127.0.0.1:{free_port()}"
    env = dict(
        os.environ,
        XLA_FLAGS=conftest.xla_flags(4),
        MGJAX_CHAOS_KILL_IN_SAVE=str(-1 if kill_in_save is None else kill_in_save),
    )
    flags = [
        f"--workdir={self.workdir}",
        "--mode=train",
        f"--config={TINY}",
        f"--config.data.cache_dir={self.cache / 'data'}",
        f"--config.train.compile_cache_dir={self.cache / 'xla'}",
        f"--config.data.service_address=grpc://127.0.0.1:{self.dispatcher_port}",
        *self.size.overrides,
        f"--coordinator_address={coordinator}",
        "--num_processes=2",
    ]
    self.trainers = [
        self._start(
            f"trainer{i}", [sys.executable, "-c", _TRAINER, *flags, f"--process_id={i}"], env
        )
        for i in range(2)
    ]

  def finish_trainers(self) -> None:
    """Waits for both trainers to end; both must succeed."""
    wait_for(lambda: all(p.poll() is not None for p in self.trainers), "the trainers to finish")
    for i, p in enumerate(self.trainers):
      if p.returncode != 0:
        raise ChaosError(
            f"trainer{i} exited with {p.returncode}; its log ends:\n"
            + self.log(f"trainer{i}")[-3000:]
        )

  def wait_for_checkpoint(self, step: int) -> None:
    wait_for(
        lambda: any(s >= step for s in committed_steps(self.workdir)),
        f"the checkpoint of step {step}",
        self.trainers,
    )

  def restart_trainers(self, survivor: subprocess.Popen) -> str:
    """Restarts the whole job after one trainer died: gives the survivor
    `SURVIVOR_GRACE_S` to end by itself, kills it otherwise, launches both again.

    Returns:
      How the survivor ended.
    """
    start = time.monotonic()
    try:
      wait_for(lambda: survivor.poll() is not None, "the survivor", deadline_s=SURVIVOR_GRACE_S)
      ended = f"exited by itself with {survivor.returncode} after {time.monotonic() - start:.0f} s"
    except conftest.WaitError:
      self.kill(survivor)
      ended = f"still running after {SURVIVOR_GRACE_S:.0f} s, killed"
    self.start_trainers()
    return ended

  def local_steps(self) -> list[int]:
    """The steps the trainers made themselves (the service did not deliver them)."""
    return sorted({int(m) for i in range(2) for m in LOCAL_STEP.findall(self.log(f"trainer{i}"))})

  def close(self) -> None:
    for p in [*self.trainers, *self.servers.values()]:
      self.kill(p)
    for log in self._logs:
      log.close()


def final_state(workdir: pathlib.Path):
  """(step, train state) of the latest checkpoint, on one device."""
  from mgjax import checkpointing  # pylint: disable=g-import-not-at-top

  return checkpointing.restore_on_one_device(str(workdir / "checkpoints"))


def identical(a, b) -> bool:
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
  return [p for p, _ in la] == [p for p, _ in lb] and all(
      np.array_equal(x, y) for (_, x), (_, y) in zip(la, lb)
  )


def run_case(case: str, job: Job) -> str:
  """Runs one case's job to the end; returns what happened, in words."""
  size = job.size
  job.start_service()
  if case == "save_kill":
    job.start_trainers(kill_in_save=size.save_kill_step)
    wait_for(lambda: job.trainers[0].poll() is not None, "trainer0 to die in its save")
    if job.trainers[0].returncode != -signal.SIGKILL:
      raise ChaosError(f"trainer0 exited with {job.trainers[0].returncode}, not by the kill")
    committed = committed_steps(job.workdir)
    pending = [p.name for p in (job.workdir / "checkpoints").iterdir() if not p.name.isdigit()]
    if size.save_kill_step in committed or not pending:
      raise ChaosError(
          f"the kill did not land inside the save of step {size.save_kill_step}: committed "
          f"{committed}, uncommitted {pending}"
      )
    ended = job.restart_trainers(job.trainers[1])
    job.finish_trainers()
    resumed = re.findall(r"Resumed from the checkpoint at step (\d+)", job.log("trainer0"))
    return (
        f"killed in the commit of step {size.save_kill_step} (left {', '.join(pending)}); "
        f"trainer1 {ended}; the relaunch resumed from step {', '.join(resumed)}"
    )
  job.start_trainers()
  job.wait_for_checkpoint(size.fault_after)
  if case == "trainer_kill":
    job.kill(job.trainers[1])
    ended = job.restart_trainers(job.trainers[0])
    job.finish_trainers()
    resumed = re.findall(r"Resumed from the checkpoint at step (\d+)", job.log("trainer0"))
    return f"trainer1 killed; trainer0 {ended}; the relaunch resumed from step {resumed[-1]}"
  name = "worker1" if case == "worker_restart" else "dispatcher"
  job.kill(job.servers[name])
  job.start_server(name)
  job.finish_trainers()
  local = job.local_steps()
  return f"{name} killed and restarted; trainers ran on, " + (
      f"made steps {local} themselves" if local else "every step came from the service"
  )


def run(
    size: str = "small", cases: Sequence[str] = CASES, workdir: str | None = None
) -> list[dict[str, str | bool | float]]:
  """Runs the reference and the cases; returns one row per run.

  Args:
    size: a key of `SIZES`.
    cases: which of `CASES`.
    workdir: where runs, caches and logs go (default: a temporary directory, removed).

  Returns:
    Rows with `case`, `what` (what happened), `identical` (the final state equals the
    reference's, bit for bit) and `seconds`.
  """
  root = pathlib.Path(workdir or tempfile.mkdtemp(prefix="mgjax-chaos-"))
  cache = root / "cache"
  rows = []
  ref_step = ref_state = None
  try:
    for case in ("reference", *cases):
      start = time.monotonic()
      job = Job(root / case, cache, SIZES[size])
      step = None
      try:
        if case == "reference":
          job.start_service()
          job.start_trainers()
          job.finish_trainers()
          what = "undisturbed"
        else:
          what = run_case(case, job)
        step, state = final_state(job.workdir)
        same = ref_step is None or (step == ref_step and identical(state, ref_state))
      except (ChaosError, conftest.WaitError) as e:
        what, same = f"FAILED: {e}", False
      finally:
        job.close()
      if case == "reference":
        if step is None:
          raise ChaosError(f"the undisturbed job failed: {what}")
        ref_step, ref_state = step, state
      row = dict(case=case, what=what, step=step, identical=same)
      rows.append(dict(row, seconds=round(time.monotonic() - start, 1)))
      print(format_row(rows[-1]), flush=True)
  finally:
    if workdir is None:
      shutil.rmtree(root, ignore_errors=True)
  return rows


def format_row(r) -> str:
  """One line of the report."""
  same = "bit-identical" if r["identical"] else "DIFFERS"
  return f"{r['case']:<19} step {r['step']!s:>4}  {same:<13} {r['seconds']:>6.0f} s  {r['what']}"


def main(argv: Sequence[str] | None = None) -> int:
  p = argparse.ArgumentParser(prog="python tests/chaos.py", description=__doc__.split("\n\n")[0])
  p.add_argument("--size", choices=sorted(SIZES), default="small")
  p.add_argument("--cases", default=",".join(CASES), help=f"Comma-separated subset of {CASES}.")
  p.add_argument("--workdir", default=None, help="Keep runs and logs here (default: removed).")
  args = p.parse_args(argv)
  cases = [c for c in args.cases.split(",") if c]
  unknown = set(cases) - set(CASES)
  if unknown:
    p.error(f"unknown cases {sorted(unknown)}; known: {', '.join(CASES)}")
  rows = run(args.size, cases, args.workdir)
  return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
  sys.exit(main())
