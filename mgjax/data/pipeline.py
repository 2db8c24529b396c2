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
"""tf.data pipelines: training (the multigrid plan's shapes), multi-view test, precise BN.

Training is one pipeline for the whole run, built from the plan's per-step table.
Step k's global batch holds examples [offset_k, offset_k + B_k) of the run (offset_k
the plan's `example_offset`), each a clip whose video and random draws are pure
functions of (config.seed, example index) (`sampling.py`). Process p of P takes clips
[p·B/P, (p+1)·B/P) of every step. Hence a batch depends only on (config, step): the
pipeline can start at any step (resume), and the global batch is the same for any
number of hosts.

Shapes change from step to step, so the pipeline runs over a stream of (step,
example) pairs, loads clips in parallel (order kept), and groups each step's clips
with `group_by_window`, whose window size is the step's batch read from the table.

A clip that fails to load (missing or corrupt file, bad JPEG, zero frames) is replaced
by another video chosen deterministically from the clip's key, and counted in the
batch's `failed` field; after `MAX_ATTEMPTS` failures the clip is black. The batch's
`bad_videos` names the videos that failed (their index in the split's video list),
so that `BadVideos` can report each file once with its reason.

Outputs (numpy via `.as_numpy_iterator()`):
  train / precise BN: {video: uint8 [B/P, T, S, S, 3], label: int32 [B/P] (float32
    multi-hot [B/P, C] for multi-label datasets), failed: int32 count of replaced clips,
    bad_videos: int32 [B/P, MAX_ATTEMPTS], the videos each clip tried and failed (-1 pad)}
  eval: {video: uint8 [b, T, S, S, 3], label, video_id: int32 [b] (-1 for padding),
    mask: float32 [b] (0 for padding), failed: int32, bad_videos: int32 [b] (-1 pad)}
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any

from absl import logging
import numpy as np

from mgjax import config as config_lib
from mgjax.data import augment
from mgjax.data import datasets
from mgjax.data import frame_store
from mgjax.data import sampling
from mgjax.data import service
from mgjax.data import synthetic

tf = frame_store.import_tf()  # Accelerators stay with JAX.

MAX_ATTEMPTS = 4  # Videos tried for one clip before giving up with a black clip.


def eval_views(config) -> tuple[int, int, int]:
  """Resolves the eval preset.

  Args:
    config: the experiment config (`config.eval.*`).

  Returns:
    (num_temporal_views, num_spatial_crops, crop_size).
  """
  e = config.eval
  if e.preset not in config_lib.EVAL_PRESETS:
    raise ValueError(
        f"config.eval.preset = {e.preset!r}: use one of {sorted(config_lib.EVAL_PRESETS)}"
    )
  views, crops, size = config_lib.EVAL_PRESETS[e.preset]
  return (
      int(views or e.num_temporal_views),
      int(crops or e.num_spatial_crops),
      int(size or e.crop_size),
  )


def prepare(config):
  """Resolves the data fields of a config before the plan is built.

  For the synthetic dataset: builds it on first use (`synthetic.ensure_dataset`) and sets
  `data.root` (when empty) and `model.num_classes`. For every dataset: sets
  `data.num_train_examples` to the number of training videos present in the store
  (the plan counts epochs in it), logging when that changes the config.

  Args:
    config: the experiment config (not modified).

  Returns:
    A resolved copy of the config.
  """
  config = config.copy_and_resolve_references()
  with config.unlocked():
    if config.data.dataset == "synthetic":
      if not config.data.root:
        config.data.root = synthetic.ensure_dataset(config)
      classes = synthetic.num_classes(config.data.synthetic_task)
      if config.model.num_classes != classes:
        logging.info(
            "Synthetic dataset: model.num_classes %d -> %d.", config.model.num_classes, classes
        )
        config.model.num_classes = classes
    n = len(datasets.load(config, config.data.train_split))
    if n != config.data.num_train_examples:
      logging.warning(
          "data.num_train_examples %d -> %d (the training videos in %s).",
          config.data.num_train_examples,
          n,
          config.data.root,
      )
      config.data.num_train_examples = n
  return config


# ----------------------------------------------------------------------------------------
# Video lists as tensors.


@dataclasses.dataclass
class _Source:
  files: tf.Tensor
  labels: tf.Tensor
  flip_map: tf.Tensor | None
  num_videos: int
  zero_label: tf.Tensor

  @classmethod
  def of(cls, videos: datasets.VideoList) -> "_Source":
    labels = videos.label_array()
    return cls(
        files=tf.constant(videos.files),
        labels=tf.constant(labels),
        flip_map=None if videos.flip_map is None else tf.constant(videos.flip_map, tf.int32),
        num_videos=len(videos),
        zero_label=tf.zeros(labels.shape[1:], labels.dtype),
    )


def _load_video(source: _Source, video) -> dict[str, tf.Tensor]:
  """Reads and parses a store file; fails (caught by the retry logic) on 0 frames."""
  record = frame_store.parse(tf.io.read_file(tf.gather(source.files, video)))
  check = tf.debugging.assert_positive(record["num_frames"], message="video has no frame")
  with tf.control_dependencies([check]):
    record["num_frames"] = tf.identity(record["num_frames"])
  return record


def _first_success(attempts: tf.data.Dataset, fallback: dict[str, tf.Tensor]) -> tf.data.Dataset:
  """The first attempt that did not raise, else the fallback: always one element.

  `attempts` is a lazily evaluated dataset, so later attempts cost nothing unless the
  earlier ones failed.
  """
  return attempts.ignore_errors().concatenate(tf.data.Dataset.from_tensors(fallback)).take(1)


def _options(config, dataset: tf.data.Dataset) -> tf.data.Dataset:
  options = tf.data.Options()
  options.deterministic = True
  # Parallelising the retry maps would run the fall-back attempts speculatively.
  options.experimental_optimization.map_parallelization = False
  if config.data.num_workers > 0:
    options.threading.private_threadpool_size = int(config.data.num_workers)
  return dataset.with_options(options)


def _parallelism(config) -> int:
  """Clips loaded at once. Loading mostly waits on file reads and decoding (outside the
  GIL), so a few more than the cores keeps them busy."""
  if config.data.num_workers > 0:
    return int(config.data.num_workers)
  return max(8, 2 * (os.cpu_count() or 1))


def _check_num_examples(config, videos: datasets.VideoList) -> None:
  n = int(config.data.num_train_examples)
  if n != len(videos):
    raise ValueError(
        f"config.data.num_train_examples = {n} but the training split has {len(videos)} videos"
        " in the frame store: set it to the split's size, or use `prepare(config)` (the plan"
        " counts epochs in it)"
    )


# ----------------------------------------------------------------------------------------
# Training clips from a per-step table.

_TABLE_COLUMNS = (
    "batch_size",
    "num_frames",
    "crop_size",
    "stride_lo",
    "stride_hi",
    "jitter_lo",
    "jitter_hi",
    "example_offset",
)


def train_clip(
    config,
    record: dict[str, tf.Tensor],
    label: tf.Tensor,
    key: tf.Tensor,
    row: dict[str, Any],
    flip_map: tf.Tensor | None = None,
) -> dict[str, tf.Tensor]:
  """The training clip of a parsed video for one clip key: sampling, crop, flip.

  Shared by the pipeline and by users of the TFDS dataset (whose examples carry the
  same frames), so both give the same clips.

  Args:
    config: the experiment config (`config.data.sampling`, `config.data.flip`).
    record: the video as `frame_store.parse` returns it (`frames`, `num_frames`,
      `height`, `width`).
    label: its label (int32 scalar or multi-hot).
    key: the clip's key (`sampling.clip_key`).
    row: the step's `num_frames`, `crop_size`, `stride_lo`, `stride_hi`, `jitter_lo`,
      `jitter_hi` (ints or scalar tensors).
    flip_map: int32 [C] class after a flip, or None.

  Returns:
    `video` uint8 [T, S, S, 3], `label`, and the draws: `frame_indices`, `crop`,
    `flipped`, `scale`, `stride` (0 with segment sampling).
  """
  segment = config.data.sampling == "segment"
  t, s = row["num_frames"], row["crop_size"]
  draws = sampling.train_draws(
      key,
      clip_frames=t,
      stride_range=(row["stride_lo"], row["stride_hi"]),
      jitter_range=(row["jitter_lo"], row["jitter_hi"]),
      flip=config.data.flip,
      segment=segment,
  )
  if segment:
    indices = sampling.segment_indices(record["num_frames"], t, draws["start"])
  else:
    indices = sampling.stride_indices(record["num_frames"], t, draws["stride"], draws["start"])
  box = sampling.train_crop(
      record["height"], record["width"], s, draws["scale"], draws["u_y"], draws["u_x"]
  )
  clip = augment.decode_crop_resize(
      record["frames"], indices, box, s, scaled=config.data.scaled_decode
  )
  clip = augment.horizontal_flip(clip, draws["flip"])
  return dict(
      video=clip,
      label=augment.flip_labels(label, draws["flip"], flip_map),
      frame_indices=indices,
      crop=box,
      flipped=draws["flip"],
      scale=draws["scale"],
      stride=tf.constant(0, tf.int32) if segment else draws["stride"],
  )


def _clip_key_and_videos(config, source: _Source, k, domain: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Example k's clip key and the video each attempt at it loads: int32 [MAX_ATTEMPTS]
  (attempt 0 first). Computed once per example, shared by its attempts."""
  seed = int(config.seed)
  key = sampling.clip_key(seed, k, domain)
  first = sampling.video_index(k, source.num_videos, seed, domain)
  replacements = [
      sampling.replacement_video(key, first, a, source.num_videos) for a in range(1, MAX_ATTEMPTS)
  ]
  return key, tf.cast(tf.stack([first] + replacements), tf.int32)


def _train_clip(
    config,
    source: _Source,
    row: dict[str, tf.Tensor],
    step,
    k,
    key,
    tried,
    attempt,
    with_metadata: bool,
) -> dict[str, tf.Tensor]:
  """Loads example k of the run (attempt > 0: its replacement video)."""
  video = tf.gather(tried, attempt)
  record = _load_video(source, video)
  clip = train_clip(config, record, tf.gather(source.labels, video), key, row, source.flip_map)
  # The attempts before this one failed.
  bad = tf.where(tf.range(MAX_ATTEMPTS, dtype=tf.int64) < attempt, tried, -1)
  out = dict(
      video=clip.pop("video"),
      label=clip.pop("label"),
      failed=tf.cast(attempt > 0, tf.int32),
      bad_videos=bad,
      step=step,
  )
  if with_metadata:
    out.update(clip, example=k, video_index=tf.cast(video, tf.int64))
  return out


def _black_clip(source: _Source, row, step, k, tried, with_metadata: bool) -> dict[str, tf.Tensor]:
  t, s = row["num_frames"], row["crop_size"]
  out = dict(
      video=tf.zeros(tf.stack([t, s, s, 3]), tf.uint8),
      label=source.zero_label,
      failed=tf.constant(1, tf.int32),
      bad_videos=tried,  # Every attempt failed.
      step=step,
  )
  if with_metadata:
    out.update(
        example=k,
        video_index=tf.constant(-1, tf.int64),
        frame_indices=tf.zeros([t], tf.int32),
        crop=tf.zeros([3], tf.int32),
        flipped=tf.constant(False),
        scale=tf.constant(0, tf.int32),
        stride=tf.constant(0, tf.int32),
    )
  return out


def _table_dataset(
    config,
    videos: datasets.VideoList,
    table: dict[str, np.ndarray],
    first_step: int,
    process_index: int,
    process_count: int,
    domain: int,
    with_metadata: bool,
    keep_step: bool = False,
) -> tf.data.Dataset:
  """Batches for the steps of a table (row i = step first_step + i); keep_step: each
  batch keeps its `step` without the rest of the metadata (the tf.data service's tag)."""
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index {process_index} outside [0, {process_count})")
  batch = np.asarray(table["batch_size"], np.int64)
  if np.any(batch % process_count):
    raise ValueError(
        f"global batch sizes {sorted(set(batch.tolist()))} must divide by the"
        f" {process_count} processes"
    )
  source = _Source.of(videos)
  cols = {
      c: tf.constant(np.asarray(table[c], np.int64 if c == "example_offset" else np.int32))
      for c in _TABLE_COLUMNS
  }
  local = tf.constant(batch // process_count, tf.int64)
  num_rows = len(batch)

  def row_of(step):
    i = step - first_step
    return {c: tf.gather(v, i) for c, v in cols.items()}

  def examples_of_step(step):
    b = tf.gather(local, step - first_step)
    first = tf.gather(cols["example_offset"], step - first_step) + process_index * b
    return tf.data.Dataset.range(b).map(lambda i: (step, first + i))

  def clip_with_retries(step, k):
    row = row_of(step)
    key, tried = _clip_key_and_videos(config, source, k, domain)
    attempts = tf.data.Dataset.range(MAX_ATTEMPTS).map(
        lambda a: _train_clip(config, source, row, step, k, key, tried, a, with_metadata)
    )
    return _first_success(attempts, _black_clip(source, row, step, k, tried, with_metadata))

  width = _parallelism(config)
  ds = tf.data.Dataset.range(first_step, first_step + num_rows).flat_map(examples_of_step)
  ds = ds.interleave(
      clip_with_retries,
      cycle_length=width,
      block_length=1,
      num_parallel_calls=width,
      deterministic=True,
  )

  def window_size(step):
    return tf.gather(local, step - first_step)

  ds = ds.group_by_window(
      key_func=lambda el: el["step"],
      reduce_func=lambda step, w: w.batch(window_size(step)),
      window_size_func=window_size,
  )

  def finish(b):
    b = dict(b)
    b["failed"] = tf.reduce_sum(b["failed"])
    step = b.pop("step")
    if with_metadata or keep_step:
      b["step"] = step[0]
    return b

  ds = ds.map(finish)
  return _options(config, ds).prefetch(2)


def train_dataset(
    config,
    plan,
    start_step: int = 0,
    process_index: int = 0,
    process_count: int = 1,
    *,
    videos: datasets.VideoList | None = None,
    stop_step: int | None = None,
    with_metadata: bool = False,
    as_numpy: bool = True,
):
  """The training batches of steps [start_step, stop_step) of a plan.

  Args:
    config: the experiment config (`config.seed`, `config.data.*`).
    plan: the `multigrid.Plan` of the run.
    start_step: the first step (resume).
    process_index: this host's index p.
    process_count: number of hosts P (each step's global batch must divide by it).
    videos: the training videos (default: `datasets.load(config, train_split)`).
    stop_step: the end step (default: the end of the plan).
    with_metadata: also return, per clip, `example`, `video_index`, `frame_indices`,
      `crop` (y, x, side in stored pixels), `flipped`, `scale`, `stride`, and per batch
      `step` (for tests and debugging).
    as_numpy: return an iterator of numpy dicts (else the tf.data.Dataset).

  With `config.data.service_address` set, the batches are made by tf.data service
  workers (`service.OrderedBatches`): the same batches, in the same order.

  Returns:
    An iterator of batch dicts (see the module docstring), one per step.
  """
  if videos is None:
    videos = datasets.load(config, config.data.train_split)
  _check_num_examples(config, videos)

  def build(first: int, stop: int | None, keep_step: bool = False) -> tf.data.Dataset:
    return _table_dataset(
        config,
        videos,
        plan.step_table(first, stop),
        first,
        process_index,
        process_count,
        sampling.TRAIN_DOMAIN,
        with_metadata,
        keep_step,
    )

  if config.data.service_address:
    if not as_numpy:
      raise ValueError(
          "config.data.service_address is set: the service's batches are put in step order"
          " by the numpy iterator, use as_numpy=True"
      )
    stop = start_step + len(plan.step_table(start_step, stop_step)["step"])
    return service.OrderedBatches(
        config.data.service_address, build, start_step, stop, keep_step=with_metadata
    )
  ds = build(start_step, stop_step)
  return ds.as_numpy_iterator() if as_numpy else ds


def precise_bn_dataset(
    config,
    plan,
    num_batches: int | None = None,
    process_index: int = 0,
    process_count: int = 1,
    *,
    key: int = 0,
    videos: datasets.VideoList | None = None,
    with_metadata: bool = False,
    as_numpy: bool = True,
):
  """Batches at the base shape (no short cycle) to recompute BN statistics.

  The clips come from their own stream (`sampling.PRECISE_BN_DOMAIN`), keyed by `key`
  (e.g. the step of the evaluation), with the base stride and jitter and training
  augmentation.

  Args:
    config: the experiment config.
    plan: the run's plan (its base shape).
    num_batches: batches (default `config.train.precise_bn_batches`).
    process_index: this host's index.
    process_count: number of hosts.
    key: selects the clips; different keys give different clips.
    videos: the training videos (default: loaded from the config).
    with_metadata: as in `train_dataset`.
    as_numpy: return an iterator of numpy dicts (else the tf.data.Dataset).

  Returns:
    An iterator of `num_batches` batch dicts.
  """
  if videos is None:
    videos = datasets.load(config, config.data.train_split)
  n = int(num_batches if num_batches is not None else config.train.precise_bn_batches)
  b0, t0, s0 = plan.base_shape
  tau = int(config.data.sampling_rate)
  lo, hi = config.data.jitter_scales
  table = dict(
      batch_size=np.full(n, b0),
      num_frames=np.full(n, t0),
      crop_size=np.full(n, s0),
      stride_lo=np.full(n, tau),
      stride_hi=np.full(n, tau),
      jitter_lo=np.full(n, lo),
      jitter_hi=np.full(n, hi),
      example_offset=int(key) * n * b0 + np.arange(n, dtype=np.int64) * b0,
  )
  ds = _table_dataset(
      config,
      videos,
      table,
      0,
      process_index,
      process_count,
      sampling.PRECISE_BN_DOMAIN,
      with_metadata,
  )
  return ds.as_numpy_iterator() if as_numpy else ds


# ----------------------------------------------------------------------------------------
# Evaluation.


def _eval_runs(
    num_videos: int, views_per_video: int, global_batch: int, process_index: int, process_count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
  """This host's views as runs of consecutive views of one video.

  Global view j (video j // V, view j % V) of step q sits at position j - q·Be of the
  global batch; host p takes positions [p·b, (p+1)·b), b = Be / P. Views past the last
  video are padding (video -1). Grouping a host's views into runs lets a run parse its
  file once for all its views.

  Returns:
    (video [R], first view [R], count [R], number of steps).
  """
  total = num_videos * views_per_video
  steps = max(1, math.ceil(total / global_batch))
  b = global_batch // process_count
  runs_v, runs_a, runs_n = [], [], []
  for q in range(steps):
    lo = q * global_batch + process_index * b
    hi = lo + b
    j = lo
    while j < hi:
      if j >= total:
        runs_v.append(-1)
        runs_a.append(0)
        runs_n.append(hi - j)
        break
      v = j // views_per_video
      end = min(hi, (v + 1) * views_per_video)
      runs_v.append(v)
      runs_a.append(j - v * views_per_video)
      runs_n.append(end - j)
      j = end
  return (np.array(runs_v, np.int64), np.array(runs_a, np.int32), np.array(runs_n, np.int32), steps)


def num_eval_steps(config, num_videos: int) -> int:
  """Steps of the eval pipeline for a split of `num_videos` videos."""
  v, c, _ = eval_views(config)
  return max(1, math.ceil(num_videos * v * c / int(config.eval.batch_size)))


def eval_videos(config, split: str | None = None) -> datasets.VideoList:
  """The videos an evaluation covers, in `video_id` order (`config.eval.max_videos` first).

  The evaluator aggregates view scores per `video_id` into these videos' rows and
  compares with `.label_array()`.
  """
  videos = datasets.load(config, split or config.data.eval_split)
  return videos.take(int(config.eval.max_videos))


def eval_dataset(
    config,
    process_index: int = 0,
    process_count: int = 1,
    *,
    split: str | None = None,
    videos: datasets.VideoList | None = None,
    with_metadata: bool = False,
    as_numpy: bool = True,
):
  """Multi-view test batches: every view of every video exactly once over all hosts.

  Views are ordered video by video (temporal view major, spatial crop minor) and cut
  into global batches of `config.eval.batch_size` views; each host takes its slice.
  The last global batch is padded (mask 0, video_id -1) so that every host runs the
  same number of steps.

  Args:
    config: the experiment config (`config.eval.*`, `config.data.*`).
    process_index: this host's index.
    process_count: number of hosts (must divide `config.eval.batch_size`).
    split: the split (default `config.data.eval_split`).
    videos: the videos (default `eval_videos(config, split)`).
    with_metadata: also return `temporal_view`, `spatial_crop`, `frame_indices`, `crop`.
    as_numpy: return an iterator of numpy dicts (else the tf.data.Dataset).

  Returns:
    An iterator of `num_eval_steps` batch dicts.
  """
  if videos is None:
    videos = eval_videos(config, split)
  global_batch = int(config.eval.batch_size)
  if global_batch % process_count:
    raise ValueError(
        f"config.eval.batch_size = {global_batch} must divide by the {process_count}" " processes"
    )
  num_t, num_c, size = eval_views(config)
  t = int(config.data.num_frames)
  stride = int(config.data.sampling_rate)
  segment = config.data.sampling == "segment"
  per_video = num_t * num_c
  runs = _eval_runs(len(videos), per_video, global_batch, process_index, process_count)
  source = _Source.of(videos)
  local = global_batch // process_count

  def view_clip(record, j):
    tv, c = j // num_c, j % num_c
    if segment:
      indices = sampling.segment_test_indices(record["num_frames"], t, tv, num_t)
    else:
      indices = sampling.stride_indices(
          record["num_frames"], t, stride, sampling.view_start(tv, num_t)
      )
    box = sampling.test_crop(record["height"], record["width"], c, num_c)
    clip = augment.decode_crop_resize(
        record["frames"], indices, box, size, scaled=config.data.scaled_decode
    )
    return clip, indices, box

  def load_run(video, first, count):
    record = _load_video(source, tf.maximum(video, 0))
    views = first + tf.range(count)
    clips, indices, boxes = tf.map_fn(
        lambda j: view_clip(record, j),
        views,
        fn_output_signature=(
            tf.TensorSpec([t, size, size, 3], tf.uint8),
            tf.TensorSpec([t], tf.int32),
            tf.TensorSpec([3], tf.int32),
        ),
    )
    return clips, indices, boxes, tf.zeros([count], tf.int32)

  def blank_run(count, failed):
    return (
        tf.zeros(tf.stack([count, t, size, size, 3]), tf.uint8),
        tf.zeros(tf.stack([count, t]), tf.int32),
        tf.zeros(tf.stack([count, 3]), tf.int32),
        tf.fill([count], tf.constant(failed, tf.int32)),
    )

  def run_dataset(video, first, count):
    def attempt(_):
      return tf.cond(video < 0, lambda: blank_run(count, 0), lambda: load_run(video, first, count))

    tries = tf.data.Dataset.range(1).map(attempt)
    run = _first_success(tries, blank_run(count, 1))

    def per_view(clips, indices, boxes, failed):
      real = video >= 0
      views = first + tf.range(count)
      label = tf.gather(source.labels, tf.maximum(video, 0))
      labels = tf.repeat(tf.expand_dims(tf.where(real, label, source.zero_label), 0), count, axis=0)
      out = dict(
          video=clips,
          label=labels,
          video_id=tf.fill([count], tf.cast(tf.where(real, video, -1), tf.int32)),
          mask=tf.fill([count], tf.where(real, 1.0, 0.0)),
          failed=failed,
          bad_videos=tf.where(failed > 0, tf.cast(video, tf.int32), -1),
      )
      if with_metadata:
        out.update(
            temporal_view=views // num_c,
            spatial_crop=views % num_c,
            frame_indices=indices,
            crop=boxes,
        )
      return out

    return run.map(per_view).unbatch()

  width = _parallelism(config)
  ds = tf.data.Dataset.from_tensor_slices(runs[:3])
  ds = ds.interleave(
      run_dataset,
      cycle_length=width,
      block_length=1 << 20,
      num_parallel_calls=width,
      deterministic=True,
  )
  ds = ds.batch(local)

  def finish(b):
    b = dict(b)
    b["failed"] = tf.reduce_sum(b["failed"])
    b["mask"] = tf.cast(b["mask"], tf.float32)
    return b

  ds = _options(config, ds.map(finish)).prefetch(2)
  return ds.as_numpy_iterator() if as_numpy else ds


class BadVideos:
  """Names the videos that failed to load, from the batches' `bad_videos`.

  Each file is logged once, with its reason (`frame_store.diagnose`), the first time a
  clip of it fails; `write` puts every bad file with its reason and number of failed
  clips into a JSON file (the converter's report does the same for its inputs).
  """

  def __init__(self, config, split: str, path: str | None = None):
    """
    Args:
      config: the experiment config (the batches' video list is `datasets.load(config,
        split)`, read only once a video has failed).
      split: the split of the batches.
      path: the JSON file `write` writes (None: log only).
    """
    self._config, self._split, self._path = config, split, path
    self._files: list[str] | None = None
    self.failed_clips: dict[int, int] = {}
    self.reasons: dict[int, str] = {}

  def add(self, bad_videos: np.ndarray) -> None:
    """Counts a batch's failed videos (-1 entries are padding); logs and writes new ones."""
    bad_videos = np.asarray(bad_videos)
    ids, counts = np.unique(bad_videos[bad_videos >= 0], return_counts=True)
    if not len(ids):
      return
    if self._files is None:
      self._files = datasets.load(self._config, self._split).files
    new = [int(i) for i in ids if int(i) not in self.reasons]
    for i in new:
      # A file that reads now (a transient read error) still failed a clip: say so.
      self.reasons[i] = frame_store.diagnose(self._files[i]) or "failed to load, reads now"
      logging.warning(
          "Bad video %s: %s. Its clips are replaced by other videos.",
          self._files[i],
          self.reasons[i],
      )
    for i, n in zip(ids.tolist(), counts.tolist()):
      self.failed_clips[i] = self.failed_clips.get(i, 0) + n
    if new:
      self.write()

  def report(self) -> list[dict[str, Any]]:
    """[{file, reason, failed_clips}], most failed clips first."""
    rows = [
        dict(file=self._files[i], reason=self.reasons[i], failed_clips=n)
        for i, n in self.failed_clips.items()
    ]
    return sorted(rows, key=lambda r: (-r["failed_clips"], r["file"]))

  def write(self) -> None:
    if self._path and self.failed_clips:
      frame_store.atomic_write(self._path, json.dumps(self.report(), indent=1))


def describe(batch: dict[str, Any]) -> str:
  """A one-line description of a batch (shapes and dtypes), for logs."""
  return ", ".join(
      f"{k}: {getattr(v, 'dtype', type(v).__name__)}{list(getattr(v, 'shape', ()))}"
      for k, v in batch.items()
  )
