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
"""The training input on tf.data service workers (CPU machines beside the accelerators).

With `config.data.service_address = "grpc://HOST:PORT"` (a dispatcher), the training
pipeline's graph, the same one the trainer would run, is sent to the service as a job
with dynamic sharding: the dispatcher hands out the steps one at a time (each step is
one element of the graph's source, `Dataset.range(steps)`, hence one split), the worker
that takes a step loads, decodes and batches all of this host's clips of it, and sends
the batch back tagged with its step. Batches arrive in the order the workers finish
them, so `OrderedBatches` puts them back in step order:

- it expects step k; later steps wait in a buffer, steps already passed (duplicates, or
  a step that arrives after it was computed here) are dropped;
- a step the service does not deliver is computed in the trainer by the local pipeline
  restricted to [k, k+1), once `window` later steps have arrived, the service has been
  silent for `patience` seconds, or its stream has ended. A batch is a pure function of
  (config, step), so this gives the same batch bit for bit; each such step is logged at
  WARNING and counted (`local_steps`). Steps are lost when a worker dies: dynamic
  sharding is at-most-once, and TensorFlow (2.21) neither hands a dead worker's splits
  out again nor ends its task (the dispatcher waits for a worker at that address to
  come back), so the job's stream never ends after a death: hence the patience;
- a batch in which clips failed to load on a worker is made here again (`rechecked_steps`),
  since a worker that cannot read the store would otherwise put black clips in it.

Hence resume (a new job from the restart's step) and multi-host slicing (each host's
own job: process_index is in its graph) give the batches of the local pipeline.

Servers (TensorFlow on CPU only; the workers read the frame store at the paths the
trainer reads, so the store must be on a shared file system or `gs://`):

  python -m mgjax.data.service dispatcher --port 5050
  python -m mgjax.data.service worker --dispatcher_address HOST:5050 [--port 5051]
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import threading
import time
from typing import Any, Callable, Sequence

from absl import logging
import numpy as np

if __name__ == "__main__":
  # A server, before TensorFlow loads: its C++ INFO lines (a few a second from the
  # dispatcher) are noise, its warnings (a worker losing the dispatcher) are not.
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top,g-bad-import-order

tf = frame_store.import_tf()  # Accelerators stay with JAX; a worker needs none.

DEFAULT_DISPATCHER_PORT = 5050
# Later steps delivered while step k is missing before k is computed here. Batches
# arrive out of order by about the number of splits the workers hold in flight; a step
# that turns up after it was computed here doubles the window (up to `MAX_WINDOW`), so a
# fleet with more steps in flight stops recomputing steps. It bounds the batches held.
DEFAULT_WINDOW = 16
MAX_WINDOW = 128
# Seconds the service may stay silent (nothing delivered while the client waits for it)
# before a missing step is computed here. Needed because a dead worker's task never
# ends: the dispatcher waits for it to come back at its address, so the job's stream
# never ends, and a lost step near the end of the range has no later steps to count.
DEFAULT_PATIENCE_S = 60.0
_QUEUE_SIZE = 2  # Batches the reader thread holds beyond the reorder buffer.

# Builds the pipeline of steps [first, stop): (first, stop, keep_step) -> dataset.
# keep_step=True keeps each batch's `step` (int64 scalar), which the service path needs.
Builder = Callable[[int, int, bool], tf.data.Dataset]

_END = object()  # The service's stream ended.


class _Reader(threading.Thread):
  """Moves the service's batches into a bounded queue, so that the trainer can wait for
  a step with a time limit (a tf.data iterator's `next` cannot be given one) and can
  tell a silent service from a full queue."""

  def __init__(self, dataset: tf.data.Dataset, address: str):
    super().__init__(name="mgjax-data-service", daemon=True)
    self.queue: queue.Queue = queue.Queue(_QUEUE_SIZE)
    self._dataset, self._address = dataset, address
    self._stop_event = threading.Event()
    self._waiting_since: float | None = time.monotonic()

  def silent_seconds(self) -> float:
    """How long the reader has been waiting for the service (0 while it waits on a full
    queue, i.e. on the trainer)."""
    since = self._waiting_since
    return 0.0 if since is None else time.monotonic() - since

  def stop(self) -> None:
    self._stop_event.set()

  def _put(self, item: Any) -> bool:
    self._waiting_since = None
    while not self._stop_event.is_set():
      try:
        self.queue.put(item, timeout=1.0)
        return True
      except queue.Full:
        pass
    return False

  def run(self) -> None:
    try:
      # Registering the dataset (in `distribute`) and creating the job wait for the
      # dispatcher, forever if it is unreachable: here, not in the trainer, which keeps
      # its patience. No job_name: a job of its own, so hosts (whose graphs differ) and
      # restarts never share one. DYNAMIC: the dispatcher gives out one split (= one
      # step) at a time, to whichever worker asks, so a slow worker takes fewer steps
      # and a new one takes its share at once.
      service = tf.data.experimental.service
      distribute = service.distribute(
          processing_mode=service.ShardingPolicy.DYNAMIC, service=self._address
      )
      stream = iter(self._dataset.apply(distribute).as_numpy_iterator())
      del self._dataset
      while True:
        self._waiting_since = time.monotonic()
        try:
          batch = next(stream)
        except StopIteration:
          self._put(_END)
          return
        if not self._put(batch):
          return
    except Exception as e:  # pylint: disable=broad-except
      self._put(e)  # Raised in the trainer's thread.


class OrderedBatches:
  """The batches of steps [start, stop) from the tf.data service, in step order.

  An iterator of numpy batch dicts, the same as the local pipeline's
  `as_numpy_iterator()` (see the module docstring for how order and loss are handled).

  Attributes:
    local_steps: the steps computed in this process (not delivered by the service).
    rechecked_steps: the steps whose batch had failed clips and was made here again
      (`_check_failures`).
    dropped: elements dropped because their step had passed (duplicates or late).
    window: the current number of later steps that make a missing step local.
    patience: seconds of silence from the service that make a missing step local.
  """

  def __init__(
      self,
      address: str,
      build: Builder,
      start: int,
      stop: int,
      *,
      keep_step: bool = False,
      window: int | None = None,
      patience: float | None = None,
  ):
    """Starts a job on the service (each iterator is its own job).

    Args:
      address: the dispatcher, "grpc://HOST:PORT".
      build: makes the local pipeline of a range of steps (`Builder`).
      start: the first step.
      stop: the end step (exclusive).
      keep_step: leave each batch's `step` in it (with_metadata); else strip it, as
        the local pipeline does.
      window: see `DEFAULT_WINDOW` (None: that).
      patience: see `DEFAULT_PATIENCE_S` (None: that).
    """
    self._reader: _Reader | None = None  # First: `__del__` reads it.
    self._build, self._next, self._stop = build, int(start), int(stop)
    self._keep_step, self._address = keep_step, address
    self.window = int(window or DEFAULT_WINDOW)
    self.patience = float(DEFAULT_PATIENCE_S if patience is None else patience)
    self.local_steps: list[int] = []
    self._by_window: set[int] = set()  # Local steps that the window made local.
    self.rechecked_steps: list[int] = []
    self._bad_here: set[int] = set()  # Videos that failed to load in this process.
    self.dropped = 0
    self._received = 0
    self._pending: dict[int, dict[str, Any]] = {}
    self._ended = self._next >= self._stop
    if not self._ended:
      # Built here, so that a bad argument raises in the caller.
      self._reader = _Reader(build(self._next, self._stop, True), address)
      self._reader.start()
      logging.info(
          "Training input: steps [%d, %d) from the tf.data service at %s.",
          self._next,
          self._stop,
          address,
      )

  def __iter__(self) -> "OrderedBatches":
    return self

  def __next__(self) -> dict[str, Any]:
    k = self._next
    if k >= self._stop:
      self.close()
      raise StopIteration
    # `_pending` holds only steps after k: its size is the number of later steps
    # delivered while k is missing.
    while k not in self._pending and not self._ended and len(self._pending) < self.window:
      try:
        item = self._reader.queue.get_nowait()  # What came while the trainer trained.
      except queue.Empty:
        silent = self._reader.silent_seconds()
        if silent >= self.patience:
          break
        try:
          item = self._reader.queue.get(timeout=self.patience - silent)
        except queue.Empty:
          continue  # Measure the silence again: the reader may have been busy.
      self._take(item)
    batch = self._pending.pop(k, None)
    if batch is None:
      batch = self._compute_locally(k)
    else:
      if not self._keep_step:
        del batch["step"]
      batch = self._check_failures(k, batch)
    self._next = k + 1
    return batch

  def close(self) -> None:
    """Lets the reader thread end (it drops the job's iterator): for a consumer that
    stops early. The thread is a daemon, so it never keeps the process alive."""
    if self._reader is not None:
      self._reader.stop()

  def __del__(self):
    self.close()

  def _take(self, item: Any) -> None:
    """Files one item from the reader: a batch into `_pending`, or the stream's end."""
    if item is _END:
      self._ended = True
      return
    if isinstance(item, Exception):
      self._ended = True
      raise item
    self._received += 1
    step = int(item["step"])
    if step < self._next or step in self._pending or step >= self._stop:
      self.dropped += 1
      if step in self._by_window and self.window < MAX_WINDOW:
        # The step was only late, not lost: wait longer before computing one here.
        self.window = min(2 * self.window, MAX_WINDOW)
        logging.info(
            "Step %d came from the tf.data service after it was computed here: waiting"
            " for up to %d later steps from now on.",
            step,
            self.window,
        )
      return
    self._pending[step] = item

  def _compute_locally(self, k: int) -> dict[str, Any]:
    """Step k by the local pipeline of [k, k+1): the same batch (a pure function of
    (config, k)), at the cost of loading it in this process."""
    if self._ended:
      reason = "the service's stream ended"
    elif len(self._pending) >= self.window:
      reason = f"{len(self._pending)} later steps came first; a worker may have died"
      self._by_window.add(k)
    elif not self._received:
      reason = (
          f"nothing came from {self._address} in {self.patience:.0f} s: is a dispatcher"
          " running there, with workers?"
      )
    else:
      reason = f"the service was silent for {self.patience:.0f} s; a worker may have died"
    logging.warning(
        "Step %d did not come from the tf.data service (%s): computing it here.", k, reason
    )
    self.local_steps.append(k)
    return self._make_here(k)

  def _check_failures(self, k: int, batch: dict[str, Any]) -> dict[str, Any]:
    """A clip that failed on a worker may have failed there only (a worker that cannot
    read the store at the trainer's paths would give black clips; a transient read
    error a replacement video), which would break "a pure function of (config, step)".
    So a batch with failed clips is made here again, unless every video that failed in
    it has failed here before (a bad file: one batch made twice per bad video), and the
    version with fewer failures is used."""
    bad = np.asarray(batch["bad_videos"])
    if set(bad[bad >= 0].tolist()) <= self._bad_here:
      return batch
    self.rechecked_steps.append(k)
    here = self._make_here(k)
    if int(here["failed"]) < int(batch["failed"]):
      logging.warning(
          "Step %d: %d clips failed to load on a tf.data service worker, %d here: using the"
          " batch made here. Do the workers see the frame store at the trainer's paths?",
          k,
          int(batch["failed"]),
          int(here["failed"]),
      )
      return here
    return batch

  def _make_here(self, k: int) -> dict[str, Any]:
    """Step k by the local pipeline of [k, k+1), noting the videos that fail here."""
    batch = next(self._build(k, k + 1, False).as_numpy_iterator())
    bad = np.asarray(batch["bad_videos"])
    self._bad_here.update(bad[bad >= 0].tolist())
    return batch


# ----------------------------------------------------------------------------------------
# Servers.


def start_dispatcher(
    port: int = DEFAULT_DISPATCHER_PORT, *, work_dir: str = ""
) -> tf.data.experimental.service.DispatchServer:
  """Starts a dispatcher in this process.

  Args:
    port: the port to serve on (0: any free port).
    work_dir: where the dispatcher keeps its journal ("": none); with one, a restarted
      dispatcher resumes its jobs (TensorFlow's fault-tolerant mode).

  Returns:
    The running server (`.target` is its "grpc://localhost:PORT").
  """
  service = tf.data.experimental.service
  return service.DispatchServer(
      service.DispatcherConfig(
          port=port, work_dir=work_dir or None, fault_tolerant_mode=bool(work_dir)
      )
  )


def start_worker(
    dispatcher_address: str, port: int = 0, *, worker_address: str | None = None
) -> tf.data.experimental.service.WorkerServer:
  """Starts a worker in this process. It registers at once and takes a share of the
  running jobs (also when it replaces a dead worker).

  Args:
    dispatcher_address: the dispatcher's "HOST:PORT" (a "grpc://" prefix is allowed).
    port: the port to serve on (0: any free port).
    worker_address: the address clients use to reach this worker, with "%port%" for
      the port (default: this machine's fully qualified name; TensorFlow's own default,
      localhost, only works on the trainer's machine).

  Returns:
    The running server.
  """
  service = tf.data.experimental.service
  return service.WorkerServer(
      service.WorkerConfig(
          dispatcher_address=dispatcher_address.removeprefix("grpc://"),
          worker_address=worker_address or f"{socket.getfqdn()}:%port%",
          port=port,
      )
  )


def main(argv: Sequence[str] | None = None) -> None:
  """Runs a dispatcher or a worker until the process is killed (see the module docstring).

  argparse rather than absl flags: this module is a library of the trainer too, and
  absl flags are process-wide (`--port` would land in the trainer's flags).
  """
  parser = argparse.ArgumentParser(
      prog="python -m mgjax.data.service",
      description="A tf.data service dispatcher (one) or worker (many, on CPU machines) for"
      " mgjax's training input.",
  )
  # Optional for argparse, checked below: `--helpfull` then reads as an unknown flag.
  parser.add_argument("role", nargs="?", choices=("dispatcher", "worker"))
  parser.add_argument(
      "--port",
      type=int,
      default=None,
      help=f"dispatcher: default {DEFAULT_DISPATCHER_PORT}; worker: default any free port",
  )
  parser.add_argument("--dispatcher_address", default="", help="worker: the dispatcher's HOST:PORT")
  parser.add_argument(
      "--worker_address",
      default=None,
      help="worker: HOST:%%port%% that trainers reach it at (default: this machine's name)",
  )
  parser.add_argument(
      "--work_dir", default="", help="dispatcher: a journal, so that a restart keeps the jobs"
  )
  args = parser.parse_args(argv)
  if args.role is None:
    parser.error("say which server: dispatcher or worker")
  logging.set_verbosity(logging.INFO)
  if args.role == "dispatcher":
    port = DEFAULT_DISPATCHER_PORT if args.port is None else args.port
    server = start_dispatcher(port, work_dir=args.work_dir)
    where = f" on port {server.target.rsplit(':', 1)[-1]}"
    logging.info("tf.data service dispatcher serving%s.", where)
  else:
    if not args.dispatcher_address:
      parser.error("a worker needs --dispatcher_address HOST:PORT")
    server = start_worker(
        args.dispatcher_address, args.port or 0, worker_address=args.worker_address
    )
    where = f" for {args.dispatcher_address}"
    logging.info("tf.data service worker serving%s.", where)
  print(f"mgjax-service: {args.role} serving{where}", flush=True)  # Scripts and tests wait for it.
  server.join()


if __name__ == "__main__":
  main()
