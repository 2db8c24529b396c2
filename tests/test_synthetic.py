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
"""Tests of the synthetic motion dataset (mgjax/data/synthetic.py)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import data_testlib
from mgjax import config as config_lib
from mgjax.data import frame_store
from mgjax.data import synthetic


def test_labels_splits_and_flip_map():
  assert synthetic.NUM_CLASSES == len(synthetic.CLASS_NAMES) >= 8
  m = synthetic.flip_map()
  np.testing.assert_array_equal(m[m], np.arange(synthetic.NUM_CLASSES))  # An involution.
  swap = {
      "left": "right",
      "right": "left",
      "clockwise": "counterclockwise",
      "counterclockwise": "clockwise",
  }
  for c, name in enumerate(synthetic.CLASS_NAMES):
    flipped = "_".join(swap.get(w, w) for w in name.split("_"))
    assert synthetic.CLASS_NAMES[m[c]] == flipped, (name, flipped)
  # Every fifth video is held out; blocks of 60 alternate their held-out videos between
  # val and test.
  assert synthetic.split_sizes(2000) == (1600, 204, 196)
  assert synthetic.split_sizes(60) == (48, 12, 0)
  labels = {
      s: [synthetic.label_of(i) for i in range(1200) if synthetic.split_of(i) == s]
      for s in synthetic.SPLITS
  }
  assert set(np.bincount(labels["train"])) == {80}  # Balanced.
  assert set(np.bincount(labels["val"])) == set(np.bincount(labels["test"])) == {10}
  assert [i for i in range(120) if synthetic.split_of(i) == "test"] == list(range(64, 120, 5))


def _ks_uniform(x: np.ndarray) -> float:
  x = np.sort(x)
  n = len(x)
  return float(np.max(np.maximum(np.arange(1, n + 1) / n - x, x - np.arange(n) / n)))


def test_a_single_frame_carries_no_class_information():
  """At any frame, position, orientation and size follow the same law for every class:
  uniform position and angle, log-uniform size (uniform `phase`)."""
  h, w, t = 64, 80, 40
  for label in range(synthetic.NUM_CLASSES):
    rng = np.random.default_rng(label)
    samples = {k: [] for k in ("y", "x", "angle", "phase")}
    n = 1000
    for _ in range(n):
      s = synthetic.motion_states(label, rng, t, h, w, num_objects=1)
      frame = rng.integers(t)
      for k in samples:
        samples[k].append(s[k][0, frame])
    scale = {"y": h, "x": w, "angle": 2 * np.pi, "phase": 1.0}
    for k, v in samples.items():
      d = _ks_uniform(np.array(v) / scale[k])
      # Kolmogorov-Smirnov at p ~ 1e-6 (48 checks); a class-dependent law gives D ~ 0.3.
      assert d < 2.6 / np.sqrt(n), (synthetic.CLASS_NAMES[label], k, d)


def test_motion_follows_the_class():
  h, w, t = 64, 80, 40
  rng = np.random.default_rng(0)
  for label, name in enumerate(synthetic.CLASS_NAMES):
    s = synthetic.motion_states(label, rng, t, h, w, num_objects=2)
    wrap = lambda d, p: (d + p / 2) % p - p / 2
    dy = wrap(np.diff(s["y"]), h).mean()
    dx = wrap(np.diff(s["x"]), w).mean()
    da = wrap(np.diff(s["angle"]), 2 * np.pi).mean()
    dz = wrap(np.diff(s["phase"]), 1.0).mean()
    words = name.split("_")
    assert np.sign(np.round(dx, 6)) == (1 if "right" in words else -1 if "left" in words else 0)
    assert np.sign(np.round(dy, 6)) == (1 if "down" in words else -1 if "up" in words else 0)
    assert np.sign(np.round(da, 6)) == (
        1 if "clockwise" in words else -1 if "counterclockwise" in words else 0
    )
    assert np.sign(np.round(dz, 6)) == (1 if name == "zoom_in" else -1 if name == "zoom_out" else 0)
    # Unambiguous up to stride 8: less than half a period between sampled frames.
    assert 8 * max(abs(dy) / h, abs(dx) / w, abs(da) / (2 * np.pi), abs(dz)) < 0.5


def test_render_is_deterministic_and_moves():
  p = synthetic.Params(num_frames=12)
  a, la = synthetic.render_video(5, p)
  b, lb = synthetic.render_video(5, p)
  c, _ = synthetic.render_video(5, synthetic.Params(num_frames=12, seed=1))
  assert a.shape == (12, 64, 80, 3) and a.dtype == np.uint8 and la == lb == 5
  np.testing.assert_array_equal(a, b)
  assert np.abs(a.astype(int) - c).mean() > 5
  assert np.abs(np.diff(a.astype(int), axis=0)).mean() > 1  # Frames differ.


def test_composite_labels_splits_and_flip_map():
  names = synthetic.class_names("composite")
  assert synthetic.num_classes("composite") == len(names) == len(set(names)) >= 24
  m = synthetic.flip_map("composite")
  np.testing.assert_array_equal(m[m], np.arange(len(names)))
  swap = {"left": "right", "right": "left", "clockwise": "counterclockwise"}
  swap["counterclockwise"] = "clockwise"
  for c, name in enumerate(names):
    assert names[m[c]] == "_".join(swap.get(w, w) for w in name.split("_")), name
  # "a_then_b" and "b_then_a" are both classes: the order is the class.
  assert {"left_then_up", "up_then_left", "right_then_left"} <= set(names)
  # 60 / 10 / 30%, every split balanced over each block of 300 videos.
  assert synthetic.split_sizes(3000, "composite") == (1800, 300, 900)
  for split, per_class in (("train", 6), ("val", 1), ("test", 3)):
    labels = [
        synthetic.label_of(i, "composite")
        for i in range(300)
        if synthetic.split_of(i, "composite") == split
    ]
    assert set(np.bincount(labels, minlength=len(names))) == {per_class}, split


def _composite_actor(label, rng, t=40, h=64, w=80):
  pair = synthetic.COMPOSITE_PAIRS[label]
  return synthetic.composite_states([pair], rng, t, h, w, camera=(0.3, -0.2))


def test_composite_single_frame_carries_no_class_information():
  """The actor's position and orientation are uniform at any frame, whatever its class."""
  h, w, t = 64, 80, 40
  for label in range(synthetic.num_classes("composite")):
    rng = np.random.default_rng(label)
    samples = {k: [] for k in ("y", "x", "angle")}
    n = 600
    for _ in range(n):
      s = _composite_actor(label, rng, t, h, w)
      frame = rng.integers(t)
      for k in samples:
        samples[k].append(s[k][0, frame])
    scale = {"y": h, "x": w, "angle": 2 * np.pi}
    for k, v in samples.items():
      d = _ks_uniform(np.array(v) / scale[k])
      # Kolmogorov-Smirnov at p ~ 1e-6 (90 checks).
      assert d < 2.7 / np.sqrt(n), (synthetic.class_names("composite")[label], k, d)


def test_composite_actor_performs_its_two_motions_in_order():
  h, w, t = 64, 80, 40
  rng = np.random.default_rng(0)
  wrap = lambda d, p: (d + p / 2) % p - p / 2
  for label, name in enumerate(synthetic.class_names("composite")):
    s = _composite_actor(label, rng, t, h, w)
    switch = int(s["switch"][0])
    assert 0.35 * t <= switch < 0.65 * t + 1
    for atom, frames in zip(name.split("_then_"), (slice(0, switch), slice(switch, t))):
      dy = wrap(np.diff(s["y"][0, frames]), h).mean() - 0.3  # Less the camera's drift.
      dx = wrap(np.diff(s["x"][0, frames]), w).mean() + 0.2
      da = wrap(np.diff(s["angle"][0, frames]), 2 * np.pi).mean()
      expect = dict(right=(0, 1, 0), left=(0, -1, 0), up=(-1, 0, 0), down=(1, 0, 0))
      expect.update(clockwise=(0, 0, 1), counterclockwise=(0, 0, -1))
      got = tuple(int(np.sign(np.round(v, 6))) for v in (dy, dx, da))
      assert got == expect[atom], (name, atom, got)


def test_composite_render_is_deterministic_and_has_an_actor():
  p = synthetic.Params(num_frames=12, task="composite")
  a, la = synthetic.render_video(57, p)
  b, lb = synthetic.render_video(57, p)
  c, _ = synthetic.render_video(57, synthetic.Params(num_frames=12, task="composite", seed=1))
  assert a.shape == (12, 64, 80, 3) and a.dtype == np.uint8
  assert la == lb == synthetic.label_of(57, "composite") == 5
  np.testing.assert_array_equal(a, b)
  assert np.abs(a.astype(int) - c).mean() > 5
  assert p.key() != synthetic.Params(num_frames=12).key()
  # The striped actor: the frame's strongest horizontal-neighbour differences are its
  # stripes' edges (the background is smooth, the distractors plain).
  edges = np.abs(np.diff(a.astype(int), axis=2)).sum(-1)
  assert (edges > 60).sum() > 12 * 10


def test_mp4_encoding_is_deterministic(tmp_path):
  """The same frames always encode to the same bytes, so a dataset is a function of its
  parameters (x264's default code paths gave a different file for about one encode in
  twelve of these videos)."""
  path = str(tmp_path / "v.mp4")
  for index in (1, 5, 28, 32):
    frames, _ = synthetic.render_video(index, synthetic.Params())
    encodings = set()
    for _ in range(12):
      synthetic.write_mp4(frames, path, fps=25)
      with open(path, "rb") as f:
        encodings.add(f.read())
    assert len(encodings) == 1, f"video {index}: {len(encodings)} different encodings"


def test_generate_builds_a_converted_store(tmp_path_factory):
  root = data_testlib.tiny_synthetic(tmp_path_factory)
  p = data_testlib.TINY
  manifest = frame_store.read_manifest(root)
  assert len(manifest) == p.num_videos
  assert {e.num_frames for e in manifest.values()} == {p.num_frames}
  assert {(e.height, e.width) for e in manifest.values()} == {(p.height, p.width)}
  assert all(os.path.exists(synthetic.mp4_path(root, i)) for i in range(p.num_videos))
  train = open(os.path.join(root, "train.csv"), encoding="utf-8").read().split()
  val = open(os.path.join(root, "val.csv"), encoding="utf-8").read().split()
  test = open(os.path.join(root, "test.csv"), encoding="utf-8").read().split()
  assert (len(train), len(val), len(test)) == synthetic.split_sizes(p.num_videos)
  assert train[:5] == ["000000,0", "000001,1", "000002,2", "000003,3", "000005,5"]
  classes = json.load(open(os.path.join(root, "classes.json"), encoding="utf-8"))
  assert classes["classes"] == list(synthetic.CLASS_NAMES)
  assert classes["flip_pairs"] == [list(x) for x in synthetic.FLIP_PAIRS]
  record = frame_store.read(frame_store.video_path(root, "000007"))
  assert record.labels == (7,) and record.label_names == (synthetic.CLASS_NAMES[7],)


def test_cli(tmp_path, capsys):
  assert (
      synthetic.main(
          [
              "--output",
              str(tmp_path / "d"),
              "--num_videos",
              "5",
              "--num_frames",
              "8",
              "--workers",
              "0",
          ]
      )
      == 0
  )
  assert "built 5 motion videos (4 train, 1 val" in capsys.readouterr().out
  assert len(frame_store.read_manifest(str(tmp_path / "d"))) == 5


def test_ensure_dataset_is_safe_for_concurrent_callers(tmp_path):
  """Two processes ask for the same dataset at once: one builds, both get it."""
  script = textwrap.dedent(f"""
      import sys
      from mgjax import config as config_lib
      from mgjax.data import synthetic
      c = config_lib.base()
      c.data.synthetic_videos = 6
      c.data.cache_dir = {str(tmp_path)!r}
      print(synthetic.ensure_dataset(c, workers=0))
  """)
  env = dict(
      os.environ, PYTHONPATH=str(data_testlib.REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
  )
  procs = [
      subprocess.Popen(
          [sys.executable, "-c", script],
          stdout=subprocess.PIPE,
          stderr=subprocess.PIPE,
          text=True,
          env=env,
      )
      for _ in range(2)
  ]
  outs = [p.communicate(timeout=300) for p in procs]
  assert [p.returncode for p in procs] == [0, 0], outs
  paths = {o.strip().splitlines()[-1] for o, _ in outs}
  assert len(paths) == 1
  path = paths.pop()
  assert sum("render" in err for _, err in outs) == 1  # Built once.
  assert os.path.exists(os.path.join(path, "DONE"))
  assert len(frame_store.read_manifest(path)) == 6
  source = next(iter(frame_store.read_manifest(path).values())).source
  assert source.startswith(path) and os.path.exists(source)
  c = config_lib.base()
  c.data.synthetic_videos, c.data.cache_dir = 6, str(tmp_path)
  assert synthetic.ensure_dataset(c) == path  # Cached.
  c.data.synthetic_seed = 1  # Another dataset, another cache entry.
  assert f"synthetic-{synthetic.params_from_config(c).key()}" != os.path.basename(path)
