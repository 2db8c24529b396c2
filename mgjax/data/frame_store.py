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
"""The frame store: one file per video holding its frames as JPEG bytes.

A store is a directory (local or `gs://`)::

  STORE/manifest.jsonl        one JSON object per converted video (see `ManifestEntry`)
  STORE/failed.jsonl          the inputs the last converter run could not convert, and why
  STORE/videos/<key>.seqex    one video

Each video file is a serialized `tf.train.SequenceExample`:

  context  `video/id` (bytes), `video/source` (bytes), `video/labels` (int64 list),
           `video/label_names` (bytes list), `video/fps` (float), `video/num_frames`,
           `video/height`, `video/width` (int64; the stored frame size)
  sequence `video/frames`: one feature per frame holding that frame's JPEG bytes

Training reads a file with `tf.io.read_file` + `tf.io.parse_single_sequence_example`
and decodes only the frames a clip samples, so any clip of any video is one read away
and resuming at any step is exact.

Both sides use TensorFlow's own proto classes and ops; TensorFlow is imported lazily
(only where a video is written or read), so light tools such as the manifest readers
do not pay for it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from typing import Iterable

FILE_SUFFIX = ".seqex"
VIDEOS_DIR = "videos"
MANIFEST = "manifest.jsonl"
FAILED = "failed.jsonl"

# Feature keys of the SequenceExample.
ID = "video/id"
SOURCE = "video/source"
LABELS = "video/labels"
LABEL_NAMES = "video/label_names"
FPS = "video/fps"
NUM_FRAMES = "video/num_frames"
HEIGHT = "video/height"
WIDTH = "video/width"
FRAMES = "video/frames"


@dataclasses.dataclass
class VideoRecord:
  """One video of the store.

  Attributes:
    frames: JPEG bytes of every frame, in display order.
    height: stored frame height in pixels.
    width: stored frame width in pixels.
    fps: frames per second of the source (0 when unknown).
    video_id: the store key of the video.
    source: the path the video was converted from.
    labels: integer labels given to the converter (may be empty).
    label_names: label names given to the converter (may be empty).
  """

  frames: list[bytes]
  height: int
  width: int
  fps: float = 0.0
  video_id: str = ""
  source: str = ""
  labels: tuple[int, ...] = ()
  label_names: tuple[str, ...] = ()


@dataclasses.dataclass
class ManifestEntry:
  """One line of `manifest.jsonl`.

  Attributes:
    key: store key (relative path of the source without its extension).
    source: the converted input path.
    num_frames: frames in the file.
    fps: frames per second of the source.
    height: stored frame height.
    width: stored frame width.
    labels: integer labels given to the converter.
    label_names: label names given to the converter.
  """

  key: str
  source: str
  num_frames: int
  fps: float
  height: int
  width: int
  labels: tuple[int, ...] = ()
  label_names: tuple[str, ...] = ()

  def to_json(self) -> str:
    d = dataclasses.asdict(self)
    d["labels"], d["label_names"] = list(self.labels), list(self.label_names)
    return json.dumps(d, sort_keys=True)

  @classmethod
  def from_json(cls, line: str) -> "ManifestEntry":
    d = json.loads(line)
    d["labels"] = tuple(d.get("labels", ()))
    d["label_names"] = tuple(d.get("label_names", ()))
    return cls(**d)


def import_tf():
  """Imports TensorFlow with accelerators hidden from it (JAX owns them) and returns it."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  try:
    tf.config.set_visible_devices([], "GPU")
  except RuntimeError:  # Devices already initialised: somebody hid them (or chose) before.
    pass
  return tf


# ----------------------------------------------------------------------------------------
# Paths.


def join(base: str, *parts: str) -> str:
  """Joins path parts with '/', which works for local and `gs://` paths alike."""
  return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])


def video_path(store: str, key: str) -> str:
  """Returns the file of the video with this key in a store.

  Args:
    store: the store directory.
    key: the video's store key.

  Returns:
    `store/videos/<key>.seqex`.
  """
  return join(store, VIDEOS_DIR, key + FILE_SUFFIX)


def is_remote(path: str) -> bool:
  """True for URLs such as gs://, which need tf.io.gfile."""
  return "://" in path


# ----------------------------------------------------------------------------------------
# Writing.


def serialize(record: VideoRecord) -> bytes:
  """Serializes a video as a tf.train.SequenceExample.

  Args:
    record: the video.

  Returns:
    The serialized proto, parseable by `tf.io.parse_single_sequence_example`.
  """
  tf = import_tf()
  feature = tf.train.Feature
  as_bytes = lambda values: feature(bytes_list=tf.train.BytesList(value=list(values)))
  as_ints = lambda values: feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))
  context = tf.train.Features(
      feature={
          ID: as_bytes([record.video_id.encode("utf-8")]),
          SOURCE: as_bytes([record.source.encode("utf-8")]),
          LABELS: as_ints(record.labels),
          LABEL_NAMES: as_bytes(n.encode("utf-8") for n in record.label_names),
          FPS: feature(float_list=tf.train.FloatList(value=[float(record.fps)])),
          NUM_FRAMES: as_ints([len(record.frames)]),
          HEIGHT: as_ints([record.height]),
          WIDTH: as_ints([record.width]),
      }
  )
  frames = tf.train.FeatureList(feature=[as_bytes([f]) for f in record.frames])
  example = tf.train.SequenceExample(
      context=context, feature_lists=tf.train.FeatureLists(feature_list={FRAMES: frames})
  )
  return example.SerializeToString()


def atomic_write(path: str, data: bytes | str) -> None:
  """Writes a file so that readers never see it half-written.

  Local files go to a temporary name in the same directory and are renamed over the
  target (atomic on POSIX); remote files are written with tf.io.gfile (object stores
  publish an object only once it is complete).

  Args:
    path: the target file.
    data: its contents.
  """
  if isinstance(data, str):
    data = data.encode("utf-8")
  if is_remote(path):
    tf = import_tf()
    with tf.io.gfile.GFile(path, "wb") as f:
      f.write(data)
    return
  directory = os.path.dirname(path) or "."
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write(store: str, record: VideoRecord) -> str:
  """Writes one video into a store (atomically) and returns its path.

  Args:
    store: the store directory.
    record: the video; `record.video_id` is its key.

  Returns:
    The written file.
  """
  path = video_path(store, record.video_id)
  atomic_write(path, serialize(record))
  return path


# ----------------------------------------------------------------------------------------
# Manifest.


def _read_text(path: str) -> str | None:
  if is_remote(path):
    tf = import_tf()
    if not tf.io.gfile.exists(path):
      return None
    with tf.io.gfile.GFile(path, "r") as f:
      return f.read()
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return f.read()


def read_manifest(store: str) -> dict[str, ManifestEntry] | None:
  """Reads a store's manifest.

  Lines that do not parse (the tail of an interrupted append) are ignored; a key
  listed twice keeps its last entry.

  Args:
    store: the store directory.

  Returns:
    key -> entry, or None when the store has no manifest.
  """
  text = _read_text(join(store, MANIFEST))
  if text is None:
    return None
  entries = {}
  for line in text.splitlines():
    line = line.strip()
    if not line:
      continue
    try:
      e = ManifestEntry.from_json(line)
    except (ValueError, TypeError, KeyError):
      continue
    entries[e.key] = e
  return entries


def write_manifest(store: str, entries: Iterable[ManifestEntry]) -> None:
  """Writes a store's manifest, sorted by key, atomically.

  Args:
    store: the store directory.
    entries: its videos.
  """
  lines = [e.to_json() for e in sorted(entries, key=lambda e: e.key)]
  atomic_write(join(store, MANIFEST), "".join(l + "\n" for l in lines))


# ----------------------------------------------------------------------------------------
# Reading (TensorFlow).


def parse(serialized):
  """Parses a serialized video inside a TF graph.

  Args:
    serialized: scalar string tensor, the file contents.

  Returns:
    A dict of tensors: `frames` (string [F], JPEG bytes), `num_frames` (int32), `height`,
    `width` (int32), `fps` (float32), `labels` (int64 [L]), `label_names` (string [L']), `id`, `source` (string).
  """
  tf = import_tf()
  context, sequence = tf.io.parse_single_sequence_example(
      serialized,
      context_features={
          ID: tf.io.FixedLenFeature([], tf.string, default_value=""),
          SOURCE: tf.io.FixedLenFeature([], tf.string, default_value=""),
          LABELS: tf.io.VarLenFeature(tf.int64),
          LABEL_NAMES: tf.io.VarLenFeature(tf.string),
          FPS: tf.io.FixedLenFeature([], tf.float32, default_value=0.0),
          NUM_FRAMES: tf.io.FixedLenFeature([], tf.int64),
          HEIGHT: tf.io.FixedLenFeature([], tf.int64),
          WIDTH: tf.io.FixedLenFeature([], tf.int64),
      },
      sequence_features={FRAMES: tf.io.FixedLenSequenceFeature([], tf.string)},
  )
  return {
      "frames": sequence[FRAMES],
      # The frame list is the truth; the context count is only a cross-check for tools.
      "num_frames": tf.shape(sequence[FRAMES], out_type=tf.int32)[0],
      "height": tf.cast(context[HEIGHT], tf.int32),
      "width": tf.cast(context[WIDTH], tf.int32),
      "fps": context[FPS],
      "labels": tf.sparse.to_dense(context[LABELS]),
      "label_names": tf.sparse.to_dense(context[LABEL_NAMES]),
      "id": context[ID],
      "source": context[SOURCE],
  }


def read(path: str) -> VideoRecord:
  """Reads a whole video file eagerly (tools and tests; training uses `parse`).

  Args:
    path: a video file of a store.

  Returns:
    The record.
  """
  tf = import_tf()
  p = parse(tf.io.read_file(path))
  return VideoRecord(
      frames=[bytes(f) for f in p["frames"].numpy()],
      height=int(p["height"]),
      width=int(p["width"]),
      fps=float(p["fps"]),
      video_id=p["id"].numpy().decode("utf-8"),
      source=p["source"].numpy().decode("utf-8"),
      labels=tuple(int(x) for x in p["labels"].numpy()),
      label_names=tuple(x.decode("utf-8") for x in p["label_names"].numpy()),
  )


def diagnose(path: str) -> str:
  """Why a store file cannot be trained on, in words ("" when it reads and decodes).

  Reads the whole file and decodes every frame: for the few files the pipeline
  reported, once each.

  Args:
    path: a video file of a store.

  Returns:
    The first problem found, e.g. "missing file", "empty file", "not a frame-store
    record (...)", "no frames", "frame 12 of 40 is not a decodable JPEG".
  """
  tf = import_tf()
  if not tf.io.gfile.exists(path):
    return "missing file"
  data = tf.io.read_file(path)
  if not int(tf.strings.length(data)):
    return "empty file"
  try:
    record = parse(data)
  except (tf.errors.InvalidArgumentError, tf.errors.DataLossError) as e:
    # TF's message without its op wrappers: "Could not parse example input, value: ...".
    message = re.sub(r"\{\{.*?\}\}|\[Op:\w+\]", "", e.message).strip().splitlines()[0]
    return f"not a frame-store record ({message[:100]})"
  frames = record["frames"].numpy()
  if not len(frames):
    return "no frames"
  for i, frame in enumerate(frames):
    try:
      tf.io.decode_jpeg(frame, channels=3)
    except tf.errors.InvalidArgumentError:
      return f"frame {i} of {len(frames)} is not a decodable JPEG"
  return ""
