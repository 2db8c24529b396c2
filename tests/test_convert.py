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
"""Tests of the video converter (mgjax/data/convert.py) on real H.264 and broken files."""

import json
import os
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest

import data_testlib
from mgjax.data import convert
from mgjax.data import frame_store

tf = frame_store.import_tf()


def _faststart_h264(path: str, frames: int = 60) -> None:
  """An mp4 with its index first, so a truncated copy still opens (and decodes part)."""
  rng = np.random.default_rng(0)
  with av.open(path, "w", options={"movflags": "faststart"}) as c:
    s = c.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    for _ in range(frames):
      img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
      for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
        c.mux(p)
    for p in s.encode():
      c.mux(p)


def _no_frame_mp4(path: str) -> None:
  """A video stream whose only packet decodes to nothing."""
  with av.open(path, "w") as c:
    s = c.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    c.start_encoding()
    p = av.Packet(b"\x00\x00\x00\x01\x09\xf0")
    p.stream, p.pts, p.dts, p.time_base = s, 0, 0, s.time_base
    c.mux(p)


def _audio_only(path: str) -> None:
  with av.open(path, "w") as c:
    s = c.add_stream("aac", rate=16000)
    for i in range(8):
      f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
      f.sample_rate, f.pts = 16000, i * 1024
      for p in s.encode(f):
        c.mux(p)
    for p in s.encode():
      c.mux(p)


@pytest.fixture(scope="module")
def inputs(request, tmp_path_factory):
  """A directory of real H.264 files (in a class sub-folder) and one of each failure."""
  d = tmp_path_factory.mktemp("videos")
  real = data_testlib.real_h264_files(request.config.cache)
  good = []
  os.makedirs(d / "cls", exist_ok=True)
  for path in real:
    shutil.copy(path, d / "cls" / os.path.basename(path))
    good.append("cls/" + os.path.splitext(os.path.basename(path))[0])
  big = max(real, key=os.path.getsize)
  data = open(big, "rb").read()
  (d / "moov_at_end_cut.mp4").write_bytes(data[: len(data) // 3])
  (d / "random.mp4").write_bytes(np.random.default_rng(1).bytes(5000))
  (d / "empty.avi").write_bytes(b"")
  _faststart_h264(str(d / "fast.mp4"))
  fast = (d / "fast.mp4").read_bytes()
  (d / "fast.mp4").unlink()
  (d / "faststart_cut.mp4").write_bytes(fast[: len(fast) // 2])
  _no_frame_mp4(str(d / "no_frame.mp4"))
  _audio_only(str(d / "audio_only.mp4"))
  (d / "notes.txt").write_text("not a video")
  expected_failures = {
      "moov_at_end_cut": "unreadable",
      "random": "unreadable",
      "empty": "unreadable",
      "faststart_cut": "truncated",
      "no_frame": "zero frames",
      "audio_only": "no video stream",
  }
  return str(d), sorted(good), real, expected_failures


def test_real_footage_and_broken_files(inputs, tmp_path):
  d, good, real, expected = inputs
  store = str(tmp_path / "store")
  listed = convert.list_inputs(d)
  assert {i.key for i in listed} == set(good) | set(expected)  # notes.txt is no video.
  summary = convert.convert(listed, store, workers=2, short_side=128, progress=False)
  assert summary.converted == len(good) and summary.skipped == 0
  got = {f.key: f.reason for f in summary.failures}
  assert {k: r.split(":")[0] for k, r in got.items()} == expected, got
  report = [json.loads(l) for l in open(os.path.join(store, frame_store.FAILED), encoding="utf-8")]
  assert sorted(r["key"] for r in report) == sorted(expected)

  manifest = frame_store.read_manifest(store)
  assert sorted(manifest) == good
  for path in real:
    key = "cls/" + os.path.splitext(os.path.basename(path))[0]
    with av.open(path) as c:
      s = c.streams.video[0]
      first = next(c.decode(s))
      n = 1 + sum(1 for _ in c.decode(s))
    entry = manifest[key]
    assert entry.num_frames == n
    h, w = first.height, first.width
    short = min(entry.height, entry.width)
    assert short == min(128, h, w)  # Never upscaled.
    assert abs(entry.width / entry.height - w / h) < 0.02
    record = frame_store.read(frame_store.video_path(store, key))
    assert len(record.frames) == n
    assert record.source == os.path.join(d, "cls", os.path.basename(path))
    # The stored first frame is the decoded frame, resized (JPEG and resampling error only).
    ref = first.to_ndarray(width=entry.width, height=entry.height, format="rgb24")
    ours = tf.image.decode_jpeg(record.frames[0]).numpy()
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(float) - ref).mean() < 6


def test_resume_and_manifest_input(inputs, tmp_path):
  d, good, real, _ = inputs
  store = str(tmp_path / "store")
  # A manifest with labels, relative and absolute paths.
  manifest = tmp_path / "list.csv"
  rows = ["path,label"] + [
      f"{os.path.join(d, 'cls', os.path.basename(p))},{i},name{i}" for i, p in enumerate(real[:2])
  ]
  manifest.write_text("\n".join(rows) + "\n")
  listed = convert.list_inputs(str(manifest))
  assert [i.labels for i in listed] == [(0,), (1,)]
  assert [i.label_names for i in listed] == [("name0",), ("name1",)]
  first = convert.convert(listed[:1], store, workers=0, progress=False)
  assert (first.converted, first.skipped) == (1, 0)
  again = convert.convert(listed, store, workers=0, progress=False)
  assert (again.converted, again.skipped) == (1, 1)  # Only the new video.
  assert frame_store.read(frame_store.video_path(store, listed[1].key)).labels == (1,)
  # A file lost from the store is converted again; the rest is skipped.
  os.unlink(frame_store.video_path(store, listed[0].key))
  third = convert.convert(listed, store, workers=0, progress=False)
  assert (third.converted, third.skipped, third.total_in_store) == (1, 1, 2)
  # An interrupted run leaves a torn manifest line: still resumable.
  with open(os.path.join(store, frame_store.MANIFEST), "a", encoding="utf-8") as f:
    f.write('{"key": "cls/x", "num_')
  fourth = convert.convert(listed, store, workers=0, progress=False)
  assert (fourth.converted, fourth.skipped) == (0, 2)


def test_cli(inputs, tmp_path, capsys):
  d, good, _, expected = inputs
  store = str(tmp_path / "store")
  assert (
      convert.main(
          ["--input", d, "--output", store, "--workers", "0", "--short_side", "64", "--no_progress"]
      )
      == 0
  )
  out = capsys.readouterr().out
  assert f"converted {len(good)}, skipped 0" in out and f"failed {len(expected)}" in out
  assert "no video stream: 1" in out and "truncated: 1" in out
  assert convert.main(["--input", d, "--output", store, "--workers", "0", "--no_progress"]) == 0
  assert f"converted 0, skipped {len(good)}" in capsys.readouterr().out


def test_duplicate_keys_and_key_rule(tmp_path):
  assert convert.key_for("/data/k400/train/abc.mp4", "/data/k400") == "train/abc"
  assert convert.key_for("/elsewhere/abc.webm", "/data/k400") == "abc"
  a = convert.VideoInput(source=str(tmp_path / "a.mp4"), key="same")
  b = convert.VideoInput(source=str(tmp_path / "b.mp4"), key="same")
  s = convert.convert([a, b], str(tmp_path / "store"), workers=0, progress=False)
  assert sorted(f.reason.split(":")[0] for f in s.failures) == ["duplicate key", "unreadable"]


def test_a_crashing_worker_costs_only_its_video():
  items = [
      convert.VideoInput(source=f"/v/{n}.mp4", key=n)
      for n in ("a", "b", "bad1", "c", "d", "e", "f")
  ]
  results = {}
  convert._run_parallel(
      items,
      data_testlib.crash_on_bad,
      2,  # pylint: disable=protected-access
      lambda inp, r: results.__setitem__(inp.key, r["reason"]),
  )
  assert sorted(results) == sorted(i.key for i in items)
  assert results["bad1"] == "error: decoder process crashed"
  assert all(results[k] == "fine: " + k for k in results if k != "bad1")


def test_workers_do_not_rerun_the_callers_script(inputs, tmp_path):
  """A script without a main guard (or a heavy trainer) calling the converter: the
  spawned workers must not import it again."""
  d, good, _, _ = inputs
  script = tmp_path / "unguarded.py"
  script.write_text(
      "from mgjax.data import convert\n"
      f"s = convert.convert(convert.list_inputs({os.path.join(d, 'cls')!r}), {str(tmp_path / 'st')!r},"
      " workers=2, progress=False)\n"
      "print('RESULT', s.converted, len(s.failures))\n"
  )
  env = dict(
      os.environ, PYTHONPATH=data_testlib.REPO + os.pathsep + os.environ.get("PYTHONPATH", "")
  )
  out = subprocess.run(
      [sys.executable, str(script)],
      capture_output=True,
      text=True,
      env=env,
      timeout=300,
      check=False,
  )
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.count("RESULT") == 1 and f"RESULT {len(good)} 0" in out.stdout
