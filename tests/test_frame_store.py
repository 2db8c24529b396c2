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
"""Tests of the frame-store format (mgjax/data/frame_store.py)."""

import io
import os

import numpy as np
from PIL import Image

from mgjax.data import frame_store

tf = frame_store.import_tf()


def _jpeg(value: int) -> bytes:
  buf = io.BytesIO()
  Image.fromarray(np.full((6, 10, 3), value, np.uint8)).save(buf, format="JPEG", quality=95)
  return buf.getvalue()


def _record() -> frame_store.VideoRecord:
  return frame_store.VideoRecord(
      frames=[_jpeg(v) for v in (0, 100, 200)],
      height=6,
      width=10,
      fps=29.97,
      video_id="class a/vid_01",
      source="/data/class a/vid_01.mp4",
      labels=(3, 0, 2**40, -1),
      label_names=("café", "b"),
  )


def test_serialize_is_a_sequence_example():
  """The hand-written wire format is what TensorFlow's proto class parses and writes."""
  r = _record()
  blob = frame_store.serialize(r)
  proto = tf.train.SequenceExample.FromString(blob)
  ctx = proto.context.feature
  assert ctx[frame_store.ID].bytes_list.value == [r.video_id.encode()]
  assert list(ctx[frame_store.LABELS].int64_list.value) == list(r.labels)
  assert [v.decode() for v in ctx[frame_store.LABEL_NAMES].bytes_list.value] == ["café", "b"]
  assert ctx[frame_store.NUM_FRAMES].int64_list.value == [3]
  np.testing.assert_allclose(ctx[frame_store.FPS].float_list.value, [29.97], rtol=1e-6)
  frames = proto.feature_lists.feature_list[frame_store.FRAMES].feature
  assert [f.bytes_list.value[0] for f in frames] == r.frames
  # Same message as TensorFlow's own serialisation of it.
  assert tf.train.SequenceExample.FromString(proto.SerializeToString()) == proto


def test_parse_in_graph_and_decode():
  r = _record()
  parsed = tf.function(frame_store.parse)(tf.constant(frame_store.serialize(r)))
  assert int(parsed["num_frames"]) == 3
  assert (int(parsed["height"]), int(parsed["width"])) == (6, 10)
  assert parsed["labels"].numpy().tolist() == list(r.labels)
  assert parsed["source"].numpy().decode() == r.source
  pixels = [int(tf.image.decode_jpeg(f).numpy().mean()) for f in parsed["frames"]]
  assert [abs(p - v) <= 2 for p, v in zip(pixels, (0, 100, 200))] == [True] * 3


def test_empty_lists_and_read_write(tmp_path):
  r = frame_store.VideoRecord(frames=[_jpeg(50)], height=6, width=10, video_id="x")
  path = frame_store.write(str(tmp_path), r)
  assert path == os.path.join(str(tmp_path), "videos", "x.seqex")
  back = frame_store.read(path)
  assert back.frames == r.frames and back.labels == () and back.label_names == ()
  assert back.video_id == "x" and back.fps == 0.0
  # No temporary file left behind by the atomic write.
  assert os.listdir(os.path.join(str(tmp_path), "videos")) == ["x.seqex"]


def test_manifest_round_trip_ignores_torn_lines(tmp_path):
  store = str(tmp_path)
  assert frame_store.read_manifest(store) is None
  entries = [
      frame_store.ManifestEntry(
          key=k, source=f"/v/{k}.mp4", num_frames=n, fps=25.0, height=64, width=80, labels=(n,)
      )
      for k, n in (("b", 2), ("a", 1))
  ]
  frame_store.write_manifest(store, entries)
  with open(os.path.join(store, frame_store.MANIFEST), encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert [l.split('"key": "')[1][0] for l in lines] == ["a", "b"]  # Sorted by key.
  # An interrupted append leaves a partial line; a re-listed key keeps its last entry.
  with open(os.path.join(store, frame_store.MANIFEST), "a", encoding="utf-8") as f:
    f.write(entries[0].to_json().replace('"num_frames": 2', '"num_frames": 7') + "\n")
    f.write('{"key": "c", "sour')
  m = frame_store.read_manifest(store)
  assert sorted(m) == ["a", "b"]
  assert m["b"].num_frames == 7 and m["a"].labels == (1,)


def test_remote_paths_use_gfile():
  """`ram://` goes through tf.io.gfile, as gs:// does."""
  store = "ram://frame_store_test"
  frame_store.atomic_write(frame_store.video_path(store, "v"), frame_store.serialize(_record()))
  frame_store.write_manifest(store, [frame_store.ManifestEntry("v", "s", 3, 1.0, 6, 10)])
  assert list(frame_store.read_manifest(store)) == ["v"]
  assert frame_store.read(frame_store.video_path(store, "v")).frames == _record().frames
