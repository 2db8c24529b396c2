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
"""Tests of the TFDS builder over the frame store (mgjax/data/tfds_builder)."""

import os
import subprocess
import sys

import numpy as np
import tensorflow_datasets as tfds

import data_testlib
from mgjax import multigrid
from mgjax.data import datasets
from mgjax.data import frame_store
from mgjax.data import pipeline
from mgjax.data import sampling
from mgjax.data import tfds_builder

tf = frame_store.import_tf()


def test_build_offline_and_load_the_same_clips(tmp_path_factory, tmp_path):
  root = data_testlib.tiny_synthetic(tmp_path_factory)
  data_dir = str(tmp_path / "tfds")
  builder = tfds_builder.MgjaxFrameStore(config="synthetic", data_dir=data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=root))
  assert builder.info.splits["train"].num_examples == 24
  assert builder.info.splits["val"].num_examples == 6
  assert builder.info.metadata["class_names"][0] == "right"
  assert builder.info.metadata["flip_map"][:2] == [1, 0]

  config = data_testlib.tiny_config(root)
  videos = datasets.load(config, "train")
  examples = list(tfds.load("mgjax_frame_store/synthetic", split="train", data_dir=data_dir))
  assert [e["video_id"].numpy().decode() for e in examples] == videos.keys
  for e, path in zip(examples[:3], videos.files):
    assert [bytes(f) for f in e["frames"].numpy()] == frame_store.read(path).frames

  # The pipeline's clips, recomputed from the TFDS examples.
  plan = multigrid.Plan.from_config(config)
  batch = next(pipeline.train_dataset(config, plan, 1, stop_step=2, with_metadata=True))
  row = {k: int(v[0]) for k, v in plan.step_table(1, 2).items() if k != "lr" and k != "epoch"}
  fmap = tf.constant(videos.flip_map)
  for i in range(4):
    v = int(batch["video_index"][i])
    ex = examples[v]
    key = sampling.clip_key(config.seed, int(batch["example"][i]))
    clip = pipeline.train_clip(
        config, tfds_builder.as_record(ex), tf.cast(ex["labels"][0], tf.int32), key, row, fmap
    )
    np.testing.assert_array_equal(clip["video"].numpy(), batch["video"][i])
    assert int(clip["label"]) == batch["label"][i]


def test_tfds_build_command(tmp_path_factory, tmp_path):
  """`python -m mgjax.data.tfds_builder` runs TFDS's `build` command, offline."""
  root = data_testlib.tiny_synthetic(tmp_path_factory)
  env = dict(
      os.environ, PYTHONPATH=data_testlib.REPO + os.pathsep + os.environ.get("PYTHONPATH", "")
  )
  out = subprocess.run(
      [
          sys.executable,
          "-m",
          "mgjax.data.tfds_builder",
          "--config",
          "synthetic",
          "--manual_dir",
          root,
          "--data_dir",
          str(tmp_path),
      ],
      capture_output=True,
      text=True,
      env=env,
      timeout=300,
      check=False,
  )
  assert out.returncode == 0, out.stderr[-3000:]
  built = tmp_path / "mgjax_frame_store" / "synthetic" / "1.0.0"
  assert (built / "dataset_info.json").exists()
  assert len(list(built.glob("mgjax_frame_store-train.tfrecord*"))) == 1
