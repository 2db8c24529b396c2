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
"""Training as a library: the loop.

The train step (`steps.py`) is compiled ahead of time for every distinct
(B, T, S, BN group) of the multigrid plan, on a thread beside training, and stored
so that a restart loads it instead of compiling (`compilation.py`). The plan decides
everything that changes over the run (shapes, LR, BN groups); the input pipeline is
a pure function of the step, so a restored checkpoint continues bit-for-bit.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import time
from typing import Any, Callable, Iterator, Sequence

from absl import logging
from clu import metric_writers
from clu import periodic_actions
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from mgjax import checkpointing
from mgjax import compilation
from mgjax import config as config_lib
from mgjax import evaluate
from mgjax import multigrid
from mgjax import plotting
from mgjax import sharding
from mgjax import steps
from mgjax.data import frame_store
from mgjax.data import pipeline
from mgjax.models import registry


class NonFiniteLossError(RuntimeError):
  """The loss became NaN or infinite; the last good checkpoint is kept."""


class _Preemption:
  """Turns SIGTERM (TPU preemption, job schedulers) into a flag the loop polls."""

  def __init__(self):
    self.requested = False
    self._previous = signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM received: saving a checkpoint and exiting.")
    self.requested = True

  def should_stop(self, step: int) -> bool:
    if jax.process_count() > 1:  # Every host must stop at the same step.
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

      return bool(multihost_utils.reached_preemption_sync_point(step)) or self.requested
    return self.requested

  def restore(self):
    signal.signal(signal.SIGTERM, self._previous)


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=1))


def train_and_evaluate(
    config: ml_collections.ConfigDict,
    workdir: str,
    *,
    evaluate_at_end: bool = True,
    mesh: jax.sharding.Mesh | None = None,
    hooks: Sequence[Callable[[int], None]] = (),
) -> dict[str, Any]:
  """Runs (or resumes) the training of `config` in `workdir`.

  Args:
    config: a validated config.
    workdir: checkpoints, TensorBoard logs, the schedule plot and eval results.
    evaluate_at_end: run precise BN and the multi-view evaluation at the end.
    mesh: the device mesh (default: all devices).
    hooks: called with the number of steps done after each step, once it is logged
      and before its checkpoint (profilers; the resume tests' fault injection).

  Returns:
    The run's summary, also written to `WORKDIR/summary.json` (by process 0): `start_step`,
    `final_step`; `train`, the last log period's metrics; `eval`, the final evaluation's
    metrics; `evals`, the accuracy curve (step, epoch, the loop's seconds, top-1 ...);
    `preempted`; `failed_clips`, `bad_videos`; and this process's times in seconds:
    `train_seconds` (the whole loop, evaluations and compile waits excluded),
    `total_seconds`, `compile_seconds` (compiling or loading the `compiled_shapes`, in
    the background; `loaded_shapes` of them came from the executable cache),
    `compile_wait_seconds`, `input_wait_seconds`, `eval_seconds`,
    `precise_bn_seconds`, `checkpoint_seconds`, `marks` (`compile_start`, `loop_start`,
    `first_step`: seconds after the call) and `shapes` (per step shape: steps, loop
    seconds, input wait seconds).
  """
  chrono = _Chrono()
  os.makedirs(workdir, exist_ok=True)
  cache_dir = compilation.setup_persistent_cache(config, workdir)
  mesh = mesh or sharding.make_mesh()
  config_lib.validate(config, num_devices=mesh.size)
  registry.check_config(config.model)
  config = pipeline.prepare(config)  # Resolves data.root (builds the synthetic set).
  plan = multigrid.Plan.from_config(config)
  last = (
      plan.num_steps if not config.train.max_steps else min(plan.num_steps, config.train.max_steps)
  )

  model_def, state = steps.init_state(config, mesh)
  ckpt = checkpointing.Checkpointer(
      os.path.join(workdir, "checkpoints"), config.train.keep_checkpoints
  )
  start = ckpt.latest_step() or 0
  # The step shapes from `start` on compile on a thread from here on, beside the
  # restore, the input pipeline's start-up and the first steps (the state's shapes do
  # not depend on its values, so the fresh state describes the restored one). A damaged
  # latest checkpoint moves `start` back; its earlier shapes are then queued too.
  step_fn = functools.partial(steps.train_step, model_def=model_def, config=config)
  labels = steps.label_spec(config)
  compiled = compilation.CompiledSteps(
      step_fn,
      mesh,
      labels,
      state,
      cache=compilation.ExecutableCache(
          os.path.join(cache_dir, "steps"),
          compilation.step_context(config, mesh, state, labels, {}),
      ),
  )
  chrono.mark("compile_start")
  compiled.start(compilation.step_keys(plan, start, last))
  restored, state = ckpt.restore_latest_readable(state)
  if restored is not None:
    if restored != start:
      start = restored
      compiled.start(compilation.step_keys(plan, start, last))
    logging.info("Resumed from the checkpoint at step %d.", start)
  elif config.train.init_from:
    params, rest = checkpointing.load_init_params(config, state["params"], state["rest"], mesh)
    state = dict(state, params=params, rest=rest)
  write_config(config, workdir)
  writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)
  if jax.process_index() == 0:
    plotting.plot_schedule(plan, os.path.join(workdir, "schedule.png"))
  if not config.train.background_compile:
    compiled.compile_all(compilation.step_keys(plan, start, last))
  table = plan.step_table()

  eval_steps = _eval_steps(config, plan, last)
  segment_ends = {s.first_step + s.num_steps for s in plan.segments}
  segment_starts = {s.first_step: s for s in plan.segments}
  progress = _Progress(table, start, last)
  hooks = [periodic_actions.ReportProgress(num_train_steps=last, writer=writer), *hooks]
  preemption = _Preemption()
  batches = pipeline.train_dataset(config, plan, start, jax.process_index(), jax.process_count())
  process = jax.process_index()
  report = f"bad_videos_process{process}.json" if process else "bad_videos.json"
  bad_videos = pipeline.BadVideos(config, config.data.train_split, os.path.join(workdir, report))
  period = _Period()
  pending: tuple[int, Any] | None = None  # Metrics of the last step, checked one step late.
  summary: dict[str, Any] = {"start_step": start, "evals": []}
  chrono.start_loop()
  try:
    for step in range(start, last):
      chrono.start_step()
      if step in segment_starts:
        _log_segment(plan, segment_starts[step])
      with chrono.section("input_wait"):
        local = next(batches)
      key = compilation.step_key(table, step)
      failed = int(np.sum(local.pop("failed", 0)))
      bad_videos.add(local.pop("bad_videos"))
      with chrono.section("compile_wait", pause=True):
        compiled.ready(key)
      state, metrics = compiled(key, state, sharding.global_batch(mesh, local), table["lr"][step])
      if step == start:  # One wait for the device, so that the time to the first step is known.
        jax.block_until_ready(metrics)
        chrono.mark("first_step")
      if pending is not None:
        _check_finite(*pending)
      pending = (step, metrics)
      period.add(key[0], failed, metrics)
      done = step + 1
      if done % config.train.log_every_steps == 0 or done == last:
        _check_finite(*pending)
        summary["train"] = _log_train(writer, done, plan, table, step, period, chrono)
        progress.log(done, summary["train"], chrono.loop_seconds())
      for hook in hooks:
        hook(done)
      stop = preemption.should_stop(done)
      # The save decision stays here rather than in orbax's `save_interval_steps` /
      # `save_on_steps` / `reached_preemption`: the loop needs the same preemption answer
      # to stop, the plan's segment ends would have to be handed to the manager, and the
      # last step's loss must be checked finite before any save; one `if` keeps all four
      # reasons to save readable in one place.
      if (
          done % config.train.checkpoint_every_steps == 0
          or done in segment_ends
          or done == last
          or stop
      ):
        _check_finite(*pending)
        with chrono.section("checkpoint"):
          ckpt.save(done, state)
      chrono.end_step(key)
      if done in eval_steps and done != last:
        state, result = _evaluate(
            config, plan, mesh, model_def, state, writer, done, workdir, chrono
        )
        summary["evals"].append(_curve_point(done, plan, table, chrono, result))
      if stop:
        logging.warning("Stopped at step %d after SIGTERM; the checkpoint is saved.", done)
        summary["preempted"] = True
        break
    else:
      summary["train_seconds"] = chrono.loop_seconds()
      if evaluate_at_end and last > start:
        state, summary["eval"] = _evaluate(
            config, plan, mesh, model_def, state, writer, last, workdir, chrono
        )
        summary["evals"].append(_curve_point(last, plan, table, chrono, summary["eval"]))
  finally:
    compiled.close()
    ckpt.close()
    preemption.restore()
    bad_videos.write()
    writer.flush()  # What clu's `ensure_flushes` does, in the `finally` that closes the rest.
  summary.update(
      final_step=int(jax.device_get(state["step"])),
      failed_clips=period.failed,
      bad_videos=len(bad_videos.failed_clips),
      compiled_shapes=len(compiled.log),
      loaded_shapes=sum(source == "loaded" for _, source, _, _ in compiled.log),
      compile_seconds=compiled.compile_seconds,
      **chrono.summary(),
  )
  chrono.log_input_wait()
  if jax.process_index() == 0:
    _write_summary(summary, os.path.join(workdir, "summary.json"))
  return summary


def _check_finite(step: int, metrics: dict[str, jax.Array]) -> None:
  finite, loss = jax.device_get((metrics["finite"], metrics["loss"]))
  if not finite:
    raise NonFiniteLossError(
        f"The loss is {float(loss)} (or the parameters overflowed) at step {step + 1}: stopping. "
        "The last good checkpoint is kept; lower optim.base_lr or check the data, then restart "
        "to resume from it."
    )


def _eval_steps(config, plan: multigrid.Plan, last: int) -> set[int]:
  every = config.train.eval_every_epochs
  if not every:
    return set()
  epochs = np.arange(every, plan.max_epoch, every)
  at = {plan.step_of_epoch(float(e)) for e in epochs}
  return {k for k in at if 0 < k < last}


class _Chrono:
  """The run's one clock (in the spirit of big_vision's chrono).

  The loop's time is the wall time since the loop started less its paused sections:
  evaluations and waits for a step shape to compile, which are not training. Every
  section's seconds are kept by name, and the loop's time and input wait by step shape
  (multigrid's small shapes need many more clips per second, so some may be
  input-bound). `mark` records a moment, in seconds since the run started.
  """

  SECTIONS = ("input_wait", "compile_wait", "checkpoint", "precise_bn", "eval")

  def __init__(self):
    self._t0 = time.perf_counter()
    self._loop_t0 = self._step_t0 = self._step_wait0 = 0.0
    self._paused = 0.0
    self.sections = dict.fromkeys(self.SECTIONS, 0.0)
    self.marks: dict[str, float] = {}
    self.shapes: dict[str, dict[str, float]] = {}

  def mark(self, name: str) -> None:
    self.marks.setdefault(name, time.perf_counter() - self._t0)

  @contextlib.contextmanager
  def section(self, name: str, pause: bool = False) -> Iterator[None]:
    """Times the block under `name`; `pause` leaves it out of the loop's time."""
    t = time.perf_counter()
    try:
      yield
    finally:
      dt = time.perf_counter() - t
      self.sections[name] = self.sections.get(name, 0.0) + dt
      if pause:
        self._paused += dt

  def start_loop(self) -> None:
    self.mark("loop_start")
    self._loop_t0, self._paused = time.perf_counter(), 0.0

  def loop_seconds(self) -> float:
    return time.perf_counter() - self._loop_t0 - self._paused

  def start_step(self) -> None:
    self._step_t0, self._step_wait0 = self.loop_seconds(), self.sections["input_wait"]

  def end_step(self, key: tuple) -> None:
    """Adds the step's loop time and input wait to its shape."""
    b, t, s = key[:3]  # Without the BN group: neither the input nor the cost depends on it.
    shape = self.shapes.setdefault(
        f"{b}x{t}x{s}²", dict(steps=0, seconds=0.0, input_wait_seconds=0.0)
    )
    shape["steps"] += 1
    shape["seconds"] += self.loop_seconds() - self._step_t0
    shape["input_wait_seconds"] += self.sections["input_wait"] - self._step_wait0

  def summary(self) -> dict[str, Any]:
    """The measured times (seconds; `marks` since the run started)."""
    return dict(
        total_seconds=time.perf_counter() - self._t0,
        **{f"{k}_seconds": v for k, v in sorted(self.sections.items())},
        marks=dict(self.marks),
        shapes=self.shapes,
    )

  def log_input_wait(self) -> None:
    """One line: the share of the loop's time each shape waited for input."""
    if self.shapes:
      logging.info(
          "Input wait by shape (share of the loop's time at the shape): %s.",
          ", ".join(
              f"{k} {100 * v['input_wait_seconds'] / max(v['seconds'], 1e-9):.0f}%"
              for k, v in self.shapes.items()
          ),
      )


class _Period:
  """The train metrics between two logs: clips, failed clips, and metric sums (logged as
  their mean over the period); its times are the chrono's differences."""

  _AVERAGED = ("loss", "top1", "grad_norm")

  def __init__(self):
    self.failed = 0
    self._loop = self._wait = 0.0
    self._reset()

  def _reset(self):
    self.clips, self.steps, self.sums = 0, 0, None

  def add(self, clips: int, failed: int, metrics: dict[str, jax.Array]):
    """Counts a step (the sums stay on the device: no wait for the step to finish)."""
    self.clips += clips
    self.failed += failed
    self.steps += 1
    step = {k: metrics[k] for k in self._AVERAGED}
    self.sums = step if self.sums is None else jax.tree.map(jnp.add, self.sums, step)

  def take(self, chrono: _Chrono) -> tuple[float, float, int, dict[str, float]]:
    """(loop seconds, fraction waiting for input, clips, mean metrics) since the last take."""
    loop, wait = chrono.loop_seconds(), chrono.sections["input_wait"]
    elapsed = max(loop - self._loop, 1e-9)
    means = {k: float(v) / self.steps for k, v in jax.device_get(self.sums).items()}
    out = (elapsed, (wait - self._wait) / elapsed, self.clips, means)
    self._loop, self._wait = loop, wait
    self._reset()
    return out


def _log_train(
    writer, done: int, plan: multigrid.Plan, table, step: int, period: _Period, chrono: _Chrono
) -> dict[str, float]:
  """Writes the log period's scalars (the metrics are means over its steps) and the
  chrono's running totals."""
  elapsed, wait_fraction, clips, means = period.take(chrono)
  seen = int(table["example_offset"][step] + table["batch_size"][step])
  scalars = dict(
      **means,
      lr=float(table["lr"][step]),
      batch_size=int(table["batch_size"][step]),
      num_frames=int(table["num_frames"][step]),
      crop_size=int(table["crop_size"][step]),
      clips_per_sec=clips / elapsed,
      examples_seen=seen,
      epoch=seen / plan.num_examples,
      data_wait_fraction=wait_fraction,
      failed_clips=period.failed,
  )
  writer.write_scalars(done, {f"train/{k}": v for k, v in scalars.items()})
  timings = dict(loop_seconds=chrono.loop_seconds(), **chrono.sections)
  writer.write_scalars(done, {f"timing/{k}": v for k, v in timings.items()})
  return scalars


def _log_segment(plan: multigrid.Plan, segment: multigrid.Segment) -> None:
  """One line when the long-cycle shape or the LR stage changes."""
  crops = "/".join(str(shape.crop_size) for shape in segment.short_cycle)
  logging.info(
      "Segment %d/%d from step %d (epoch %g): %dx%dx%d², short-cycle crops %s, LR %.3g%s.",
      segment.index + 1,
      len(plan.segments),
      segment.first_step,
      segment.start_epoch,
      segment.batch_size,
      segment.num_frames,
      segment.crop_size,
      crops,
      segment.lr,
      " (fine-tuning)" if segment.finetune else "",
  )


class _Progress:
  """The progress line of a log period, with a time left that follows the plan's shapes.

  Multigrid's steps differ in cost, so the time left is the remaining Σ B·T·S² at the
  loop's measured time per B·T·S² since this process started (not per step).
  """

  def __init__(self, table, start: int, last: int):
    cost = (
        table["batch_size"].astype(np.float64)
        * table["num_frames"]
        * table["crop_size"].astype(np.float64) ** 2
    )
    self._cumulative = np.concatenate([[0.0], np.cumsum(cost)])
    self._start, self._last = start, last

  def log(self, done: int, scalars: dict[str, float], loop_seconds: float) -> None:
    done_cost = self._cumulative[done] - self._cumulative[self._start]
    left = loop_seconds / done_cost * (self._cumulative[self._last] - self._cumulative[done])
    logging.info(
        "step %d/%d  %dx%dx%d²  loss %.3f  top-1 %.0f%%  LR %.3g  %.1f clips/s  "
        "input wait %.0f%%  ~%s left",
        done,
        self._last,
        scalars["batch_size"],
        scalars["num_frames"],
        scalars["crop_size"],
        scalars["loss"],
        100 * scalars["top1"],
        scalars["lr"],
        scalars["clips_per_sec"],
        100 * scalars["data_wait_fraction"],
        format_minutes(left),
    )


def _evaluate(config, plan, mesh, model_def, state, writer, step, workdir, chrono):
  """Precise BN, then the multi-view evaluation; logs and writes the results.

  Returns:
    The state with its precise BN statistics, and the evaluation's metrics.
  """
  with chrono.section("precise_bn", pause=True):
    state = evaluate.precise_bn(config, plan, mesh, model_def, state)
  predict = functools.partial(steps.eval_step, model_def=model_def, config=config)
  with chrono.section("eval", pause=True):
    result = evaluate.evaluate(
        config, mesh, predict, state, os.path.join(workdir, f"eval_{step}.json")
    )
  writer.write_scalars(
      step, {f"eval/{k}": v for k, v in result["metrics"].items() if isinstance(v, (int, float))}
  )
  return state, result["metrics"]


def _curve_point(step: int, plan, table, chrono: _Chrono, metrics) -> dict[str, Any]:
  """One point of the accuracy curve: the evaluation at `step` against the loop's time."""
  return dict(
      step=step,
      epoch=float(table["epoch"][min(step, plan.num_steps - 1)]),
      train_seconds=chrono.loop_seconds(),
      **{k: metrics[k] for k in ("top1", "top5", "mAP") if k in metrics},
  )


def _write_summary(summary: dict[str, Any], path: str) -> None:
  """`summary.json`: what the run measured, for benchmarks and notebooks to read (whole
  or absent, even if the process dies while writing it)."""
  frame_store.atomic_write(path, json.dumps(summary, indent=1))


def format_minutes(seconds: float) -> str:
  """'12 min 05 s': how the progress lines and the end-of-run summary print a duration."""
  minutes, seconds = divmod(round(seconds), 60)  # Rounded first: 59.6 s is "1 min 00 s".
  return f"{minutes} min {seconds:02d} s"
