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
"""A TFDS dataset over a frame store, for users who expect `tfds.load`.

The builder reads a dataset root (frame store + annotations, see `datasets.py`) from
the manual directory, so building needs no network:

  tfds build mgjax_frame_store --imports mgjax.data.tfds_builder \\
      --config synthetic --manual_dir STORE [--data_dir DIR]

or, equivalently (the same `tfds build` code, for tensorflow-datasets releases whose
`tfds` command needs apache-beam just to start):

  python -m mgjax.data.tfds_builder --config synthetic --manual_dir STORE [--data_dir DIR]

Then `tfds.load("mgjax_frame_store/synthetic", split="train", data_dir=DIR)` yields one
example per video, in the manifest's order, holding the store's JPEG bytes unchanged:
`as_record` turns an example into what `frame_store.parse` returns, and
`pipeline.train_clip` samples the same clip from either.

Configs: synthetic, kinetics (any `path label` csv dataset), ssv2, charades. Splits:
train and val. The class names are in `info.metadata["class_names"]`.
"""

from __future__ import annotations

import sys
from typing import Iterator

import numpy as np
import tensorflow_datasets as tfds

from mgjax.data import datasets
from mgjax.data import frame_store

tf = frame_store.import_tf()

_READERS = {
    "synthetic": datasets.kinetics,
    "kinetics": datasets.kinetics,
    "ssv2": datasets.ssv2,
    "charades": datasets.charades,
}


class MgjaxFrameStore(tfds.core.GeneratorBasedBuilder):
  """Videos of an mgjax frame store as JPEG frame sequences."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      tfds.core.BuilderConfig(name=name, description=f"A {name} frame store.") for name in _READERS
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Set --manual_dir to a dataset root: a frame store made by `python -m mgjax.data.convert`"
      " (or `python -m mgjax.data.synthetic`) plus the dataset's annotation files."
  )

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(
            {
                "video_id": tfds.features.Text(),
                # The store's JPEG bytes, unchanged (an Image feature would re-encode them).
                "frames": tfds.features.Tensor(shape=(None,), dtype=np.object_),
                "labels": tfds.features.Tensor(shape=(None,), dtype=np.int64),
                "fps": tfds.features.Scalar(dtype=np.float32),
                "height": tfds.features.Scalar(dtype=np.int32),
                "width": tfds.features.Scalar(dtype=np.int32),
                "source": tfds.features.Text(),
            }
        ),
        # The order is the dataset's video order, so example i is video i of the split.
        disable_shuffling=True,
        metadata=tfds.core.MetadataDict(),
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    root = str(dl_manager.manual_dir)
    reader = _READERS[self.builder_config.name]
    splits = {split: reader(root, split) for split in ("train", "val")}
    if self.builder_config.name == "synthetic":  # Also has a held-out test split.
      test = reader(root, "test")
      if test.keys:
        splits["test"] = test
    self.info.metadata["class_names"] = splits["train"].class_names
    self.info.metadata["multi_label"] = splits["train"].multi_label
    if splits["train"].flip_map is not None:
      self.info.metadata["flip_map"] = splits["train"].flip_map.tolist()
    for split, videos in splits.items():
      if videos.missing:
        print(
            f"{split}: {len(videos.missing)} annotated videos are missing from {root}",
            file=sys.stderr,
        )
    return {split: self._generate_examples(videos) for split, videos in splits.items()}

  def _generate_examples(self, videos: datasets.VideoList) -> Iterator[tuple[str, dict]]:
    for path, key, labels in zip(videos.files, videos.keys, videos.labels):
      record = frame_store.read(path)
      yield key, {
          "video_id": key,
          "frames": np.array(record.frames, dtype=object),
          "labels": np.array(labels, np.int64),
          "fps": np.float32(record.fps),
          "height": np.int32(record.height),
          "width": np.int32(record.width),
          "source": record.source,
      }


def as_record(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
  """A `tfds.load` example in the form `frame_store.parse` returns (for the pipeline)."""
  return dict(
      frames=example["frames"],
      num_frames=tf.shape(example["frames"], out_type=tf.int32)[0],
      height=tf.cast(example["height"], tf.int32),
      width=tf.cast(example["width"], tf.int32),
      fps=example["fps"],
      labels=example["labels"],
      id=example["video_id"],
      source=example["source"],
  )
