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
"""Dataset manifests: which store files make a split, with their labels.

A dataset root (`config.data.root`, local or `gs://`) is a frame store (see
`frame_store.py`) plus the dataset's annotation files, either in the root itself or in
`root/annotations/`:

* Kinetics-400/600 (and the synthetic dataset): `{split}.csv` with lines `path label`
  or `path,label` (PySlowFast's format; the label an integer or a class name), or the
  official `label,youtube_id,time_start,time_end,split` csv (videos named
  `<youtube_id>_<start:06d>_<end:06d>`). Class names come from `classes.json`
  (`{"classes": [...], "flip_pairs": [[a, b], ...]}`) or `classes.txt` (one per line)
  when present, else from the sorted names found in the csv files.
* Something-Something V2: `something-something-v2-labels.json` and
  `something-something-v2-{train,validation}.json`; a video's key is its id.
* Charades: `Charades_v1_classes.txt` and `Charades_v1_{train,test}.csv`; every
  video gets the set of classes of its action intervals (multi-label).

An annotation entry maps to the store key given by its path without the extension
(also tried: the file name alone), as the converter names videos. Entries without a
store file are dropped and counted: `load` logs the count before training starts.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import os
import posixpath
import re
from typing import Sequence

from absl import logging
import numpy as np

from mgjax.data import frame_store


@dataclasses.dataclass
class VideoList:
  """The videos of one split.

  Attributes:
    files: store file of each video.
    keys: store key of each video.
    labels: label ids of each video (one id unless multi-label).
    class_names: name of each class.
    multi_label: whether videos carry label sets (Charades).
    flip_map: int32 [C], the class of a horizontally flipped video of each class, or None
      when a flip keeps every label.
    missing: keys named by the annotations that the store lacks.
  """

  files: list[str]
  keys: list[str]
  labels: list[tuple[int, ...]]
  class_names: list[str]
  multi_label: bool = False
  flip_map: np.ndarray | None = None
  missing: list[str] = dataclasses.field(default_factory=list)

  def __len__(self) -> int:
    return len(self.files)

  @property
  def num_classes(self) -> int:
    return len(self.class_names)

  def label_array(self) -> np.ndarray:
    """int32 [N] class ids, or float32 [N, C] multi-hot for multi-label datasets."""
    if self.multi_label:
      out = np.zeros((len(self), self.num_classes), np.float32)
      for i, ls in enumerate(self.labels):
        out[i, list(ls)] = 1.0
      return out
    return np.array([ls[0] for ls in self.labels], np.int32)

  def take(self, n: int) -> "VideoList":
    """The first n videos (n <= 0 keeps all)."""
    if n <= 0 or n >= len(self):
      return self
    return dataclasses.replace(
        self, files=self.files[:n], keys=self.keys[:n], labels=self.labels[:n]
    )


# ----------------------------------------------------------------------------------------
# Files (local or gs://).


def _gfile():
  tf = frame_store.import_tf()
  return tf.io.gfile


def _exists(path: str) -> bool:
  if frame_store.is_remote(path):
    return _gfile().exists(path)
  return os.path.exists(path)


def _read(path: str) -> str:
  if frame_store.is_remote(path):
    with _gfile().GFile(path, "r") as f:
      return f.read()
  with open(path, encoding="utf-8") as f:
    return f.read()


def find_annotation(root: str, *names: str) -> str:
  """The first of `names` found in `root` or `root/annotations`.

  Raises:
    FileNotFoundError: naming the places searched.
  """
  tried = []
  for name in names:
    for d in (root, frame_store.join(root, "annotations")):
      path = frame_store.join(d, name)
      tried.append(path)
      if _exists(path):
        return path
  raise FileNotFoundError("annotation file not found; looked for: " + ", ".join(tried))


# ----------------------------------------------------------------------------------------
# Mapping annotations onto the store.


class _Store:
  """Resolves annotation paths/ids to store keys."""

  def __init__(self, root: str):
    self.root = root
    self.manifest = frame_store.read_manifest(root)
    self.by_name: dict[str, str | None] = {}
    if self.manifest is not None:
      # The manifest says what was converted; a listing (not a read) says what is
      # still there, so a deleted file is reported missing at start-up.
      stored = _stored_keys(root, len(self.manifest))
      self.manifest = {k: v for k, v in self.manifest.items() if k in stored}
      for key in self.manifest:
        name = posixpath.basename(key)
        # Two keys with one file name: the name alone is ambiguous.
        self.by_name[name] = None if name in self.by_name else key

  def resolve(self, path_or_id: str) -> str | None:
    """The store key of an annotation's video, or None when the store lacks it."""
    key = posixpath.splitext(re.sub(r"^(\./)+", "", path_or_id.replace("\\", "/")))[0]
    name = posixpath.basename(key)
    if self.manifest is not None:
      if key in self.manifest:
        return key
      return self.by_name.get(name)
    # No manifest (a store copied without it): ask the file system.
    for k in (key, name):
      if _exists(frame_store.video_path(self.root, k)):
        return k
    return None

  def build(
      self,
      entries: Sequence[tuple[str, tuple[int, ...]]],
      class_names: Sequence[str],
      multi_label: bool = False,
      flip_map: np.ndarray | None = None,
  ) -> VideoList:
    files, keys, labels, missing = [], [], [], []
    for path, ls in entries:
      key = self.resolve(path)
      if key is None:
        missing.append(path)
        continue
      files.append(frame_store.video_path(self.root, key))
      keys.append(key)
      labels.append(tuple(ls))
    return VideoList(
        files=files,
        keys=keys,
        labels=labels,
        class_names=list(class_names),
        multi_label=multi_label,
        flip_map=flip_map,
        missing=missing,
    )


def flip_map_from_pairs(num_classes: int, pairs: Sequence[Sequence[int]]) -> np.ndarray | None:
  """int32 [C] permutation swapping each pair, or None for no pairs."""
  if not pairs:
    return None
  m = np.arange(num_classes, dtype=np.int32)
  for a, b in pairs:
    m[a], m[b] = b, a
  return m


def flip_map_from_names(class_names: Sequence[str]) -> np.ndarray | None:
  """Pairs classes whose names differ only by 'left' <-> 'right' (e.g. SSv2's
  "Pushing something from left to right"); None when there are none."""
  index = {n: i for i, n in enumerate(class_names)}
  swap = {"left": "right", "right": "left"}
  pairs = set()
  for i, name in enumerate(class_names):
    other = re.sub(r"\b(left|right)\b", lambda m: swap[m.group(1)], name)
    j = index.get(other)
    if j is not None and j != i:
      pairs.add(tuple(sorted((i, j))))
  return flip_map_from_pairs(len(class_names), sorted(pairs))


# ----------------------------------------------------------------------------------------
# Kinetics (and any `path label` csv).


def _class_file(root: str) -> tuple[list[str] | None, list[list[int]]]:
  """Class names and flip pairs from classes.json / classes.txt, if present."""
  for d in (root, frame_store.join(root, "annotations")):
    path = frame_store.join(d, "classes.json")
    if _exists(path):
      doc = json.loads(_read(path))
      return list(doc["classes"]), [list(p) for p in doc.get("flip_pairs", [])]
    path = frame_store.join(d, "classes.txt")
    if _exists(path):
      return [l.strip() for l in _read(path).splitlines() if l.strip()], []
  return None, []


def _parse_kinetics_csv(text: str) -> list[tuple[str, str]]:
  """(path or key, label) rows of a Kinetics-style csv."""
  rows = []
  lines = [l for l in text.splitlines() if l.strip()]
  if lines and lines[0].replace(" ", "").lower().startswith("label,youtube_id"):
    # The official annotation csv: videos are named <id>_<start>_<end>.
    for r in csv.DictReader(io.StringIO("\n".join(lines))):
      key = f"{r['youtube_id']}_{int(float(r['time_start'])):06d}_{int(float(r['time_end'])):06d}"
      rows.append((key, r["label"]))
    return rows
  for i, line in enumerate(lines):
    if "," in line:
      path, _, label = line.rpartition(",")
    else:
      path, _, label = line.strip().rpartition(" ")
    path, label = path.strip().strip('"'), label.strip().strip('"')
    if i == 0 and path.lower() in ("path", "video", "file", "filename", "video_path"):
      continue
    rows.append((path, label))
  return rows


def kinetics(root: str, split: str) -> VideoList:
  """Kinetics-400/600 (or any `path label` csv dataset, e.g. the synthetic one).

  Args:
    root: the dataset root (store + annotations).
    split: the split; its annotations are `{split}.csv` (or `.txt`).

  Returns:
    The split's videos; class ids follow the class file, or the sorted names of all
    csv files of the root when labels are names.
  """
  path = find_annotation(root, f"{split}.csv", f"{split}.txt")
  rows = _parse_kinetics_csv(_read(path))
  class_names, flip_pairs = _class_file(root)
  numeric = all(re.fullmatch(r"-?\d+", l) for _, l in rows)
  if class_names is None:
    if numeric:
      n = max([int(l) for _, l in rows], default=-1) + 1
      class_names = [str(i) for i in range(n)]
    else:
      # Names from every split's csv, so that all splits agree on the ids.
      names = set()
      directory = posixpath.dirname(path)
      for other in _list_dir(directory):
        if other.endswith((".csv", ".txt")) and not other.startswith("classes"):
          names.update(l for _, l in _parse_kinetics_csv(_read(frame_store.join(directory, other))))
      class_names = sorted(names)
  index = {n: i for i, n in enumerate(class_names)}
  entries = []
  for p, l in rows:
    entries.append((p, (int(l) if numeric else index[l],)))
  store = _Store(root)
  return store.build(
      entries, class_names, flip_map=flip_map_from_pairs(len(class_names), flip_pairs)
  )


@functools.lru_cache(maxsize=16)
def _stored_keys(root: str, manifest_size: int) -> frozenset[str]:
  """The keys of the video files in a store's `videos/` directory (one listing).

  A run loads its splits several times (start-up, every precise BN and evaluation), and
  listing a remote store of 240k files takes many seconds: one listing per store and
  process serves them all. `manifest_size` is part of the cache key, so a store that a
  conversion extended is listed again; a file deleted after the listing is caught at
  load time (its clips are replaced and the file named).
  """
  directory = frame_store.join(root, frame_store.VIDEOS_DIR)
  walk = _gfile().walk if frame_store.is_remote(directory) else os.walk
  keys = set()
  for parent, _, names in walk(directory):
    relative = posixpath.relpath(
        str(parent).rstrip("/").replace(os.sep, "/"), directory.rstrip("/").replace(os.sep, "/")
    )
    for name in names:
      if name.endswith(frame_store.FILE_SUFFIX):
        key = posixpath.join(relative, name[: -len(frame_store.FILE_SUFFIX)])
        keys.add(posixpath.normpath(key))
  return frozenset(keys)


def _list_dir(directory: str) -> list[str]:
  if frame_store.is_remote(directory):
    return [n.rstrip("/") for n in _gfile().listdir(directory)]
  return sorted(os.listdir(directory))


# ----------------------------------------------------------------------------------------
# Something-Something V2.

_SSV2_SPLITS = {"train": "train", "val": "validation", "validation": "validation"}


def ssv2(root: str, split: str) -> VideoList:
  """Something-Something V2 from its json files.

  Args:
    root: the dataset root.
    split: "train" or "val"/"validation".

  Returns:
    The split's videos; labels are the template ids of the labels file. The flip map
    pairs left/right templates (the recipe trains without flips).
  """
  if split not in _SSV2_SPLITS:
    raise ValueError(f"Something-Something V2 split {split!r}: use one of {sorted(_SSV2_SPLITS)}")
  label_map = json.loads(_read(find_annotation(root, "something-something-v2-labels.json")))
  class_names = [n for n, _ in sorted(label_map.items(), key=lambda kv: int(kv[1]))]
  annotations = json.loads(
      _read(find_annotation(root, f"something-something-v2-{_SSV2_SPLITS[split]}.json"))
  )
  entries = []
  for a in annotations:
    template = a["template"].replace("[", "").replace("]", "")
    entries.append((str(a["id"]), (int(label_map[template]),)))
  return _Store(root).build(entries, class_names, flip_map=flip_map_from_names(class_names))


# ----------------------------------------------------------------------------------------
# Charades.

_CHARADES_SPLITS = {"train": "train", "val": "test", "test": "test"}


def charades_actions(text: str) -> list[tuple[int, float, float]]:
  """Parses a Charades `actions` field ("c092 11.90 21.20;c147 0.00 12.60").

  Returns:
    (class id, start seconds, end seconds) of each action interval.
  """
  out = []
  for part in text.split(";"):
    fields = part.split()
    if len(fields) == 3:
      out.append((int(fields[0][1:]), float(fields[1]), float(fields[2])))
  return out


def charades(root: str, split: str) -> VideoList:
  """Charades: multi-label, each video labelled with the classes of its intervals.

  Args:
    root: the dataset root.
    split: "train" or "val"/"test".

  Returns:
    The split's videos (multi-label).
  """
  if split not in _CHARADES_SPLITS:
    raise ValueError(f"Charades split {split!r}: use one of {sorted(_CHARADES_SPLITS)}")
  class_lines = _read(find_annotation(root, "Charades_v1_classes.txt")).splitlines()
  class_names = [
      l.strip().split(" ", 1)[1] if " " in l.strip() else l.strip()
      for l in class_lines
      if l.strip()
  ]
  text = _read(find_annotation(root, f"Charades_v1_{_CHARADES_SPLITS[split]}.csv"))
  entries = []
  for r in csv.DictReader(io.StringIO(text)):
    classes = sorted({c for c, _, _ in charades_actions(r.get("actions") or "")})
    entries.append((r["id"], tuple(classes)))
  return _Store(root).build(entries, class_names, multi_label=True)


# ----------------------------------------------------------------------------------------
# By config.

_READERS = {"kinetics": kinetics, "synthetic": kinetics, "ssv2": ssv2, "charades": charades}


def load(config, split: str | None = None, *, root: str | None = None) -> VideoList:
  """The videos of a split of the config's dataset, logging any missing from the store.

  Args:
    config: the experiment config (`config.data.dataset`, `config.data.root`).
    split: the split (default `config.data.train_split`).
    root: overrides `config.data.root`.

  Returns:
    The split's videos present in the store.

  Raises:
    ValueError: for an unknown dataset, an empty root, or a split with no video.
  """
  dataset = config.data.dataset
  if dataset not in _READERS:
    raise ValueError(f"config.data.dataset = {dataset!r}: no reader (known: {sorted(_READERS)})")
  root = root or config.data.root
  if not root:
    raise ValueError(
        "config.data.root is empty: set it to the frame store directory"
        " (the synthetic dataset sets it from synthetic.ensure_dataset)"
    )
  split = split or config.data.train_split
  videos = _READERS[dataset](root, split)
  total = len(videos) + len(videos.missing)
  if videos.missing:
    logging.warning(
        "%s/%s: %d of %d videos are missing from the frame store %s (e.g. %s);"
        " training uses the %d present.",
        dataset,
        split,
        len(videos.missing),
        total,
        root,
        ", ".join(videos.missing[:3]),
        len(videos),
    )
  else:
    logging.info("%s/%s: all %d videos present in %s.", dataset, split, total, root)
  if not len(videos):
    raise ValueError(f"{dataset}/{split}: none of the {total} annotated videos is in {root}")
  return videos
