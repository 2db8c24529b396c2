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
"""Training as a library: state, compiled steps per shape, and the loop.

The train state is a pytree of pure arrays (parameters, BatchNorm statistics and
RNG state of the NNX model, optimizer state, step). Each step is a pure function
compiled with `jax.jit` ahead of time for every distinct (B, T, S, BN group) of the
multigrid plan, on a thread beside training, and stored so that a restart loads
it instead of compiling (`compilation.py`). The plan decides everything that changes over the run
(shapes, LR, BN groups); the input pipeline is a pure function of the step, so a
restored checkpoint continues bit-for-bit.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import time
from typing import Any, Callable, Iterator

from absl import logging
import flax.nnx as nnx
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from mgjax import checkpointing
from mgjax import compilation
from mgjax import config as config_lib
from mgjax import multigrid
from mgjax import sharding
from mgjax.models import layers
from mgjax.models import registry

State = dict[str, Any]


# Tests only: the process kills itself (SIGKILL) right after this global step.
_FAULT_KILL_AT_STEP = int(os.environ.get("MGJAX_FAULT_KILL_AT_STEP", "0"))


class NonFiniteLossError(RuntimeError):
  """The loss became NaN or infinite; the last good checkpoint is kept."""


# ----------------------------------------------------------------------- model
@dataclasses.dataclass(frozen=True)
class ModelDef:
  """What the pure step functions need to rebuild the NNX model."""
  graphdef: Any
  decay_mask: Any  # Pure tree of bools over the parameters: False for BatchNorm.


def _pure_split(model: nnx.Module) -> tuple[Any, dict, dict]:
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  return graphdef, nnx.to_pure_dict(params), nnx.to_pure_dict(rest)


def merge(model_def: ModelDef, params: dict, rest: dict) -> nnx.Module:
  """The NNX model from the pure state (inside or outside jit)."""
  return nnx.merge(model_def.graphdef, nnx.State(params), nnx.State(rest))


def build_model(config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh) -> tuple[ModelDef, dict, dict]:
  """Initialises the model's state directly on the mesh, replicated.

  Built under jit (eager construction of a large NNX model is slow); the graph
  comes from an abstract instance.

  Returns:
    (model definition, parameters, other state) — the last two pure trees.
  """
  create = lambda: registry.create_model(config.model, rngs=nnx.Rngs(config.seed))
  abstract = nnx.eval_shape(create)
  graphdef, abstract_params, _ = _pure_split(abstract)
  bn_paths = [path for path, node in nnx.iter_graph(abstract)
              if isinstance(node, layers.GroupedBatchNorm)]

  def decays(path, _):
    keys = tuple(getattr(k, "key", getattr(k, "idx", None)) for k in path)
    return not any(keys[:len(p)] == tuple(p) for p in bn_paths)

  mask = jax.tree_util.tree_map_with_path(decays, abstract_params)
  init = jax.jit(lambda: _pure_split(create())[1:], out_shardings=sharding.replicated(mesh))
  params, rest = init()
  return ModelDef(graphdef, mask), params, rest


def make_optimizer(config: ml_collections.ConfigDict, model_def: ModelDef,
                   lr: float | jax.Array = 0.0) -> optax.GradientTransformation:
  """SGD with (Nesterov) momentum and no weight decay on BatchNorm.

  The LR is an argument rather than an optax schedule: the train step receives the
  plan's LR of each step as an input, so its executable depends only on the step's
  shape and is shared (also through the persistent cache) by runs whose schedules
  differ: stepwise and cosine, other base LRs or warm-ups. The optimizer state does
  not depend on the LR.

  Args:
    config: the run's config (`optim`).
    model_def: the model's graph and weight-decay mask.
    lr: the learning rate (a traced scalar inside the step).

  Returns:
    The optax transformation.
  """
  o = config.optim
  return optax.chain(
      optax.add_decayed_weights(o.weight_decay, mask=model_def.decay_mask),
      optax.sgd(lr, momentum=o.momentum, nesterov=o.nesterov))


def init_state(config, mesh) -> tuple[ModelDef, State]:
  """A fresh train state on the mesh."""
  model_def, params, rest = build_model(config, mesh)
  tx = make_optimizer(config, model_def)
  opt_state = jax.jit(tx.init, out_shardings=sharding.replicated(mesh))(params)
  step = jax.device_put(jnp.zeros((), jnp.int32), sharding.replicated(mesh))
  return model_def, dict(step=step, params=params, rest=rest, opt_state=opt_state)


# ----------------------------------------------------------------------- steps
def normalize(video: jax.Array, config: ml_collections.ConfigDict) -> jax.Array:
  """uint8 frames → normalised compute-dtype input (done on the device)."""
  dtype = jnp.bfloat16 if config.model.dtype == "bfloat16" else jnp.float32
  mean = jnp.asarray(config.data.mean, jnp.float32) * 255.0
  std = jnp.asarray(config.data.std, jnp.float32) * 255.0
  return ((video.astype(jnp.float32) - mean) / std).astype(dtype)


def loss_and_metrics(logits: jax.Array, labels: jax.Array, multi_label: bool):
  """Cross-entropy (softmax, or sigmoid for multi-label) and top-1 accuracy."""
  logits = logits.astype(jnp.float32)
  if multi_label:
    loss = optax.sigmoid_binary_cross_entropy(logits, labels).mean()
    top1 = jnp.mean(jnp.take_along_axis(labels, jnp.argmax(logits, -1)[:, None], 1))
  else:
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    top1 = jnp.mean(jnp.argmax(logits, -1) == labels)
  return loss, top1


def train_step(state: State, batch: dict[str, jax.Array], lr: jax.Array, *,
               model_def: ModelDef, config: ml_collections.ConfigDict,
               bn_group_size: int) -> tuple[State, dict[str, jax.Array]]:
  """One SGD step on a global batch (pure; compiled per shape).

  Args:
    state: the train state (donated by the compiled step).
    batch: {"video": uint8 (B, T, S, S, 3), "label": labels}, sharded over the batch.
    lr: this step's learning rate (a float32 scalar, from the plan's step table).
    model_def: the model's graph and weight-decay mask.
    config: the run's config.
    bn_group_size: clips per BatchNorm group for this step's shape.

  Returns:
    The new state and the step's metrics (loss, top1, finite, grad_norm).
  """
  x = normalize(batch["video"], config)

  def loss_fn(params):
    model = merge(model_def, params, state["rest"])
    logits = model(x, train=True, bn_group_size=bn_group_size)
    loss, top1 = loss_and_metrics(logits, batch["label"], config.data.multi_label)
    return loss, (top1, _pure_split(model)[2])

  (loss, (top1, rest)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
  tx = make_optimizer(config, model_def, lr)
  updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
  params = optax.apply_updates(state["params"], updates)
  new = dict(step=state["step"] + 1, params=params, rest=rest, opt_state=opt_state)
  # The loss is computed before the update: check the updated parameters too, so a
  # checkpoint is never written from a diverged state.
  finite = jnp.isfinite(loss) & jnp.isfinite(optax.tree.norm(params))
  return new, dict(loss=loss, top1=top1, finite=finite, grad_norm=optax.tree.norm(grads))


def precise_bn_step(state: State, batch: dict[str, jax.Array], momentum: jax.Array, *,
                    model_def: ModelDef, config: ml_collections.ConfigDict) -> State:
  """Accumulates one batch into the BatchNorm statistics (running average)."""
  model = merge(model_def, state["params"], state["rest"])
  model(normalize(batch["video"], config), train=True,
        bn_group_size=config.multigrid.bn_group_size, bn_momentum=momentum)
  return dict(state, rest=_pure_split(model)[2])


def eval_step(state: State, video: jax.Array, *, model_def: ModelDef,
              config: ml_collections.ConfigDict) -> jax.Array:
  """Scores of a batch of views: softmax, or sigmoid for multi-label."""
  model = merge(model_def, state["params"], state["rest"])
  logits = model(normalize(video, config), train=False).astype(jnp.float32)
  return jax.nn.sigmoid(logits) if config.data.multi_label else jax.nn.softmax(logits)


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


def label_spec(config: ml_collections.ConfigDict) -> Callable[[int], tuple]:
  """Shape and dtype of a batch's labels for a global batch size."""
  if config.data.multi_label:
    return lambda b: ((b, config.model.num_classes), jnp.float32)
  return lambda b: ((b,), jnp.int32)


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=1))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, *,
                       evaluate_at_end: bool = True,
                       mesh: jax.sharding.Mesh | None = None) -> dict[str, Any]:
  """Runs (or resumes) the training of `config` in `workdir`.

  Args:
    config: a validated config.
    workdir: checkpoints, TensorBoard logs, the schedule plot and eval results.
    evaluate_at_end: run precise BN and the multi-view evaluation at the end.
    mesh: the device mesh (default: all devices).

  Returns:
    A summary: final step, last train metrics, the evaluation's metrics, timings.
  """
  # Imported here: clu's writers and the input pipeline need TensorFlow, and the
  # train step (which the step-time benchmark runs on a GPU machine) does not.
  from clu import metric_writers  # pylint: disable=g-import-not-at-top
  from clu import periodic_actions  # pylint: disable=g-import-not-at-top
  from mgjax import evaluate as evaluate_lib  # pylint: disable=g-import-not-at-top
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top
  from mgjax import schedule  # pylint: disable=g-import-not-at-top

  os.makedirs(workdir, exist_ok=True)
  cache_dir = compilation.setup_persistent_cache(config, workdir)
  mesh = mesh or sharding.make_mesh()
  config_lib.validate(config, num_devices=mesh.size)
  registry.check_config(config.model)
  config = pipeline.prepare(config)  # Resolves data.root (builds the synthetic set).
  plan = multigrid.Plan.from_config(config)
  last = plan.num_steps if not config.train.max_steps else min(plan.num_steps, config.train.max_steps)

  model_def, state = init_state(config, mesh)
  ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"), config.train.keep_checkpoints)
  start = ckpt.latest_step() or 0
  # The step shapes from `start` on compile on a thread from here on, beside the
  # restore, the input pipeline's start-up and the first steps (the state's shapes do
  # not depend on its values, so the fresh state describes the restored one).
  step_fn = functools.partial(train_step, model_def=model_def, config=config)
  labels = label_spec(config)
  compiled = compilation.CompiledSteps(
      step_fn, mesh, labels, state, cache=compilation.ExecutableCache(
          os.path.join(cache_dir, "steps"),
          compilation.step_context(config, mesh, state, labels, {})))
  compiled.start(compilation.step_keys(plan, start, last))
  if start:
    state = ckpt.restore(state, start)
    logging.info("Resumed from the checkpoint at step %d.", start)
  elif config.train.init_from:
    params, rest = load_init_params(config, state["params"], state["rest"], mesh)
    state = dict(state, params=params, rest=rest)
  write_config(config, workdir)
  writer = metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)
  if jax.process_index() == 0:
    schedule.plot(plan, os.path.join(workdir, "schedule.png"))
  if not config.train.background_compile:
    compiled.compile_all(compilation.step_keys(plan, start, last))
  table = plan.step_table()

  eval_steps = _eval_steps(config, plan, last)
  segment_ends = {s.first_step + s.num_steps for s in plan.segments}
  segment_starts = {s.first_step: s for s in plan.segments}
  progress = _Progress(table, start, last)
  report = periodic_actions.ReportProgress(num_train_steps=last, writer=writer)
  preemption = _Preemption()
  batches = pipeline.train_dataset(config, plan, start, jax.process_index(), jax.process_count())
  timer = _Timer()
  pending: tuple[int, Any] | None = None  # Metrics of the last step, checked one step late.
  summary: dict[str, Any] = {"start_step": start}
  loop_start, eval_seconds = time.perf_counter(), 0.0
  try:
    for step in range(start, last):
      if step in segment_starts:
        _log_segment(plan, segment_starts[step])
      with timer.waiting():
        local = next(batches)
      key = compilation.step_key(table, step)
      failed = int(np.sum(local.pop("failed", 0)))
      state, metrics = compiled(key, state, sharding.global_batch(mesh, local), table["lr"][step])
      if pending is not None:
        _check_finite(*pending)
      pending = (step, metrics)
      timer.count(key[0], failed)
      done = step + 1
      report(done)
      if done % config.train.log_every_steps == 0 or done == last:
        _check_finite(*pending)
        summary["train"] = _log_train(writer, done, metrics, plan, table, step, timer)
        progress.log(done, summary["train"], time.perf_counter() - loop_start - eval_seconds
                     - compiled.wait_seconds)
      if done == _FAULT_KILL_AT_STEP:  # Fault injection for the resume tests.
        os.kill(os.getpid(), signal.SIGKILL)
      stop = preemption.should_stop(done)
      if done % config.train.checkpoint_every_steps == 0 or done in segment_ends or done == last or stop:
        _check_finite(*pending)
        ckpt.save(done, state)
      if done in eval_steps and done != last:
        eval_start = time.perf_counter()
        state = _evaluate(config, plan, mesh, model_def, state, writer, done, workdir, evaluate_lib)
        eval_seconds += time.perf_counter() - eval_start
      if stop:
        logging.warning("Stopped at step %d after SIGTERM; the checkpoint is saved.", done)
        summary["preempted"] = True
        break
    else:
      summary["train_seconds"] = (time.perf_counter() - loop_start - eval_seconds
                                  - compiled.wait_seconds)
      if evaluate_at_end and last > start:
        state = _evaluate(config, plan, mesh, model_def, state, writer, last, workdir, evaluate_lib,
                          summary=summary)
  finally:
    compiled.close()
    ckpt.close()
    preemption.restore()
    writer.flush()
  summary.update(final_step=int(jax.device_get(state["step"])), failed_clips=timer.failed,
                 compiled_shapes=len(compiled.log), compile_seconds=compiled.compile_seconds,
                 compile_wait_seconds=compiled.wait_seconds)
  return summary


def _check_finite(step: int, metrics: dict[str, jax.Array]) -> None:
  finite, loss = jax.device_get((metrics["finite"], metrics["loss"]))
  if not finite:
    raise NonFiniteLossError(
        f"The loss is {float(loss)} (or the parameters overflowed) at step {step + 1}: stopping. "
        "The last good checkpoint is kept; lower optim.base_lr or check the data, then restart "
        "to resume from it.")


def _eval_steps(config, plan: multigrid.Plan, last: int) -> set[int]:
  every = config.train.eval_every_epochs
  if not every:
    return set()
  epochs = np.arange(every, plan.max_epoch, every)
  steps = {plan.step_of_epoch(float(e)) for e in epochs}
  return {k for k in steps if 0 < k < last}


class _Timer:
  """Wall time, time waiting for data, clips and failed clips since the last log."""

  def __init__(self):
    self.failed = 0
    self._reset()

  def _reset(self):
    self.t0, self.wait, self.clips = time.perf_counter(), 0.0, 0

  def waiting(self):
    timer = self

    class _Ctx:
      def __enter__(self):
        self.t = time.perf_counter()

      def __exit__(self, *exc):
        timer.wait += time.perf_counter() - self.t
    return _Ctx()

  def count(self, clips: int, failed: int):
    self.clips += clips
    self.failed += failed

  def take(self) -> tuple[float, float, int]:
    elapsed = max(time.perf_counter() - self.t0, 1e-9)
    out = (elapsed, self.wait / elapsed, self.clips)
    self._reset()
    return out


def _log_train(writer, done: int, metrics, plan: multigrid.Plan, table, step: int,
               timer: _Timer) -> dict[str, float]:
  elapsed, wait_fraction, clips = timer.take()
  m = jax.device_get(metrics)
  seen = int(table["example_offset"][step] + table["batch_size"][step])
  scalars = dict(
      loss=float(m["loss"]), top1=float(m["top1"]), grad_norm=float(m["grad_norm"]),
      lr=float(table["lr"][step]),
      batch_size=int(table["batch_size"][step]), num_frames=int(table["num_frames"][step]),
      crop_size=int(table["crop_size"][step]), clips_per_sec=clips / elapsed,
      examples_seen=seen, epoch=seen / plan.num_examples,
      data_wait_fraction=wait_fraction, failed_clips=timer.failed)
  writer.write_scalars(done, {f"train/{k}": v for k, v in scalars.items()})
  return scalars


def _log_segment(plan: multigrid.Plan, segment: multigrid.Segment) -> None:
  """One line when the long-cycle shape or the LR stage changes."""
  crops = "/".join(str(shape.crop_size) for shape in segment.short_cycle)
  logging.info("Segment %d/%d from step %d (epoch %g): %dx%dx%d², short-cycle crops %s, LR %.3g%s.",
               segment.index + 1, len(plan.segments), segment.first_step, segment.start_epoch,
               segment.batch_size, segment.num_frames, segment.crop_size, crops, segment.lr,
               " (fine-tuning)" if segment.finetune else "")


class _Progress:
  """The progress line of a log period, with a time left that follows the plan's shapes.

  Multigrid's steps differ in cost, so the time left is the remaining Σ B·T·S² at the
  loop's measured time per B·T·S² since this process started (not per step).
  """

  def __init__(self, table, start: int, last: int):
    cost = (table["batch_size"].astype(np.float64) * table["num_frames"]
            * table["crop_size"].astype(np.float64) ** 2)
    self._cumulative = np.concatenate([[0.0], np.cumsum(cost)])
    self._start, self._last = start, last

  def log(self, done: int, scalars: dict[str, float], loop_seconds: float) -> None:
    done_cost = self._cumulative[done] - self._cumulative[self._start]
    left = loop_seconds / done_cost * (self._cumulative[self._last] - self._cumulative[done])
    logging.info("step %d/%d  %dx%dx%d²  loss %.3f  top-1 %.0f%%  LR %.3g  %.1f clips/s  "
                 "input wait %.0f%%  ~%s left", done, self._last, scalars["batch_size"],
                 scalars["num_frames"], scalars["crop_size"], scalars["loss"], 100 * scalars["top1"],
                 scalars["lr"], scalars["clips_per_sec"], 100 * scalars["data_wait_fraction"],
                 _minutes(left))


def _evaluate(config, plan, mesh, model_def, state, writer, step, workdir, evaluate_lib,
              summary=None):
  """Precise BN, then the multi-view evaluation; logs and writes the results."""
  state = precise_bn(config, plan, mesh, model_def, state)
  result = evaluate_lib.evaluate(config, mesh, model_def, state,
                                 os.path.join(workdir, f"eval_{step}.json"))
  writer.write_scalars(step, {f"eval/{k}": v for k, v in result["metrics"].items()
                              if isinstance(v, (int, float))})
  if summary is not None:
    summary["eval"] = result["metrics"]
  return state


def precise_bn(config, plan, mesh, model_def, state) -> State:
  """Recomputes BatchNorm statistics over `train.precise_bn_batches` base-shape batches."""
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top
  n = config.train.precise_bn_batches
  if n <= 0:
    return state
  b, t, s = plan.base_shape
  batch = sharding.abstract_batch(mesh, {"video": ((b, t, s, s, 3), jnp.uint8)})
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
                          state)
  fn = jax.jit(lambda st, bt, m: precise_bn_step(st, bt, m, model_def=model_def, config=config))
  step = fn.lower(abstract, batch, jax.ShapeDtypeStruct((), jnp.float32)).compile()
  batches = pipeline.precise_bn_dataset(config, plan, n, jax.process_index(), jax.process_count())
  for i, local in zip(range(n), batches):
    # Momentum i/(i+1): the running statistics become the mean over the batches.
    video = sharding.global_batch(mesh, {"video": local["video"]})
    state = step(state, video, jnp.float32(i / (i + 1)))
  return state


def load_init_params(config, params, rest, mesh) -> tuple[dict, dict]:
  """Weights from `train.init_from`, with a fresh head if the classes differ.

  Accepts an mgjax checkpoint directory (a run's or a converted one) or a
  PySlowFast / PyTorchVideo checkpoint file (.pyth / .pkl), converted on the fly.
  Parameters and BatchNorm statistics are matched by path; whatever is missing or
  has another shape (the classifier when the number of classes differs) keeps its
  fresh initialisation. The number of frames need not match: 3-D CNNs are fully
  convolutional.

  Returns:
    (parameters, other model state), replicated on the mesh.
  """
  from mgjax.models import convert  # pylint: disable=g-import-not-at-top
  path = config.train.init_from
  if os.path.isdir(path):
    loaded_params, loaded_stats = checkpointing.restore_weights(path)
  else:
    pure = convert.convert_file_to_pure(path, config.model)
    loaded_params, loaded_stats = pure["params"], pure["batch_stats"]
  fresh = []

  def merge_by_path(new, old):
    # Keys as strings: orbax restores list indices as strings.
    name = lambda p: jax.tree_util.keystr(p, simple=True, separator="/")
    old = {name(p): v for p, v in jax.tree_util.tree_flatten_with_path(old)[0]}

    def take(path, value):
      if name(path) in old and tuple(np.shape(old[name(path)])) == tuple(value.shape):
        return jnp.asarray(old[name(path)], value.dtype)
      fresh.append(name(path))
      return value
    return jax.tree_util.tree_map_with_path(take, new)

  params = merge_by_path(params, loaded_params)
  rest = merge_by_path(rest, loaded_stats)  # RNG state has no match and stays fresh.
  if fresh:
    logging.info("init_from %s: kept the fresh initialisation of %s", path, ", ".join(fresh))
  return jax.device_put((params, rest), sharding.replicated(mesh))


def _minutes(seconds: float) -> str:
  minutes, seconds = divmod(round(seconds), 60)  # Rounded first: 59.6 s is "1 min 00 s".
  return f"{minutes} min {seconds:02d} s"


def _reference_lines(summary: dict[str, Any], reference) -> list[str]:
  """This run's top-1 and training time beside the config's measured reference results."""
  ev = summary.get("eval") or {}
  if reference is None or not reference.baseline_top1 or "top1" not in ev or "train_seconds" not in summary:
    return []
  rows = [("this run", f"{100 * ev['top1']:.1f}%", _minutes(summary["train_seconds"]))]
  if reference.multigrid_top1:
    rows.append(("measured, this config", f"{reference.multigrid_top1:.1f}%",
                 _minutes(60 * reference.multigrid_train_minutes)))
  rows.append(("measured, baseline", f"{reference.baseline_top1:.1f}%",
               _minutes(60 * reference.baseline_train_minutes)))
  lines = [f"{'':24}{'top-1':>8}  training loop"]
  lines += [f"{name:24}{top1:>8}  {t}" for name, top1, t in rows]
  if reference.measured_on:
    lines.append(f"(measured: {reference.measured_on})")
  return lines


def print_summary(summary: dict[str, Any], workdir: str, reference=None) -> None:
  """The end-of-run lines a user looks for: accuracy, time and where the outputs are.

  Args:
    summary: what `train_and_evaluate` returned.
    workdir: the run's directory.
    reference: `config.reference`, the config's measured results to print beside this
      run's (optional).
  """
  lines = [f"Trained to step {summary['final_step']} (started at {summary['start_step']}); "
           f"{summary['failed_clips']} clips failed to decode and were replaced.",
           f"Step shapes: {summary['compiled_shapes']} compiled or loaded in "
           f"{summary['compile_seconds']:.0f} s; the loop waited {summary['compile_wait_seconds']:.0f} s "
           "for them."]
  if "train_seconds" in summary:
    lines.append(f"Training loop: {_minutes(summary['train_seconds'])} (compiles and evaluations "
                 "excluded).")
  ev = summary.get("eval")
  if ev:
    views = f"{ev['temporal_views']}x{ev['spatial_crops']} views at {ev['crop_size']}px"
    if "mAP" in ev:
      lines.append(f"Test mAP: {100 * ev['mAP']:.2f}% over {ev['num_videos']} videos ({views}).")
    else:
      lines.append(f"Test accuracy: top-1 {100 * ev['top1']:.2f}%, top-5 {100 * ev['top5']:.2f}% "
                   f"over {ev['num_videos']} videos ({views}).")
  lines += _reference_lines(summary, reference)
  lines += [f"TensorBoard logs: tensorboard --logdir {workdir}",
            f"Schedule plot:    {os.path.join(workdir, 'schedule.png')}",
            f"Checkpoints:      {os.path.join(workdir, 'checkpoints')}"]
  print("\n".join(lines), flush=True)
