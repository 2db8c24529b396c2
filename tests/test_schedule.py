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
"""Tests of the schedule CLI (python -m mgjax.schedule)."""

import json
import subprocess
import sys

import numpy as np

from conftest import REPO

KINETICS_MG = "configs/kinetics/slowfast_r50_8x8_multigrid.py"


def run(*args, check=True):
  return subprocess.run(
      [sys.executable, "-m", "mgjax.schedule", *args],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=check,
  )


def test_table():
  out = run("--config", KINETICS_MG).stdout
  lines = out.splitlines()
  assert lines[0].split()[:4] == ["seg", "epochs", "steps", "shape"]
  assert "0-73" in lines[2] and "512x8x158²" in lines[2] and "112:1024 158:512 158:512" in lines[2]
  assert "343-358" in lines[15] and "13*" in lines[15]
  assert "theoretical speedup" in out and "baseline 876,156" in out


def test_json_document():
  doc = json.loads(run("--config", KINETICS_MG, "--json").stdout)
  assert doc["max_epoch"] == 358
  assert [s["end_epoch"] for s in doc["segments"]][-2:] == [343, 358]
  seg = doc["segments"][0]
  for key in (
      "start_epoch",
      "end_epoch",
      "lr",
      "batch_size",
      "num_frames",
      "crop_size",
      "short_cycle",
      "stride_range",
      "jitter_range",
      "bn_group_size",
  ):
    assert key in seg
  assert seg["short_cycle"][0] == {"crop_size": 112, "batch_size": 1024}
  assert doc["baseline_steps"] == 876_156
  assert doc["theoretical_speedup"] > 3 and doc["iteration_speedup"] > 3


def test_overrides_and_bad_field():
  doc = json.loads(
      run(
          "--config",
          KINETICS_MG,
          "--json",
          "--config.multigrid.short_cycle=False",
          "--config.optim.lr_policy=cosine",
      ).stdout
  )
  assert all(len(s["short_cycle"]) == 1 for s in doc["segments"])
  assert doc["lr_policy"] == "cosine"
  bad = run("--config", KINETICS_MG, "--config.data.crop_sise=64", check=False)
  assert bad.returncode != 0 and "crop_sise" in bad.stderr
  bad = run("--config", KINETICS_MG, "--config.data.crop_size=100", check=False)
  assert bad.returncode != 0 and "config.data.crop_size" in bad.stderr


def test_plot(tmp_path):
  import matplotlib.image  # pylint: disable=g-import-not-at-top

  path = tmp_path / "schedule.png"
  run("--config", KINETICS_MG, "--plot", str(path))
  image = matplotlib.image.imread(path)
  assert image.shape[0] > 500 and image.shape[1] > 800
  # Non-trivial: many distinct colours and not mostly blank.
  pixels = image[..., :3].reshape(-1, 3)
  assert len(np.unique((pixels * 255).astype(np.uint8), axis=0)) > 50
  assert pixels.std() > 0.05
