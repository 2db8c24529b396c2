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
"""The train step compiled once per step shape of the plan, off the critical path.

A multigrid run has ten or more distinct step shapes (B, T, S, BN group). Three
things keep their compilation from holding up training:

* `ExecutableCache` stores each compiled executable (serialized by JAX) under a key
  of everything that changes the program, so a restart loads it instead of tracing,
  lowering and compiling. JAX's own persistent cache (`setup_persistent_cache`)
  still serves the other programs (init, precise BN, evaluation), but its key is a
  hash of the lowered program, so a hit there still pays tracing and lowering.
* `CompiledSteps.start` compiles (or loads) the shapes on one background thread in
  the order the plan first uses them; the loop waits only for a shape that is not
  ready yet, and the wait is logged and counted.
* One at a time: XLA already spreads one compile over the host's cores (about 1.6
  of 2 measured with perf), and compiling shapes side by side was slower
  (`benchmarks/RESULTS.md` §3).
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import json
import os
import pickle
import threading
import time
from typing import Any, Callable, Sequence

from absl import logging
import jax
import jaxlib
from jax.experimental import serialize_executable
import jax.numpy as jnp
import ml_collections
import numpy as np

from mgjax import multigrid
from mgjax import sharding
from mgjax import steps

StepKey = tuple[int, int, int, int]  # (global batch, T, S, BN group size).
_STEP_KEY_COLUMNS = ("batch_size", "num_frames", "crop_size", "bn_group_size")

# Config fields that never reach the train step's program: the input pipeline, the
# schedule (the LR is an input of the step; shapes and BN groups are in the step key),
# evaluation, logging and bookkeeping. Every other field is part of the executable
# key, so a field added later costs at worst a recompile, never a wrong executable.
_NOT_IN_STEP_PROGRAM = (
    "seed",
    "reference",
    "eval",
    "train",
    "multigrid",
    "data.dataset",
    "data.root",
    "data.train_split",
    "data.eval_split",
    "data.num_train_examples",
    "data.num_frames",
    "data.sampling_rate",
    "data.crop_size",
    "data.jitter_scales",
    "data.sampling",
    "data.flip",
    "data.cache_dir",
    "data.synthetic_videos",
    "data.synthetic_seed",
    "data.synthetic_task",
    "data.num_workers",
    "optim.batch_size",
    "optim.base_lr",
    "optim.lr_policy",
    "optim.steps",
    "optim.gamma",
    "optim.max_epoch",
    "optim.warmup_epochs",
    "optim.warmup_start_lr",
    "optim.cosine_end_lr",
)
_MAGIC = b"mgjax-executable-v1\n"
_CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"
_thread = threading.local()  # Persistent-cache hits of compiles on this thread.


def _count_cache_hits(event: str, **kwargs) -> None:
  del kwargs
  if event == _CACHE_HIT_EVENT:  # Recorded on the thread that compiles.
    _thread.cache_hits = getattr(_thread, "cache_hits", 0) + 1


@functools.cache
def _listen_for_cache_hits() -> None:
  jax.monitoring.register_event_listener(_count_cache_hits)


def step_key(table: dict[str, np.ndarray], step: int) -> StepKey:
  """The (B, T, S, BN group) of one step of a plan's step table."""
  return tuple(int(table[k][step]) for k in _STEP_KEY_COLUMNS)


def step_keys(plan: multigrid.Plan, start: int = 0, stop: int | None = None) -> list[StepKey]:
  """The distinct (B, T, S, BN group) of the plan's steps [start, stop), in order of first use."""
  table = plan.step_table()
  cols = np.stack([table[k][start:stop] for k in _STEP_KEY_COLUMNS], 1)
  _, first = np.unique(cols, axis=0, return_index=True)
  return [tuple(int(v) for v in cols[i]) for i in sorted(first)]


def setup_persistent_cache(config: ml_collections.ConfigDict, workdir: str) -> str:
  """Turns on JAX's persistent compilation cache; returns the cache directory."""
  path = config.train.compile_cache_dir or os.path.join(workdir, "compile_cache")
  jax.config.update("jax_compilation_cache_dir", path)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
  return path


@functools.cache
def code_fingerprint() -> str:
  """SHA-256 of mgjax's own source files: edited model or step code is another program."""
  root = os.path.dirname(os.path.abspath(__file__))
  digest = hashlib.sha256()
  for directory, dirs, files in sorted(os.walk(root)):
    dirs.sort()
    for name in sorted(f for f in files if f.endswith(".py")):
      path = os.path.join(directory, name)
      digest.update(os.path.relpath(path, root).encode())
      with open(path, "rb") as f:
        digest.update(hashlib.sha256(f.read()).digest())
  return digest.hexdigest()


def program_fields(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The config fields that can change the train step's program (flattened, dotted)."""
  flat: dict[str, Any] = {}

  def walk(node, prefix):
    for name in sorted(node.keys()):
      dotted = f"{prefix}{name}"
      if dotted in _NOT_IN_STEP_PROGRAM:
        continue
      value = node[name]
      if isinstance(value, ml_collections.ConfigDict):
        walk(value, dotted + ".")
      else:
        flat[dotted] = list(value) if isinstance(value, tuple) else value

  walk(config, "")
  return flat


def _abstract(tree) -> list[str]:
  """Shapes, dtypes and shardings of a tree of (abstract) arrays, with their paths."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return [
      f"{jax.tree_util.keystr(p)}:{x.shape}:{x.dtype}:{getattr(x, 'sharding', None)}"
      for p, x in leaves
  ]


class ExecutableCache:
  """Serialized train-step executables in a directory, keyed by what makes the program.

  An entry is found again only if every input of the program is the same: the code
  (`code_fingerprint`), the program's config fields (`program_fields`), the step
  shape, the abstract train state and batch (shapes, dtypes, shardings), the mesh
  and its devices, the process, the jax/jaxlib versions, XLA_FLAGS, the compiler
  options and the JAX settings that change lowering. A missing, stale or unreadable
  entry means compiling again; an unreadable one is rewritten.
  """

  def __init__(self, directory: str, context: dict[str, Any]):
    """
    Args:
      directory: where entries are written (created on the first write).
      context: what the program depends on besides the step shape (see `step_context`).
    """
    self.directory = directory
    self._context = json.dumps(context, sort_keys=True, default=str)
    self._warned = False
    self._lock = threading.Lock()

  def key(self, step: StepKey) -> str:
    return hashlib.sha256(f"{self._context}|{list(step)}".encode()).hexdigest()

  def _path(self, step: StepKey) -> str:
    return os.path.join(self.directory, f"{self.key(step)}.exe")

  def load(self, step: StepKey):
    """The executable of `step`, or None when there is no usable entry."""
    path = self._path(step)
    if not os.path.exists(path):
      return None
    try:
      with open(path, "rb") as f:
        data = f.read()
      if not data.startswith(_MAGIC):
        raise ValueError("not an mgjax executable")
      digest, body = data[len(_MAGIC) : len(_MAGIC) + 32], data[len(_MAGIC) + 32 :]
      if hashlib.sha256(body).digest() != digest:
        raise ValueError("checksum mismatch (truncated or corrupted)")
      payload, in_tree, out_tree = pickle.loads(body)
      return serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
    except Exception as e:  # pylint: disable=broad-except
      with self._lock:
        if not self._warned:  # One warning per run, however many entries are bad.
          logging.warning(
              "Compiling again: the cached executable %s could not be loaded (%s: %s); "
              "it will be rewritten.",
              path,
              type(e).__name__,
              e,
          )
          self._warned = True
      try:
        os.remove(path)
      except OSError:
        pass
      return None

  def store(self, step: StepKey, compiled) -> None:
    """Writes `compiled` for `step` (atomically: a reader never sees half a file)."""
    try:
      body = pickle.dumps(serialize_executable.serialize(compiled))
    except Exception as e:  # pylint: disable=broad-except
      logging.warning("The step executable could not be serialized (%s); restarts will compile.", e)
      return
    os.makedirs(self.directory, exist_ok=True)
    path = self._path(step)
    tmp = f"{path}.tmp{os.getpid()}.{threading.get_ident()}"
    with open(tmp, "wb") as f:
      f.write(_MAGIC + hashlib.sha256(body).digest() + body)
    os.replace(tmp, path)


def step_context(
    config: ml_collections.ConfigDict,
    mesh: jax.sharding.Mesh,
    state: steps.State,
    label_shape: Callable[[int], tuple],
    compiler_options: dict[str, Any],
) -> dict:
  """Everything besides the step shape that the train step's executable depends on."""
  device = mesh.devices.flat[0]
  return dict(
      code=code_fingerprint(),
      config=program_fields(config),
      state=_abstract(state),
      label=str(label_shape(1)),
      compiler_options=compiler_options,
      mesh=dict(
          shape=dict(mesh.shape),
          devices=[d.id for d in mesh.devices.flat],
          platform=device.platform,
          kind=device.device_kind,
      ),
      process=(jax.process_index(), jax.process_count()),
      versions=(jax.__version__, jaxlib.__version__),
      xla_flags=os.environ.get("XLA_FLAGS", ""),
      jax_config={
          k: jax.config.values.get(k)
          for k in (
              "jax_enable_x64",
              "jax_default_matmul_precision",
              "jax_numpy_rank_promotion",
              "jax_threefry_partitionable",
          )
      },
  )


class CompiledSteps:
  """One ahead-of-time compiled train step per distinct (B, T, S, BN group).

  `start(keys)` compiles (or loads from `cache`) the shapes on one background thread
  in the given order; calling a shape waits until it is ready. Calling a shape that
  was never started is an error rather than a silent recompilation.

  Attributes:
    log: (key, "compiled" | "loaded", seconds, end time) per shape, in order.
  """

  def __init__(
      self,
      step_fn: Callable,
      mesh: jax.sharding.Mesh,
      label_shape: Callable,
      state: steps.State,
      cache: ExecutableCache | None = None,
      compiler_options: dict[str, Any] | None = None,
  ):
    self._fn, self._mesh, self._label_shape = step_fn, mesh, label_shape
    self._state = sharding.abstract(state)
    self._cache = cache
    self._options = dict(compiler_options or {})
    self._futures: dict[StepKey, concurrent.futures.Future] = {}
    self._pool: concurrent.futures.ThreadPoolExecutor | None = None
    self.executables: dict[StepKey, Any] = {}
    self.log: list[tuple[StepKey, str, float, float]] = []
    self._say: Callable[[str], None] = logging.info

  def jitted(self, key: StepKey) -> tuple[Any, tuple[Any, ...]]:
    """The jitted step of one shape and its abstract arguments (state, batch, LR)."""
    b, t, s, g = key
    batch = sharding.abstract_batch(
        self._mesh, {"video": ((b, t, s, s, 3), jnp.uint8), "label": self._label_shape(b)}
    )
    lr = jax.ShapeDtypeStruct((), jnp.float32, sharding=sharding.replicated(self._mesh))
    fn = jax.jit(lambda st, bt, lr: self._fn(st, bt, lr, bn_group_size=g), donate_argnums=0)
    return fn, (self._state, batch, lr)

  def lower(self, key: StepKey):
    """Traces and lowers the step for one shape."""
    fn, args = self.jitted(key)
    return fn.lower(*args)

  def _build(self, key: StepKey, index: int, total: int, log: Callable[[str], None]):
    start = time.perf_counter()
    executable = self._cache.load(key) if self._cache else None
    source = "loaded"
    if executable is None:
      _listen_for_cache_hits()
      hits = getattr(_thread, "cache_hits", 0)
      executable, source = (
          self.lower(key).compile(compiler_options=self._options or None),
          "compiled",
      )
      # An executable that JAX read from its persistent cache serializes without its
      # machine code on XLA:CPU (jax 0.10: loading it back fails at the first call with
      # "Function ... not found"), so only a fresh compile is stored.
      if self._cache and getattr(_thread, "cache_hits", 0) == hits:
        self._cache.store(key, executable)
    end = time.perf_counter()
    self.log.append((key, source, end - start, end))
    log(
        f"Step shape {index + 1}/{total} {source}: B={key[0]} T={key[1]} S={key[2]} "
        f"bn_group={key[3]} ({end - start:.1f} s)"
    )
    return executable

  def start(self, keys: Sequence[StepKey], log: Callable[[str], None] = logging.info) -> None:
    """Starts compiling `keys`, in this order, on a background thread; `log` gets a line
    per shape ready and per wait for one."""
    self._say = log
    if self._pool is None:
      self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mgjax-compile")
    todo = [k for k in dict.fromkeys(map(tuple, keys)) if k not in self._futures]
    for i, key in enumerate(todo):
      self._futures[key] = self._pool.submit(self._build, key, i, len(todo), log)

  def compile_all(self, keys: Sequence[StepKey], log: Callable[[str], None] = logging.info) -> None:
    """Compiles (or loads) every shape before returning."""
    self.start(keys, log)
    for key in keys:
      self.executables[tuple(key)] = self._futures[tuple(key)].result()

  def ready(self, key: StepKey) -> Any:
    """The executable of `key`, waiting (and saying so) if it is still compiling."""
    executable = self.executables.get(key)
    if executable is not None:
      return executable
    if key not in self._futures:
      raise KeyError(f"Step shape {key} was not compiled: it is not in the plan's steps.")
    future = self._futures[key]
    if not future.done():
      start = time.perf_counter()
      future.result()
      self._say(
          f"Waited {time.perf_counter() - start:.1f} s for step shape B={key[0]} T={key[1]} "
          f"S={key[2]} bn_group={key[3]} to compile."
      )
    executable = self.executables[key] = future.result()
    return executable

  @property
  def compile_seconds(self) -> float:
    """Seconds spent compiling or loading, summed over shapes (in the background or not)."""
    return sum(entry[2] for entry in self.log)

  def close(self) -> None:
    """Drops the shapes not started yet; one being compiled finishes in its thread."""
    if self._pool is not None:
      self._pool.shutdown(wait=False, cancel_futures=True)

  def __call__(self, key: StepKey, state: steps.State, batch: dict[str, jax.Array], lr: float):
    executable = self.ready(key)
    lr = jax.device_put(np.float32(lr), sharding.replicated(self._mesh))
    return executable(state, batch, lr)
