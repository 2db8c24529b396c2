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
"""Multi-view evaluation from a checkpoint.

Kinetics and SSv2: softmax scores averaged over a video's views, top-1/top-5.
Charades: sigmoid scores, max over views, mean average precision. Views are
spread over all devices and hosts; padded views carry mask 0 and each video is
counted exactly once. Precise BN recomputes the BatchNorm statistics at the base
shape before every evaluation.

From the command line (the latest checkpoint, or `--step`):

  python -m mgjax.main --mode=eval --config configs/X.py --workdir DIR [--config.eval.preset=3crop_256]
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Callable

from absl import logging
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from mgjax import checkpointing
from mgjax import multigrid
from mgjax import sharding
from mgjax import steps
from mgjax.data import pipeline


def aggregate_views(
    video_ids: np.ndarray, scores: np.ndarray, mask: np.ndarray, multi_label: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Combines the views of each video.

  Args:
    video_ids: [V] video index of each view.
    scores: [V, C] per-view scores (probabilities).
    mask: [V] 1 for real views, 0 for padding.
    multi_label: max over views (Charades) instead of the mean.

  Returns:
    (sorted unique video ids, [N, C] video scores, [N] number of views per video).
  """
  keep = np.asarray(mask) > 0
  ids, scores = np.asarray(video_ids)[keep], np.asarray(scores, np.float64)[keep]
  unique, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
  out = np.full((len(unique), scores.shape[1]), -np.inf if multi_label else 0.0)
  if multi_label:
    np.maximum.at(out, inverse, scores)
  else:
    np.add.at(out, inverse, scores)
    out /= counts[:, None]
  return unique, out, counts


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
  """Fraction of videos whose label is among the k highest scores."""
  topk = np.argsort(-scores, axis=1, kind="stable")[:, :k]
  return float(np.mean(np.any(topk == np.asarray(labels)[:, None], axis=1)))


def mean_average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
  """Mean over classes with a positive of the per-class average precision.

  Average precision of a class: the mean, over its positives, of the precision
  among the videos ranked at or above that positive (the uninterpolated AP of
  scikit-learn's `average_precision_score`, which the reference uses for
  Charades). Equal scores are ranked in input order.

  Args:
    scores: [N, C] scores.
    labels: [N, C] multi-hot labels.

  Returns:
    The mAP in [0, 1].
  """
  labels = np.asarray(labels) > 0
  aps = []
  for c in range(labels.shape[1]):
    positives = labels[:, c]
    if not positives.any():
      continue
    order = np.argsort(-scores[:, c], kind="stable")
    hits = positives[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    aps.append(float(np.sum(precision[hits]) / hits.sum()))
  return float(np.mean(aps)) if aps else 0.0


def _gather(x: Any) -> np.ndarray:
  """The whole of a global array, or host-local arrays concatenated over processes."""
  if jax.process_count() == 1:
    return np.asarray(jax.device_get(x))
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def precise_bn(
    config: ml_collections.ConfigDict,
    plan: multigrid.Plan,
    mesh: jax.sharding.Mesh,
    model_def: steps.ModelDef,
    state: steps.State,
) -> steps.State:
  """Recomputes BatchNorm statistics over `train.precise_bn_batches` base-shape batches.

  Args:
    config: the run's config.
    plan: its multigrid plan (the base shape).
    mesh: the device mesh.
    model_def: the model's graph.
    state: the train state.

  Returns:
    The state with the new statistics (unchanged when `train.precise_bn_batches` is 0).
  """
  n = config.train.precise_bn_batches
  if n <= 0:
    return state
  b, t, s = plan.base_shape
  batch = sharding.abstract_batch(mesh, {"video": ((b, t, s, s, 3), jnp.uint8)})
  fn = jax.jit(
      lambda st, bt, m: steps.precise_bn_step(st, bt, m, model_def=model_def, config=config)
  )
  step = fn.lower(sharding.abstract(state), batch, jax.ShapeDtypeStruct((), jnp.float32)).compile()
  batches = pipeline.precise_bn_dataset(config, plan, n, jax.process_index(), jax.process_count())
  for i, local in zip(range(n), batches):
    # Momentum i/(i+1): the running statistics become the mean over the batches.
    video = sharding.global_batch(mesh, {"video": local["video"]})
    state = step(state, video, jnp.float32(i / (i + 1)))
  return state


def evaluate(
    config: ml_collections.ConfigDict,
    mesh: jax.sharding.Mesh,
    predict_fn: Callable[[steps.State, jax.Array], jax.Array],
    state: steps.State,
    output_path: str | None = None,
) -> dict[str, Any]:
  """Multi-view evaluation of `state` on the eval split.

  Args:
    config: the config (eval.* decides the views).
    mesh: the device mesh.
    predict_fn: (state, uint8 views) -> per-view scores, pure (compiled here); for
      example `functools.partial(steps.eval_step, model_def=..., config=...)`.
    state: the train state (params and BatchNorm statistics are used).
    output_path: where to write the JSON of metrics and per-video predictions.

  Returns:
    {"metrics": {...}, "predictions": [...]}.
  """
  temporal, spatial, crop = pipeline.eval_views(config)
  b, t = config.eval.batch_size, config.data.num_frames
  video = sharding.abstract_batch(mesh, {"video": ((b, t, crop, crop, 3), jnp.uint8)})["video"]
  step = jax.jit(predict_fn).lower(sharding.abstract(state), video).compile()
  ids, scores, masks, labels = [], [], [], []
  bad_videos, failed = pipeline.BadVideos(config, config.data.eval_split), 0
  for local in pipeline.eval_dataset(config, jax.process_index(), jax.process_count()):
    bad_videos.add(local["bad_videos"])
    failed += int(local["failed"])
    out = step(state, sharding.global_batch(mesh, {"video": local["video"]})["video"])
    scores.append(_gather(out))
    ids.append(_gather(local["video_id"]))
    masks.append(_gather(local["mask"]))
    labels.append(_gather(local["label"]))
  ids, scores = np.concatenate(ids), np.concatenate(scores)
  masks, labels = np.concatenate(masks), np.concatenate(labels)
  multi = bool(config.data.multi_label)
  videos, video_scores, counts = aggregate_views(ids, scores, masks, multi)
  first = {int(v): i for i, v in reversed(list(enumerate(ids)))}
  video_labels = labels[[first[int(v)] for v in videos]]
  # A view whose video failed to load is a black clip, counted here (and its file named
  # in the log): this host's count.
  metrics: dict[str, Any] = dict(
      split=config.data.eval_split,
      num_videos=len(videos),
      num_views=int(counts.sum()),
      temporal_views=temporal,
      spatial_crops=spatial,
      crop_size=crop,
      failed_views=failed,
  )
  if multi:
    metrics["mAP"] = mean_average_precision(video_scores, video_labels)
  else:
    metrics["top1"] = topk_accuracy(video_scores, video_labels, 1)
    metrics["top5"] = topk_accuracy(video_scores, video_labels, min(5, video_scores.shape[1]))
  predictions = [
      dict(
          video_id=int(v),
          label=(np.flatnonzero(l).tolist() if multi else int(l)),
          top5=np.argsort(-s)[:5].tolist(),
          top5_scores=np.sort(s)[::-1][:5].tolist(),
      )
      for v, s, l in zip(videos, video_scores, video_labels)
  ]
  if multi:
    logging.info("Evaluation: mAP %.2f%% over %d videos.", 100 * metrics["mAP"], len(videos))
  else:
    logging.info(
        "Evaluation: top-1 %.2f%%, top-5 %.2f%% over %d videos.",
        100 * metrics["top1"],
        100 * metrics["top5"],
        len(videos),
    )
  if output_path and jax.process_index() == 0:
    with open(output_path, "w") as f:
      json.dump(dict(metrics=metrics, predictions=predictions), f, indent=1)
  return dict(metrics=metrics, predictions=predictions, scores=video_scores, labels=video_labels)


def evaluate_checkpoint(
    config: ml_collections.ConfigDict, workdir: str, step: int | None = None
) -> dict[str, Any]:
  """Restores a checkpoint of `workdir`, runs precise BN if configured, evaluates.

  Args:
    config: the run's config (eval.* may be overridden).
    workdir: the training workdir.
    step: checkpoint step (default: the latest).

  Returns:
    As `evaluate`, written to `<workdir>/eval_<step>_<preset>.json`.
  """
  mesh = sharding.make_mesh()
  config = pipeline.prepare(config)
  plan = multigrid.Plan.from_config(config)
  model_def, state = steps.init_state(config, mesh)
  ckpt = checkpointing.Checkpointer(
      os.path.join(workdir, "checkpoints"), config.train.keep_checkpoints
  )
  step = ckpt.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"No checkpoint in {os.path.join(workdir, 'checkpoints')}")
  state = ckpt.restore(state, step)
  ckpt.close()
  state = precise_bn(config, plan, mesh, model_def, state)
  path = os.path.join(workdir, f"eval_{step}_{config.eval.preset}.json")
  predict = functools.partial(steps.eval_step, model_def=model_def, config=config)
  return evaluate(config, mesh, predict, state, path)
