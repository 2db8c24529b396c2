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
"""The model's state and the pure step functions that train and evaluate it.

The train state is a pytree of pure arrays (parameters, BatchNorm statistics and
RNG state of the NNX model, optimizer state, step). Each function here is pure and
compiled per shape by its caller (`compilation.CompiledSteps` for the train step,
`evaluate` for precise BN and the views); the LR is an input, so one executable
serves every LR of a shape. Nothing here needs TensorFlow: the step-time benchmark
runs these on accelerator machines without it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import ml_collections
import optax

from mgjax import sharding
from mgjax.models import layers
from mgjax.models import registry

State = dict[str, Any]


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


def build_model(
    config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh
) -> tuple[ModelDef, dict, dict]:
  """Initialises the model's state directly on the mesh, replicated.

  Built under jit (eager construction of a large NNX model is slow); the graph
  comes from an abstract instance.

  Returns:
    (model definition, parameters, other state) — the last two pure trees.
  """
  create = lambda: registry.create_model(config.model, rngs=nnx.Rngs(config.seed))
  abstract = nnx.eval_shape(create)
  graphdef, abstract_params, _ = _pure_split(abstract)
  bn_paths = [
      path for path, node in nnx.iter_graph(abstract) if isinstance(node, layers.GroupedBatchNorm)
  ]

  def decays(path, _):
    keys = tuple(getattr(k, "key", getattr(k, "idx", None)) for k in path)
    return not any(keys[: len(p)] == tuple(p) for p in bn_paths)

  mask = jax.tree_util.tree_map_with_path(decays, abstract_params)
  init = jax.jit(lambda: _pure_split(create())[1:], out_shardings=sharding.replicated(mesh))
  params, rest = init()
  return ModelDef(graphdef, mask), params, rest


def make_optimizer(
    config: ml_collections.ConfigDict, model_def: ModelDef, lr: float | jax.Array = 0.0
) -> optax.GradientTransformation:
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
      optax.sgd(lr, momentum=o.momentum, nesterov=o.nesterov),
  )


def init_state(config, mesh) -> tuple[ModelDef, State]:
  """A fresh train state on the mesh."""
  model_def, params, rest = build_model(config, mesh)
  tx = make_optimizer(config, model_def)
  opt_state = jax.jit(tx.init, out_shardings=sharding.replicated(mesh))(params)
  step = jax.device_put(jnp.zeros((), jnp.int32), sharding.replicated(mesh))
  return model_def, dict(step=step, params=params, rest=rest, opt_state=opt_state)


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


def train_step(
    state: State,
    batch: dict[str, jax.Array],
    lr: jax.Array,
    *,
    model_def: ModelDef,
    config: ml_collections.ConfigDict,
    bn_group_size: int,
) -> tuple[State, dict[str, jax.Array]]:
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


def precise_bn_step(
    state: State,
    batch: dict[str, jax.Array],
    momentum: jax.Array,
    *,
    model_def: ModelDef,
    config: ml_collections.ConfigDict,
) -> State:
  """Accumulates one batch into the BatchNorm statistics (running average)."""
  model = merge(model_def, state["params"], state["rest"])
  model(
      normalize(batch["video"], config),
      train=True,
      bn_group_size=config.multigrid.bn_group_size,
      bn_momentum=momentum,
  )
  return dict(state, rest=_pure_split(model)[2])


def eval_step(
    state: State, video: jax.Array, *, model_def: ModelDef, config: ml_collections.ConfigDict
) -> jax.Array:
  """Scores of a batch of views: softmax, or sigmoid for multi-label."""
  model = merge(model_def, state["params"], state["rest"])
  logits = model(normalize(video, config), train=False).astype(jnp.float32)
  return jax.nn.sigmoid(logits) if config.data.multi_label else jax.nn.softmax(logits)


def label_spec(config: ml_collections.ConfigDict) -> Callable[[int], tuple]:
  """Shape and dtype of a batch's labels for a global batch size."""
  if config.data.multi_label:
    return lambda b: ((b, config.model.num_classes), jnp.float32)
  return lambda b: ((b,), jnp.int32)
