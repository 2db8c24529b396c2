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
"""A synthetic motion dataset whose classes live only in the motion.

  python -m mgjax.data.synthetic --output DIR [--num_videos 2000] [--seed 0] [--workers N]

Each video shows one to three textured shapes over a faint textured background that drifts
slowly in a random direction; the shapes move according to the class: one of eight
translation directions, clockwise or counter-clockwise rotation, zooming in or out
(`CLASS_NAMES`). The videos are rendered to real H.264 mp4 files with PyAV and turned
into a frame store by the same converter as real datasets (`convert.py`), so the demo
and the tests exercise the real path.

A single frame carries no class information: every frame of every class shows the
shapes at a uniformly distributed position (translations wrap around the frame like a
torus), a uniformly distributed orientation (rotation angles are taken mod 2π) and a
log-uniformly distributed size (zooms cycle through the size range with a random
phase; the other classes draw a constant size from the same law). Only the change
between frames tells the classes apart, so a network that ignores time stays at chance.

Speeds are chosen so the motion stays unambiguous up to a sampling stride of 8 (a
translation moves less than half the frame, a rotation less than π, a zoom less than
half its cycle between two sampled frames).

A horizontal flip swaps left and right, clockwise and counter-clockwise: the label map
(`classes.json`) lists those pairs and the pipeline relabels flipped clips.

Layout of a built dataset (a frame store plus annotations, read by `datasets.py`):
  DIR/manifest.jsonl, DIR/videos/*.seqex   the frame store
  DIR/{train,val,test}.csv                 `key,label` lines (80% / 10% / 10% split)
  DIR/classes.json                         class names, flip pairs, generation parameters
  DIR/mp4/*.mp4                            the rendered source videos
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import multiprocessing
import os
import sys
import time
from typing import Iterator, Sequence

import numpy as np

from mgjax.data import convert as convert_lib
from mgjax.data import frame_store

CLASS_NAMES = (
    "right",
    "left",
    "up",
    "down",
    "up_right",
    "up_left",
    "down_right",
    "down_left",
    "rotate_clockwise",
    "rotate_counterclockwise",
    "zoom_in",
    "zoom_out",
)
NUM_CLASSES = len(CLASS_NAMES)
# Classes a horizontal flip exchanges; the others map to themselves.
FLIP_PAIRS = ((0, 1), (4, 5), (6, 7), (8, 9))
# Unit (dy, dx) of the translation classes; image y points down.
_DIRECTIONS = {
    0: (0, 1),
    1: (0, -1),
    2: (-1, 0),
    3: (1, 0),
    4: (-1, 1),
    5: (-1, -1),
    6: (1, 1),
    7: (1, -1),
}

# Video i is held out when i % 5 == 4 (an 80/20 split; labels cycle with period 12, so
# the held-out videos of any 60 consecutive ones hold each class once). The held-out
# videos of blocks of 60 alternate between val (even blocks) and test (odd blocks), so
# both stay balanced. Tune on val; report on test, which no tuning sees.
SPLITS = ("train", "val", "test")
VERSION = 4  # Bump when the rendering or the splits change, so cached datasets are rebuilt.


@dataclasses.dataclass(frozen=True)
class Params:
  """Generation parameters; a dataset is a pure function of them.

  Attributes:
    num_videos: total videos (train + val + test).
    seed: generation seed.
    height: frame height in pixels.
    width: frame width in pixels.
    num_frames: frames per video.
    fps: frame rate written to the mp4.
    quality: JPEG quality of the frame store.
  """

  num_videos: int = 2000
  seed: int = 0
  height: int = 64
  width: int = 80
  num_frames: int = 40
  fps: int = 25
  quality: int = 90

  def key(self) -> str:
    """A short hash naming the dataset in the cache."""
    blob = json.dumps(dict(dataclasses.asdict(self), version=VERSION), sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def split_of(index: int) -> str:
  """'train', 'val' or 'test' for video `index` (a fixed 80/10/10 split)."""
  if index % 5 != 4:
    return "train"
  return "val" if (index // 60) % 2 == 0 else "test"


def split_sizes(num_videos: int) -> tuple[int, int, int]:
  """(train, val, test) video counts of a dataset of `num_videos` videos."""
  splits = [split_of(i) for i in range(num_videos)]
  return tuple(splits.count(s) for s in SPLITS)


def label_of(index: int) -> int:
  """The class of video `index`: classes cycle, so both splits are balanced."""
  return index % NUM_CLASSES


def flip_map() -> np.ndarray:
  """int32 [NUM_CLASSES]: the class of a horizontally flipped video of each class."""
  m = np.arange(NUM_CLASSES, dtype=np.int32)
  for a, b in FLIP_PAIRS:
    m[a], m[b] = b, a
  return m


# ----------------------------------------------------------------------------------------
# Rendering.

_SCALE_RANGE = (10.0, 20.0)  # Shape radius in pixels; zooms cycle through it (log-uniform).
_SPEED_RANGE = (1.5, 2.5)  # Translation, pixels per frame.
_SPIN_RANGE = (0.08, 0.15)  # Rotation, radians per frame.
_ZOOM_RANGE = (0.02, 0.04)  # Zoom, cycles of the size range per frame.
_BG_SPEED = 0.2  # Background drift, pixels per frame (any direction).
_BG_CONTRAST = 12.0  # Standard deviation of the background's grey texture.
_TEXTURE = 32  # Side of a shape's texture patch.
_TEXTURE_CUTOFF = 0.05  # Spatial frequency cutoff of a shape's texture (cycles per texel).
_TEXTURE_CONTRAST = 80.0  # Standard deviation of a shape's colour texture.
_MAX_OBJECTS = 3  # Shapes per video: 1 to this many, all with the class's motion.


def _periodic_noise(rng: np.random.Generator, h: int, w: int, cutoff: float) -> np.ndarray:
  """Smooth random colour texture that tiles seamlessly (low-passed white noise)."""
  fy = np.fft.fftfreq(h)[:, None]
  fx = np.fft.fftfreq(w)[None, :]
  gain = np.exp(-(fx**2 + fy**2) / (2 * cutoff**2))
  noise = rng.standard_normal((3, h, w))
  tex = np.real(np.fft.ifft2(np.fft.fft2(noise) * gain)).transpose(1, 2, 0)
  tex -= tex.mean(axis=(0, 1))
  return tex / (tex.std() + 1e-8)


def motion_states(
    label: int, rng: np.random.Generator, num_frames: int, height: int, width: int, num_objects: int
) -> dict[str, np.ndarray]:
  """Per-frame position, orientation and size of each shape of a video.

  Args:
    label: the class.
    rng: the video's random generator.
    num_frames: frames.
    height: frame height.
    width: frame width.
    num_objects: shapes in the video.

  Returns:
    `y`, `x` (centre, wrapped into the frame), `angle` (radians mod 2π), `scale`
    (radius in pixels), `phase` (position of the size in its log-uniform range, [0, 1)),
    each float [num_objects, num_frames].
  """
  t = np.arange(num_frames, dtype=np.float64)[None, :]
  n = num_objects
  y0 = rng.uniform(0, height, (n, 1))
  x0 = rng.uniform(0, width, (n, 1))
  a0 = rng.uniform(0, 2 * np.pi, (n, 1))
  p0 = rng.uniform(0, 1, (n, 1))
  vy = vx = spin = zoom = np.zeros((n, 1))
  if label in _DIRECTIONS:
    dy, dx = _DIRECTIONS[label]
    speed = rng.uniform(*_SPEED_RANGE, (n, 1)) / np.hypot(dy, dx)
    vy, vx = dy * speed, dx * speed
  elif label in (8, 9):  # Clockwise on screen = increasing angle with y pointing down.
    spin = rng.uniform(*_SPIN_RANGE, (n, 1)) * (1 if label == 8 else -1)
  else:
    zoom = rng.uniform(*_ZOOM_RANGE, (n, 1)) * (1 if label == 10 else -1)
  phase = np.mod(p0 + zoom * t, 1.0)
  lo, hi = _SCALE_RANGE
  return dict(
      y=np.mod(y0 + vy * t, height),
      x=np.mod(x0 + vx * t, width),
      angle=np.mod(a0 + spin * t, 2 * np.pi),
      phase=phase,
      scale=lo * np.exp(phase * np.log(hi / lo)),
  )


def render_video(index: int, params: Params) -> tuple[np.ndarray, int]:
  """Renders video `index` of a dataset.

  Args:
    index: the video's index (decides its class and its random stream).
    params: the generation parameters.

  Returns:
    (uint8 frames [T, H, W, 3], label).
  """
  label = label_of(index)
  rng = np.random.default_rng([params.seed, index])
  h, w, n_t = params.height, params.width, params.num_frames
  num_objects = int(rng.integers(1, _MAX_OBJECTS + 1))
  states = motion_states(label, rng, n_t, h, w, num_objects)

  # Background: a smooth low-contrast texture drifting with wrap-around.
  gray = _periodic_noise(rng, h, w, cutoff=0.04).mean(axis=2, keepdims=True)
  bg = 128 + _BG_CONTRAST * gray / (gray.std() + 1e-8) + rng.uniform(-40, 40, 3)
  drift_dir = rng.uniform(0, 2 * np.pi)
  drift = rng.uniform(0, _BG_SPEED)
  t = np.arange(n_t)[:, None, None]
  yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
  sy = np.rint(yy[None] - drift * np.sin(drift_dir) * t).astype(np.int64) % h
  sx = np.rint(xx[None] - drift * np.cos(drift_dir) * t).astype(np.int64) % w
  frames = bg[sy, sx]  # [T, H, W, 3]

  for o in range(num_objects):
    tex = np.clip(
        128
        + _TEXTURE_CONTRAST * _periodic_noise(rng, _TEXTURE, _TEXTURE, _TEXTURE_CUTOFF)
        + rng.uniform(-60, 60, 3),
        0,
        255,
    )
    shape = int(rng.integers(0, 3))
    aspect = rng.uniform(0.45, 0.8)
    cy = states["y"][o][:, None, None]
    cx = states["x"][o][:, None, None]
    # Offsets on the torus, so a shape leaving one edge enters at the other.
    dy = np.mod(yy[None] - cy + h / 2, h) - h / 2
    dx = np.mod(xx[None] - cx + w / 2, w) - w / 2
    cos = np.cos(states["angle"][o])[:, None, None]
    sin = np.sin(states["angle"][o])[:, None, None]
    s = states["scale"][o][:, None, None]
    u = (cos * dx + sin * dy) / s
    v = (-sin * dx + cos * dy) / s
    if shape == 0:
      inside = u**2 + (v / aspect) ** 2 <= 1
    elif shape == 1:
      inside = (np.abs(u) <= 1) & (np.abs(v) <= aspect)
    else:  # A triangle pointing along +u: unlike the others, no 180° symmetry.
      inside = (u >= -1) & (u <= 1) & (np.abs(v) <= aspect * (1 - u) / 2)
    ty = np.clip(((v + 1) / 2 * (_TEXTURE - 1)).round().astype(np.int64), 0, _TEXTURE - 1)
    tx = np.clip(((u + 1) / 2 * (_TEXTURE - 1)).round().astype(np.int64), 0, _TEXTURE - 1)
    frames = np.where(inside[..., None], tex[ty, tx], frames)
  return np.clip(frames, 0, 255).astype(np.uint8), label


def write_mp4(frames: np.ndarray, path: str, fps: int) -> None:
  """Encodes frames as an H.264 mp4 with PyAV.

  Args:
    frames: uint8 [T, H, W, 3] (H and W even).
    path: output file.
    fps: frame rate.
  """
  import av  # pylint: disable=g-import-not-at-top

  tmp = path + ".tmp.mp4"
  with av.open(tmp, "w") as container:
    # With its default code paths x264 does not always give the same bytes for the same
    # frames, even single-threaded (4 of 48 encodes of four videos differed on a 2-core
    # x86 machine), so the dataset was not a function of its parameters; `cpu-independent`
    # makes the output depend on the input only.
    stream = container.add_stream(
        "libx264",
        rate=fps,
        options={"crf": "18", "preset": "veryfast", "x264-params": "cpu-independent=1"},
    )
    stream.width, stream.height = frames.shape[2], frames.shape[1]
    stream.pix_fmt = "yuv420p"
    stream.codec_context.thread_count = 1
    for f in frames:
      for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
        container.mux(packet)
    for packet in stream.encode():
      container.mux(packet)
  os.replace(tmp, path)


def _render_to_file(job: tuple[int, Params, str]) -> int:
  index, params, path = job
  if not os.path.exists(path):
    frames, _ = render_video(index, params)
    write_mp4(frames, path, params.fps)
  return index


# ----------------------------------------------------------------------------------------
# Building.


def mp4_path(output: str, index: int) -> str:
  return os.path.join(output, "mp4", f"{index:06d}.mp4")


def generate(
    output: str, params: Params, *, workers: int | None = None, progress: bool = True
) -> convert_lib.Summary:
  """Renders the dataset's videos to mp4 and converts them into a frame store.

  Re-running on the same directory skips finished videos (both stages resume).

  Args:
    output: the dataset directory.
    params: generation parameters.
    workers: worker processes (None = all cores, 0 = in this process).
    progress: show progress bars.

  Returns:
    The converter's summary.

  Raises:
    RuntimeError: when a video fails to convert (the renderer's output must be valid).
  """
  import tqdm  # pylint: disable=g-import-not-at-top

  if params.height % 2 or params.width % 2:
    raise ValueError(f"H.264 (yuv420p) needs even frame sizes, got {params.height}x{params.width}")
  workers = (os.cpu_count() or 1) if workers is None else workers
  os.makedirs(os.path.join(output, "mp4"), exist_ok=True)
  jobs = [(i, params, mp4_path(output, i)) for i in range(params.num_videos)]
  bar = tqdm.tqdm(
      total=len(jobs),
      unit="video",
      desc="render",
      disable=not progress,
      file=sys.stderr,
      dynamic_ncols=True,
  )
  with bar:
    if workers <= 0:
      for job in jobs:
        _render_to_file(job)
        bar.update(1)
    else:
      with convert_lib.workers_skip_main(), multiprocessing.get_context("spawn").Pool(
          workers
      ) as pool:
        for _ in pool.imap_unordered(_render_to_file, jobs, chunksize=8):
          bar.update(1)

  inputs = [
      convert_lib.VideoInput(
          source=mp4_path(output, i),
          key=f"{i:06d}",
          labels=(label_of(i),),
          label_names=(CLASS_NAMES[label_of(i)],),
      )
      for i in range(params.num_videos)
  ]
  summary = convert_lib.convert(
      inputs, output, workers=workers, short_side=0, quality=params.quality, progress=progress
  )
  if summary.failures:
    raise RuntimeError(
        "synthetic videos failed to convert:\n" + convert_lib.format_summary(summary, output)
    )

  for split in SPLITS:
    lines = [f"{i:06d},{label_of(i)}\n" for i in range(params.num_videos) if split_of(i) == split]
    with open(os.path.join(output, f"{split}.csv"), "w", encoding="utf-8") as f:
      f.write("".join(lines))
  classes = dict(
      classes=list(CLASS_NAMES),
      flip_pairs=[list(p) for p in FLIP_PAIRS],
      params=dataclasses.asdict(params),
      version=VERSION,
  )
  with open(os.path.join(output, "classes.json"), "w", encoding="utf-8") as f:
    json.dump(classes, f, indent=1)
  return summary


def params_from_config(config) -> Params:
  """The generation parameters a config asks for."""
  return Params(num_videos=int(config.data.synthetic_videos), seed=int(config.data.synthetic_seed))


def cache_dir(config) -> str:
  """`config.data.cache_dir`, or ~/.cache/mgjax when empty."""
  return os.path.expanduser(config.data.cache_dir or os.path.join("~", ".cache", "mgjax"))


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
  """An exclusive advisory lock held for the block (released if the process dies)."""
  with open(path, "a+") as f:
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f.fileno(), fcntl.LOCK_UN)


_DONE = "DONE"


def ensure_dataset(config, *, workers: int | None = None, progress: bool = True) -> str:
  """Builds the synthetic dataset of a config on first use and returns its directory.

  The dataset lives in `cache_dir(config)/synthetic-<hash of the parameters>`. It is
  built under an exclusive file lock, so that concurrent callers (several processes of
  one host) build it once while the others wait and then reuse it, and it counts as
  built only once its `DONE` marker exists (written atomically, last).

  Args:
    config: the experiment config (`config.data.synthetic_videos`,
      `config.data.synthetic_seed`, `config.data.cache_dir`).
    workers: worker processes for the build (None = all cores).
    progress: show progress bars while building.

  Returns:
    The dataset directory (set it as `config.data.root`).
  """
  params = params_from_config(config)
  root = cache_dir(config)
  os.makedirs(root, exist_ok=True)
  final = os.path.join(root, f"synthetic-{params.key()}")
  if os.path.exists(os.path.join(final, _DONE)):
    return final
  with _file_lock(final + ".lock"):
    if os.path.exists(os.path.join(final, _DONE)):
      return final  # Another process built it while this one waited.
    # Built in place (so the store records the final paths of its sources) and marked
    # complete last; a build interrupted by a crash resumes here on the next call.
    start = time.time()
    generate(final, params, workers=workers, progress=progress)
    frame_store.atomic_write(os.path.join(final, _DONE), f"built in {time.time() - start:.1f} s\n")
  return final


def main(argv: Sequence[str] | None = None) -> int:
  """CLI: builds a synthetic dataset into a directory."""
  p = argparse.ArgumentParser(
      prog="python -m mgjax.data.synthetic", description=__doc__.split("\n\n")[0]
  )
  p.add_argument("--output", required=True, help="Dataset directory.")
  p.add_argument(
      "--num_videos", type=int, default=Params.num_videos, help="Videos (train + val + test)."
  )
  p.add_argument("--seed", type=int, default=Params.seed)
  p.add_argument("--height", type=int, default=Params.height)
  p.add_argument("--width", type=int, default=Params.width)
  p.add_argument("--num_frames", type=int, default=Params.num_frames)
  p.add_argument("--quality", type=int, default=Params.quality, help="JPEG quality.")
  p.add_argument("--workers", type=int, default=None, help="Worker processes (default: all cores).")
  args = p.parse_args(argv)
  params = Params(
      num_videos=args.num_videos,
      seed=args.seed,
      height=args.height,
      width=args.width,
      num_frames=args.num_frames,
      quality=args.quality,
  )
  start = time.time()
  generate(args.output, params, workers=args.workers)
  train, val, test = split_sizes(params.num_videos)
  print(
      f"built {params.num_videos} videos ({train} train, {val} val, {test} test, "
      f"{NUM_CLASSES} classes) "
      f"in {args.output} in {time.time() - start:.1f} s"
  )
  return 0


if __name__ == "__main__":
  # Run the imported module, not `__main__`: worker processes unpickle their function
  # by module name and do not import `__main__` (see `workers_skip_main`).
  from mgjax.data import synthetic as _module  # pylint: disable=g-import-not-at-top

  sys.exit(_module.main())
