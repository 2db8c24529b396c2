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
"""Tests of the dataset manifest readers (mgjax/data/datasets.py)."""

import json
import logging
import os

import numpy as np
import pytest

from mgjax import config as config_lib
from mgjax.data import datasets
from mgjax.data import frame_store

tf = frame_store.import_tf()


def _store(root: str, keys) -> None:
  """A store manifest listing `keys`, and a (content-free) file for each: the readers
  consult the manifest and a listing of the files, never their contents."""
  frame_store.write_manifest(
      root, [frame_store.ManifestEntry(k, k + ".mp4", 10, 30.0, 256, 340) for k in keys]
  )
  for k in keys:
    frame_store.atomic_write(frame_store.video_path(root, k), b"x")


def test_a_file_deleted_after_conversion_is_missing_at_start_up(tmp_path, caplog):
  """The manifest still lists it; the listing of the store does not."""
  root = str(tmp_path)
  _store(root, ["train/a", "train/b", "c"])
  _write(os.path.join(root, "train.csv"), "train/a.mp4 3\ntrain/b.mp4 0\nc.mp4 7\n")
  os.unlink(frame_store.video_path(root, "train/b"))
  v = datasets.kinetics(root, "train")
  assert v.keys == ["train/a", "c"] and v.missing == ["train/b.mp4"]
  c = config_lib.base()
  c.data.root = root
  with caplog.at_level(logging.WARNING):
    assert len(datasets.load(c, "train")) == 2
  assert "1 of 3 videos are missing" in caplog.text and "train/b.mp4" in caplog.text


def _write(path: str, text: str) -> None:
  if frame_store.is_remote(path):
    with tf.io.gfile.GFile(path, "w") as f:
      f.write(text)
  else:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
      f.write(text)


def test_kinetics_path_label_csv_and_missing(tmp_path, caplog):
  root = str(tmp_path)
  _store(root, ["train/a", "train/b", "c", "val/d"])
  _write(
      os.path.join(root, "train.csv"),
      "train/a.mp4 3\ntrain/b.mp4 0\n/abs/dir/c.mp4 7\ntrain/gone.mp4 1\n",
  )
  v = datasets.kinetics(root, "train")
  assert v.keys == ["train/a", "train/b", "c"]  # c by its file name.
  assert v.files[0] == frame_store.video_path(root, "train/a")
  assert v.label_array().tolist() == [3, 0, 7] and v.missing == ["train/gone.mp4"]
  assert v.num_classes == 8 and v.flip_map is None and not v.multi_label
  c = config_lib.base()
  c.data.root = root
  with caplog.at_level(logging.WARNING):
    assert len(datasets.load(c, "train")) == 3
  assert "1 of 4 videos are missing" in caplog.text


def test_kinetics_names_official_csv_and_class_file(tmp_path):
  root = str(tmp_path)
  _store(root, ["x1_000010_000020", "x2_000000_000010", "v1", "v2"])
  _write(
      os.path.join(root, "annotations", "train.csv"),
      "label,youtube_id,time_start,time_end,split\n"
      'riding bike,x1,10,20,train\n"abseiling",x2,0,10,train\n',
  )
  _write(
      os.path.join(root, "annotations", "val.csv"), "path,label\nv1.mp4,zumba\nv2.mp4,abseiling\n"
  )
  train, val = datasets.kinetics(root, "train"), datasets.kinetics(root, "val")
  # Names from every split's csv: both splits agree on the ids.
  assert train.class_names == val.class_names == ["abseiling", "riding bike", "zumba"]
  assert train.label_array().tolist() == [1, 0] and val.label_array().tolist() == [2, 0]
  _write(
      os.path.join(root, "classes.json"),
      json.dumps({"classes": ["zumba", "riding bike", "abseiling"], "flip_pairs": [[0, 2]]}),
  )
  val = datasets.kinetics(root, "val")
  assert val.label_array().tolist() == [0, 2] and val.flip_map.tolist() == [2, 1, 0]


def test_remote_root_through_gfile():
  """Any tf.io.gfile URL works as a root (ram:// here, gs:// in the cloud), with or
  without a store manifest."""
  root = "ram://datasets_test"
  _write(frame_store.join(root, "train.csv"), "a 1\nb 0\n")
  for key in ("a",):
    frame_store.atomic_write(frame_store.video_path(root, key), b"x")
  v = datasets.kinetics(root, "train")  # No manifest: file existence decides.
  assert v.keys == ["a"] and v.missing == ["b"] and v.files == [root + "/videos/a.seqex"]
  _store(root, ["a", "b"])
  assert datasets.kinetics(root, "train").keys == ["a", "b"]


def test_ssv2(tmp_path):
  root = str(tmp_path)
  labels = {
      "Pushing something from left to right": "0",
      "Holding something": "1",
      "Pushing something from right to left": "2",
      "Moving something up": "3",
  }
  _write(os.path.join(root, "something-something-v2-labels.json"), json.dumps(labels))
  ann = [
      {
          "id": "11",
          "label": "pushing a cup from left to right",
          "template": "Pushing [something] from left to right",
          "placeholders": ["a cup"],
      },
      {
          "id": "12",
          "label": "holding a pen",
          "template": "Holding [something]",
          "placeholders": ["a pen"],
      },
      {"id": "13", "label": "x", "template": "Moving [something] up", "placeholders": ["x"]},
  ]
  _write(os.path.join(root, "something-something-v2-validation.json"), json.dumps(ann))
  _store(root, ["11", "12"])
  v = datasets.ssv2(root, "val")
  assert v.keys == ["11", "12"] and v.label_array().tolist() == [0, 1] and v.missing == ["13"]
  assert v.class_names[2] == "Pushing something from right to left"
  assert v.flip_map.tolist() == [2, 1, 0, 3]  # Left/right templates pair up.
  with pytest.raises(ValueError, match="split"):
    datasets.ssv2(root, "test")


def test_charades_label_sets(tmp_path):
  root = str(tmp_path)
  _write(
      os.path.join(root, "Charades_v1_classes.txt"),
      "c000 Holding some clothes\nc001 Putting clothes somewhere\nc002 Taking a laptop\n",
  )
  _write(
      os.path.join(root, "Charades_v1_test.csv"),
      "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
      'AAA,s,Kitchen,6,7,Yes,"a, b",x,"d","c002 1.0 5.5;c000 0.0 3.2;c002 7.0 9.0",30.0\n'
      "BBB,s,Hall,6,7,Yes,x,x,d,,12.0\n",
  )
  _store(root, ["AAA", "BBB"])
  v = datasets.charades(root, "val")
  assert v.multi_label and v.class_names[2] == "Taking a laptop"
  assert v.labels == [(0, 2), ()]
  np.testing.assert_array_equal(v.label_array(), [[1, 0, 1], [0, 0, 0]])
  assert datasets.charades_actions("c092 11.90 21.20;c147 0.00 12.60") == [
      (92, 11.9, 21.2),
      (147, 0.0, 12.6),
  ]


def test_load_errors(tmp_path):
  c = config_lib.base()
  with pytest.raises(ValueError, match="root is empty"):
    datasets.load(c)
  _store(str(tmp_path), [])
  _write(os.path.join(str(tmp_path), "train.csv"), "a 0\n")
  c.data.root = str(tmp_path)
  with pytest.raises(ValueError, match="none of the 1 annotated videos"):
    datasets.load(c)
  with pytest.raises(FileNotFoundError, match="val.csv"):
    datasets.load(c, "val")


def test_flip_map_from_names():
  names = ["turn left", "turn right", "left", "rightward", "right"]
  assert datasets.flip_map_from_names(names).tolist() == [1, 0, 4, 3, 2]
  assert datasets.flip_map_from_names(["a", "b"]) is None
  assert datasets.flip_map_from_pairs(3, [[0, 1]]).tolist() == [1, 0, 2]
