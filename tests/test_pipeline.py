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
"""Tests of the input pipelines (mgjax/data/pipeline.py) on a tiny synthetic store."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

import data_testlib
from mgjax import multigrid
from mgjax.data import datasets
from mgjax.data import frame_store
from mgjax.data import pipeline
from mgjax.data import sampling
from mgjax.data import synthetic

tf = pipeline.tf


@pytest.fixture(scope="module")
def root(tmp_path_factory):
  return data_testlib.tiny_synthetic(tmp_path_factory)


@pytest.fixture(scope="module")
def config(root):
  return data_testlib.tiny_config(root)


@pytest.fixture(scope="module")
def plan(config):
  return multigrid.Plan.from_config(config)


@pytest.fixture(scope="module")
def full_run(config, plan):
  """Every batch of the 12-step plan, one host, with metadata."""
  return list(pipeline.train_dataset(config, plan, 0, with_metadata=True))


def _video_index(config, k):
  return int(sampling.video_index(k, config.data.num_train_examples, config.seed))


def test_shapes_draws_and_labels_follow_the_plan(config, plan, full_run):
  table = plan.step_table()
  assert len(full_run) == plan.num_steps == 12
  # The plan crosses segments and short-cycle positions; the batches follow it.
  assert len(set(table["segment"].tolist())) > 3 and set(table["short_cycle_index"]) == {0, 1}
  videos = datasets.load(config, "train")
  fmap = synthetic.flip_map()
  for k, b in enumerate(full_run):
    bsz, t, s = (int(table[c][k]) for c in ("batch_size", "num_frames", "crop_size"))
    assert b["video"].shape == (bsz, t, s, s, 3) and b["video"].dtype == np.uint8
    assert b["label"].shape == (bsz,) and b["label"].dtype == np.int32
    assert b["failed"] == 0 and b["step"] == k
    np.testing.assert_array_equal(b["example"], table["example_offset"][k] + np.arange(bsz))
    assert [int(v) for v in b["video_index"][:4]] == [
        _video_index(config, e) for e in b["example"][:4]
    ]
    lo, hi = table["stride_lo"][k], table["stride_hi"][k]
    assert np.all((lo <= b["stride"]) & (b["stride"] <= hi))
    if hi > lo and bsz >= 32:
      assert len(set(b["stride"].tolist())) > 1  # Drawn per clip.
    assert np.all((table["jitter_lo"][k] <= b["scale"]) & (b["scale"] <= table["jitter_hi"][k]))
    # The crop box is the S-crop of the frame rescaled to `scale` (64-pixel short side).
    np.testing.assert_array_equal(b["crop"][:, 2], np.clip(np.round(s * 64 / b["scale"]), 1, 64))
    assert np.all(b["crop"][:, 0] + b["crop"][:, 2] <= 64)
    assert np.all(b["crop"][:, 1] + b["crop"][:, 2] <= 80)
    steps = np.diff(b["frame_indices"], axis=1)
    unclamped = b["frame_indices"][:, 1:] < data_testlib.TINY.num_frames - 1
    assert np.all((steps == b["stride"][:, None]) | ~unclamped)
    truth = np.array([int(videos.keys[v]) % synthetic.NUM_CLASSES for v in b["video_index"]])
    np.testing.assert_array_equal(b["label"], np.where(b["flipped"], fmap[truth], truth))
  assert 0.3 < np.mean(np.concatenate([b["flipped"] for b in full_run])) < 0.7


def test_resume_gives_the_same_batches(config, plan, full_run):
  """A pipeline started at step 5 (mid-run, before a segment boundary) yields the batches
  a pipeline started at 0 yields from step 5 on."""
  resumed = list(pipeline.train_dataset(config, plan, 5, stop_step=9, with_metadata=True))
  assert [int(b["step"]) for b in resumed] == [5, 6, 7, 8]
  for a, b in zip(full_run[5:9], resumed):
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_hosts_compose_to_the_global_batch(config, plan, full_run):
  for count in (2, 4):
    parts = [
        list(pipeline.train_dataset(config, plan, 0, p, count, stop_step=4)) for p in range(count)
    ]
    for k in range(4):
      for key in ("video", "label"):
        np.testing.assert_array_equal(
            np.concatenate([parts[p][k][key] for p in range(count)]),
            full_run[k][key],
            err_msg=f"{count} hosts, step {k}, {key}",
        )
  with pytest.raises(ValueError, match="divide"):
    pipeline.train_dataset(config, plan, 0, 0, 3)


def test_decoded_clip_matches_a_reference_decode(root, config, full_run):
  """Cropped decoding + resize equals decoding whole frames, cropping, resizing."""
  b = full_run[1]
  videos = datasets.load(config, "train")
  for i in range(3):
    record = frame_store.read(videos.files[int(b["video_index"][i])])
    y, x, size = b["crop"][i]
    s = b["video"].shape[2]
    frames = np.stack(
        [tf.image.decode_jpeg(record.frames[j]).numpy() for j in b["frame_indices"][i]]
    )
    ref = tf.image.resize(frames[:, y : y + size, x : x + size], [s, s]).numpy()
    ref = np.clip(np.round(ref), 0, 255)
    if b["flipped"][i]:
      ref = ref[:, :, ::-1]
    assert np.abs(ref - b["video"][i]).mean() < 1.0


def test_flip_mirrors_the_clip_and_swaps_labels(config, plan, full_run):
  no_flip = data_testlib.tiny_config(config.data.root, **{"data.flip": False})
  plain = list(pipeline.train_dataset(no_flip, plan, 0, stop_step=2, with_metadata=True))
  fmap = synthetic.flip_map()
  for a, b in zip(full_run[:2], plain):
    assert not b["flipped"].any()
    np.testing.assert_array_equal(a["video_index"], b["video_index"])  # Same draws otherwise.
    f = a["flipped"]
    assert f.any() and (~f).any()
    np.testing.assert_array_equal(a["video"][f], b["video"][f][:, :, :, ::-1])
    np.testing.assert_array_equal(a["video"][~f], b["video"][~f])
    np.testing.assert_array_equal(a["label"][f], fmap[b["label"][f]])


def test_multi_label_and_flip(config, plan):
  videos = datasets.load(config, "train")
  multi = dataclasses.replace(
      videos, multi_label=True, labels=[(l[0], (l[0] + 4) % 12) for l in videos.labels]
  )
  b = next(pipeline.train_dataset(config, plan, 0, videos=multi, with_metadata=True))
  assert b["label"].shape == (128, 12) and b["label"].dtype == np.float32
  fmap = synthetic.flip_map()
  for i in range(16):
    truth = set(multi.labels[int(b["video_index"][i])])
    if b["flipped"][i]:
      truth = {int(fmap[c]) for c in truth}
    assert set(np.flatnonzero(b["label"][i]).tolist()) == truth


def test_segment_sampling_without_flips(config, plan):
  ssv2 = data_testlib.tiny_config(
      config.data.root, **{"data.sampling": "segment", "data.flip": False}
  )
  for b in pipeline.train_dataset(ssv2, plan, 0, stop_step=4, with_metadata=True):
    t = b["video"].shape[1]
    start, end = (x.numpy() for x in sampling.segment_bounds(data_testlib.TINY.num_frames, t))
    assert np.all((start <= b["frame_indices"]) & (b["frame_indices"] <= end))
    assert not b["flipped"].any() and np.all(b["stride"] == 0)
    if t > 1:
      assert len({tuple(r) for r in b["frame_indices"].tolist()}) > 1  # Random per clip.


def test_broken_files_are_replaced_counted_and_named(root, config, plan, tmp_path, caplog):
  store = str(tmp_path / "store")
  shutil.copytree(root, store, ignore=shutil.ignore_patterns("mp4"))
  videos = datasets.load(config, "train", root=store)
  with open(videos.files[0], "wb") as f:
    f.write(b"not a sequence example")
  record = frame_store.read(videos.files[3])
  record.frames[2:] = [b"\xff\xd8 broken jpeg"] * (len(record.frames) - 2)
  frame_store.atomic_write(videos.files[3], frame_store.serialize(record))
  with open(videos.files[6], "wb"):
    pass  # Emptied.
  bad = {0: "not a frame-store record", 3: "frame 2 of", 6: "empty file"}
  broken = data_testlib.tiny_config(store)

  def run():
    return list(pipeline.train_dataset(broken, plan, 0, stop_step=3, with_metadata=True))

  first = run()
  named = pipeline.BadVideos(broken, "train", str(tmp_path / "bad_videos.json"))
  for b in first:
    original = np.array([_video_index(config, e) for e in b["example"]])
    replaced = b["video_index"] != original
    # Clips of the unreadable videos are always replaced, those of video 3 when they
    # sample a broken frame, no other clip is, and the batch counts them and names the
    # videos that failed.
    assert b["failed"] == int(replaced.sum())
    assert np.all(np.isin(original[replaced], list(bad)))
    assert np.all(replaced[np.isin(original, [0, 6])])
    assert not np.isin(b["video_index"], [0, 6]).any()
    np.testing.assert_array_equal(b["bad_videos"][:, 0], np.where(replaced, original, -1))
    with caplog.at_level("WARNING"):
      named.add(b["bad_videos"])
  assert sum(int(b["failed"]) for b in first) > 0
  named.write()
  report = json.load(open(tmp_path / "bad_videos.json"))
  assert report == named.report() and {r["file"] for r in report} <= {videos.files[i] for i in bad}
  for row in report:
    i = videos.files.index(row["file"])
    assert row["reason"].startswith(bad[i]) and row["failed_clips"] >= 1
    assert caplog.text.count(row["file"]) == 1  # Logged once, with its reason.
  assert sum(r["failed_clips"] for r in report) == int(
      sum((b["bad_videos"] >= 0).sum() for b in first)
  )
  for a, b in zip(first, run()):  # Deterministic replacements.
    np.testing.assert_array_equal(a["video"], b["video"])
    np.testing.assert_array_equal(a["video_index"], b["video_index"])


def test_frame_store_diagnose_names_each_problem(root, tmp_path):
  videos = datasets.load(data_testlib.tiny_config(root), "train")
  assert frame_store.diagnose(videos.files[0]) == ""
  assert frame_store.diagnose(str(tmp_path / "gone.seqex")) == "missing file"
  record = frame_store.read(videos.files[0])
  record.frames = []
  path = str(tmp_path / "no_frames.seqex")
  frame_store.atomic_write(path, frame_store.serialize(record))
  assert frame_store.diagnose(path) == "no frames"


def test_eval_covers_every_video_once(config):
  videos = pipeline.eval_videos(config)
  assert len(videos) == 6
  expected = {(v, t, c) for v in range(6) for t in range(2) for c in range(3)}
  for count in (1, 2, 4):
    seen, padding = [], 0
    steps = pipeline.num_eval_steps(config, len(videos))
    for p in range(count):
      batches = list(pipeline.eval_dataset(config, p, count, with_metadata=True))
      assert len(batches) == steps == 5  # 36 views in global batches of 8.
      for b in batches:
        assert b["video"].shape == (8 // count, 8, 32, 32, 3) and b["failed"] == 0
        real = b["mask"] > 0
        padding += int((~real).sum())
        assert np.all(b["video_id"][~real] == -1) and not b["video"][~real].any()
        labels = videos.label_array()[b["video_id"][real]]
        np.testing.assert_array_equal(b["label"][real], labels)
        seen += list(
            zip(
                b["video_id"][real].tolist(),
                b["temporal_view"][real].tolist(),
                b["spatial_crop"][real].tolist(),
            )
        )
        # Left / centre / right crops of the 64x80 frames.
        for c, x in ((0, 0), (1, 8), (2, 16)):
          sel = real & (b["spatial_crop"] == c)
          assert np.all(b["crop"][sel] == [0, x, 64])
    assert len(seen) == len(set(seen)) and set(seen) == expected, count
    assert padding == 5 * 8 - 36


def test_eval_views_presets(config):
  c = config.copy_and_resolve_references()
  expected = {
      "10x3": (10, 3, 256),
      "center_224": (2, 1, 224),
      "3crop_224": (2, 3, 224),
      "3crop_256": (2, 3, 256),
      "custom": (2, 3, 32),
  }
  for preset, views in expected.items():
    c.eval.preset = preset
    c.eval.crop_size = 32 if preset == "custom" else 256
    assert pipeline.eval_views(c) == views, preset


def test_precise_bn_batches(config, plan):
  b0, t0, s0 = plan.base_shape
  a = list(pipeline.precise_bn_dataset(config, plan, 3, with_metadata=True))
  assert len(a) == 3
  for b in a:
    assert b["video"].shape == (b0, t0, s0, s0, 3)
    assert np.all(b["stride"] == config.data.sampling_rate)
    assert np.all((32 <= b["scale"]) & (b["scale"] <= 40))
  again = list(pipeline.precise_bn_dataset(config, plan, 3, with_metadata=True))
  other = list(pipeline.precise_bn_dataset(config, plan, 3, key=1, with_metadata=True))
  np.testing.assert_array_equal(a[2]["video"], again[2]["video"])
  assert not np.array_equal(
      np.stack([b["example"] for b in a]), np.stack([b["example"] for b in other])
  )
  halves = [list(pipeline.precise_bn_dataset(config, plan, 1, p, 2)) for p in range(2)]
  np.testing.assert_array_equal(np.concatenate([h[0]["video"] for h in halves]), a[0]["video"])


def test_prepare_builds_and_resolves_the_synthetic_dataset(tmp_path, config):
  c = data_testlib.tiny_config(
      "",
      **{
          "data.cache_dir": str(tmp_path),
          "data.synthetic_videos": 10,
          "data.num_train_examples": 1,
          "model.num_classes": 400,
      },
  )
  resolved = pipeline.prepare(c)
  assert c.data.root == "" and c.data.num_train_examples == 1  # The input is unchanged.
  assert resolved.data.root.startswith(str(tmp_path))
  assert resolved.data.num_train_examples == 8 and resolved.model.num_classes == 12
  unresolved = data_testlib.tiny_config(resolved.data.root)  # Says 24 training videos.
  with pytest.raises(ValueError, match="num_train_examples"):
    pipeline.train_dataset(unresolved, multigrid.Plan.from_config(unresolved))
