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
"""Synthetic video datasets whose classes live only in the motion.

  python -m mgjax.data.synthetic --output DIR [--task motion|composite] [--num_videos 2000] \
      [--seed 0] [--workers N]

Two tasks (`config.data.synthetic_task`), rendered and converted the same way:

- "motion" (the demo's): 12 classes of one motion each, described below.
- "composite": 30 classes, each an ordered pair of two atomic motions that one to three
  striped actors perform in sequence ("left_then_up" is not "up_then_left"; reversals
  such as "right_then_left" are classes), among distractors and under a drifting camera.
  See `render_composite`; it is harder in the ways multigrid's coarse shapes are: the
  class needs the temporal order across the whole clip, and telling the actors (fine
  stripes over their texture) from the distractors (the same textures, shapes, sizes and
  motions, no stripes) needs spatial detail that a half-size crop blurs.

The "motion" task:

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
  DIR/{train,val,test}.csv                 `key,label` lines (`split_of`)
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

from mgjax import config as config_lib
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

# The composite task: an ordered pair of distinct atomic motions per class.
ATOMS = ("right", "left", "up", "down", "clockwise", "counterclockwise")
_ATOM_FLIP = {0: 1, 1: 0, 2: 2, 3: 3, 4: 5, 5: 4}
COMPOSITE_PAIRS = tuple((a, b) for a in range(len(ATOMS)) for b in range(len(ATOMS)) if a != b)
COMPOSITE_CLASS_NAMES = tuple(f"{ATOMS[a]}_then_{ATOMS[b]}" for a, b in COMPOSITE_PAIRS)
TASKS = config_lib.SYNTHETIC_TASKS

# Splits. Tune on val; report on test, which no tuning sees.
# "motion": video i is held out when i % 5 == 4 (an 80/20 split; labels cycle with period
# 12, so the held-out videos of any 60 consecutive ones hold each class once). The held-out
# videos of blocks of 60 alternate between val (even blocks) and test (odd blocks), so
# both stay balanced.
# "composite": i % 10 in 0..5 train, 6 val, 7..9 test (60 / 10 / 30%, so that a test split
# of a few thousand videos resolves a tenth of a point); the label is (i // 10) % 30, so
# every 300 consecutive videos hold each class 6 times in train, once in val, 3 times in test.
SPLITS = config_lib.SYNTHETIC_SPLITS
VERSION = 4  # Bump when the rendering or the splits change, so cached datasets are rebuilt.
COMPOSITE_VERSION = 2  # The same for the composite task.


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
    task: "motion" or "composite".
  """

  num_videos: int = 2000
  seed: int = 0
  height: int = 64
  width: int = 80
  num_frames: int = 40
  fps: int = 25
  quality: int = 90
  task: str = "motion"

  def key(self) -> str:
    """A short hash naming the dataset in the cache."""
    fields = dataclasses.asdict(self)
    if self.task == "motion":  # The hash of the motion datasets built before tasks existed.
      del fields["task"]
      version = VERSION
    else:
      version = COMPOSITE_VERSION
    blob = json.dumps(dict(fields, version=version), sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _check_task(task: str) -> None:
  if task not in TASKS:
    raise ValueError(f"unknown synthetic task {task!r}; known: {', '.join(TASKS)}")


def class_names(task: str = "motion") -> tuple[str, ...]:
  """The class names of a task, in label order."""
  _check_task(task)
  return CLASS_NAMES if task == "motion" else COMPOSITE_CLASS_NAMES


def num_classes(task: str = "motion") -> int:
  return len(class_names(task))


def flip_pairs(task: str = "motion") -> tuple[tuple[int, int], ...]:
  """The pairs of classes a horizontal flip exchanges."""
  _check_task(task)
  if task == "motion":
    return FLIP_PAIRS
  index = {p: i for i, p in enumerate(COMPOSITE_PAIRS)}
  pairs = {
      tuple(sorted((i, index[_ATOM_FLIP[a], _ATOM_FLIP[b]])))
      for i, (a, b) in enumerate(COMPOSITE_PAIRS)
  }
  return tuple(sorted(p for p in pairs if p[0] != p[1]))


def split_of(index: int, task: str = "motion") -> str:
  """'train', 'val' or 'test' for video `index` (a fixed split per task)."""
  _check_task(task)
  if task == "composite":
    r = index % 10
    return "train" if r < 6 else "val" if r == 6 else "test"
  if index % 5 != 4:
    return "train"
  return "val" if (index // 60) % 2 == 0 else "test"


def split_sizes(num_videos: int, task: str = "motion") -> tuple[int, int, int]:
  """(train, val, test) video counts of a dataset of `num_videos` videos."""
  splits = [split_of(i, task) for i in range(num_videos)]
  return tuple(splits.count(s) for s in SPLITS)


def label_of(index: int, task: str = "motion") -> int:
  """The class of video `index`: classes cycle, so every split is balanced."""
  _check_task(task)
  if task == "composite":
    return (index // 10) % len(COMPOSITE_PAIRS)
  return index % NUM_CLASSES


def flip_map(task: str = "motion") -> np.ndarray:
  """int32 [classes]: the class of a horizontally flipped video of each class."""
  m = np.arange(num_classes(task), dtype=np.int32)
  for a, b in flip_pairs(task):
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


def _background(
    rng: np.random.Generator, h: int, w: int, t: int, max_speed: float
) -> tuple[np.ndarray, tuple[float, float]]:
  """A smooth low-contrast texture drifting up to `max_speed` pixels per frame (wrapping).

  Returns:
    The frames [T, H, W, 3] and the drift (dy, dx) per frame.
  """
  gray = _periodic_noise(rng, h, w, cutoff=0.04).mean(axis=2, keepdims=True)
  bg = 128 + _BG_CONTRAST * gray / (gray.std() + 1e-8) + rng.uniform(-40, 40, 3)
  drift_dir = rng.uniform(0, 2 * np.pi)
  speed = rng.uniform(0, max_speed)
  steps = np.arange(t)[:, None, None]
  yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
  sy = np.rint(yy[None] - speed * np.sin(drift_dir) * steps).astype(np.int64) % h
  sx = np.rint(xx[None] - speed * np.cos(drift_dir) * steps).astype(np.int64) % w
  return bg[sy, sx], (speed * np.sin(drift_dir), speed * np.cos(drift_dir))


def _shape_coords(
    h: int, w: int, y: np.ndarray, x: np.ndarray, angle: np.ndarray, scale
) -> tuple[np.ndarray, np.ndarray]:
  """Each pixel's coordinates (u, v) in a shape's frame (radius 1) at every frame, [T, H, W]."""
  yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
  cy, cx = y[:, None, None], x[:, None, None]
  # Offsets on the torus, so a shape leaving one edge enters at the other.
  dy = np.mod(yy[None] - cy + h / 2, h) - h / 2
  dx = np.mod(xx[None] - cx + w / 2, w) - w / 2
  cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
  s = np.asarray(scale)[..., None, None] if np.ndim(scale) else scale
  return (cos * dx + sin * dy) / s, (-sin * dx + cos * dy) / s


def _inside(u: np.ndarray, v: np.ndarray, shape: int, aspect: float) -> np.ndarray:
  """The pixels inside an ellipse (0), a rectangle (1) or a triangle (2)."""
  if shape == 0:
    return u**2 + (v / aspect) ** 2 <= 1
  if shape == 1:
    return (np.abs(u) <= 1) & (np.abs(v) <= aspect)
  # A triangle pointing along +u: unlike the others, no 180° symmetry.
  return (u >= -1) & (u <= 1) & (np.abs(v) <= aspect * (1 - u) / 2)


def _texture_lookup(tex: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
  """A [n, n, 3] texture spread over a shape's [-1, 1]² frame."""
  n = tex.shape[0]
  ty = np.clip(((v + 1) / 2 * (n - 1)).round().astype(np.int64), 0, n - 1)
  tx = np.clip(((u + 1) / 2 * (n - 1)).round().astype(np.int64), 0, n - 1)
  return tex[ty, tx]


def _smooth_texture(rng: np.random.Generator) -> np.ndarray:
  return np.clip(
      128
      + _TEXTURE_CONTRAST * _periodic_noise(rng, _TEXTURE, _TEXTURE, _TEXTURE_CUTOFF)
      + rng.uniform(-60, 60, 3),
      0,
      255,
  )


def render_video(index: int, params: Params) -> tuple[np.ndarray, int]:
  """Renders video `index` of a dataset (`render_composite` for the composite task).

  Args:
    index: the video's index (decides its class and its random stream).
    params: the generation parameters.

  Returns:
    (uint8 frames [T, H, W, 3], label).
  """
  if params.task == "composite":
    return render_composite(index, params)
  label = label_of(index)
  rng = np.random.default_rng([params.seed, index])
  h, w, n_t = params.height, params.width, params.num_frames
  num_objects = int(rng.integers(1, _MAX_OBJECTS + 1))
  states = motion_states(label, rng, n_t, h, w, num_objects)
  frames, _ = _background(rng, h, w, n_t, _BG_SPEED)
  for o in range(num_objects):
    tex = _smooth_texture(rng)
    shape = int(rng.integers(0, 3))
    aspect = rng.uniform(0.45, 0.8)
    u, v = _shape_coords(
        h, w, states["y"][o], states["x"][o], states["angle"][o], states["scale"][o]
    )
    frames = np.where(_inside(u, v, shape, aspect)[..., None], _texture_lookup(tex, u, v), frames)
  return np.clip(frames, 0, 255).astype(np.uint8), label


# The composite task.
_C_ACTORS = (1, 3)  # Shapes performing the class's two motions, inclusive.
_C_SPEED_RANGE = (1.5, 2.5)  # Translation, pixels per frame.
_C_SPIN_RANGE = (0.08, 0.15)  # Rotation, radians per frame.
_C_SWITCH = (0.35, 0.65)  # When the second motion starts, as a fraction of the video.
_C_SCALE_RANGE = (10.0, 16.0)  # Shape radius in pixels (log-uniform, constant per shape).
_C_STRIPE_PERIOD = 8.0  # The actors' stripes, pixels (4 at the base crop, 2 at half of it).
_C_STRIPE_CONTRAST = 40.0  # Half the difference the stripes make to an actor's texture.
_C_DISTRACTORS = (1, 2)  # Distractors per video, inclusive.
_C_CAMERA_SPEED = 0.4  # Camera drift, pixels per frame at most (any direction).


def composite_states(
    pairs: Sequence[tuple[int, int]],
    rng: np.random.Generator,
    num_frames: int,
    height: int,
    width: int,
    camera: tuple[float, float] = (0.0, 0.0),
) -> dict[str, np.ndarray]:
  """Per-frame centre and orientation of shapes that each perform two atomic motions.

  Args:
    pairs: per shape, (first atom, second atom), indices into `ATOMS`.
    rng: the video's random generator.
    num_frames: frames.
    height: frame height.
    width: frame width.
    camera: the camera's drift (dy, dx) per frame, added to every shape.

  Returns:
    `y`, `x` (wrapped into the frame), `angle` (mod 2π), float [shapes, frames], and
    `switch`, int [shapes]: the first frame of each shape's second motion.
  """
  n = len(pairs)
  lo, hi = _C_SWITCH
  switch = np.floor(rng.uniform(lo, hi, n) * num_frames).astype(np.int64)
  t = np.arange(num_frames)
  rates = np.zeros((n, num_frames, 3))  # (dy, dx, spin) per frame.
  for o, atoms in enumerate(pairs):
    for part, atom in enumerate(atoms):
      frames = t < switch[o] if part == 0 else t >= switch[o]
      if atom < 4:
        dy, dx = _DIRECTIONS[atom]
        rates[o, frames, :2] = np.array([dy, dx]) * rng.uniform(*_C_SPEED_RANGE)
      else:  # Clockwise on screen = increasing angle with y pointing down.
        rates[o, frames, 2] = rng.uniform(*_C_SPIN_RANGE) * (1 if atom == 4 else -1)
  # Position at frame t: the start plus the motion of frames 0 .. t - 1.
  moved = np.concatenate([np.zeros((n, 1, 3)), np.cumsum(rates, axis=1)[:, :-1]], axis=1)
  y0, x0, a0 = (rng.uniform(0, m, (n, 1)) for m in (height, width, 2 * np.pi))
  return dict(
      y=np.mod(y0 + moved[..., 0] + camera[0] * t, height),
      x=np.mod(x0 + moved[..., 1] + camera[1] * t, width),
      angle=np.mod(a0 + moved[..., 2], 2 * np.pi),
      switch=switch,
  )


def render_composite(index: int, params: Params) -> tuple[np.ndarray, int]:
  """Renders video `index` of the composite task.

  One to three actors (`_C_ACTORS`) perform the class's two atomic motions in sequence,
  each switching between 35% and 65% of the video (so every 32-frame clip of a 40-frame
  video sees both motions). One or two distractors (`_C_DISTRACTORS`) each perform
  their own random pair of atoms (possibly the same atom twice). Every shape carries a
  smooth colour texture, as in the motion task (a plain shape shows its motion only at
  its outline, and a network of this size did not learn the task from plain shapes:
  `benchmarks/RESULTS.md` §7); only the actors also carry fine stripes, which turn with
  them and which a half-size crop blurs away. The camera drifts the whole scene by up to
  `_C_CAMERA_SPEED` pixels per frame. Every shape's position and orientation are uniform
  at every frame, as in the motion task, so a single frame carries no class.

  Args:
    index: the video's index.
    params: the generation parameters (`task` = "composite").

  Returns:
    (uint8 frames [T, H, W, 3], label).
  """
  label = label_of(index, "composite")
  rng = np.random.default_rng([params.seed, index])
  h, w, n_t = params.height, params.width, params.num_frames
  frames, camera = _background(rng, h, w, n_t, _C_CAMERA_SPEED)
  num_actors = int(rng.integers(_C_ACTORS[0], _C_ACTORS[1] + 1))
  num_distractors = int(rng.integers(_C_DISTRACTORS[0], _C_DISTRACTORS[1] + 1))
  distractor_pairs = [tuple(rng.integers(0, len(ATOMS), 2)) for _ in range(num_distractors)]
  pairs = [COMPOSITE_PAIRS[label]] * num_actors + distractor_pairs
  states = composite_states(pairs, rng, n_t, h, w, camera)
  lo, hi = _C_SCALE_RANGE
  for o in rng.permutation(len(pairs)):  # Actors and distractors at random depths.
    shape = int(rng.integers(0, 3))
    aspect = rng.uniform(0.45, 0.8)
    scale = lo * np.exp(rng.uniform(0, np.log(hi / lo)))
    u, v = _shape_coords(h, w, states["y"][o], states["x"][o], states["angle"][o], scale)
    colour = _texture_lookup(_smooth_texture(rng), u, v)
    if o < num_actors:  # Stripes in the shape's frame, `_C_STRIPE_PERIOD` pixels apart.
      delta = _C_STRIPE_CONTRAST * rng.choice([-1.0, 1.0], 3)
      phi = rng.uniform(0, np.pi)
      along = (u * np.cos(phi) + v * np.sin(phi)) * scale
      stripe = np.sin(2 * np.pi * along / _C_STRIPE_PERIOD) > 0
      colour = np.clip(colour + np.where(stripe[..., None], delta, -delta), 0, 255)
    frames = np.where(_inside(u, v, shape, aspect)[..., None], colour, frames)
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
          labels=(label_of(i, params.task),),
          label_names=(class_names(params.task)[label_of(i, params.task)],),
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
    lines = [
        f"{i:06d},{label_of(i, params.task)}\n"
        for i in range(params.num_videos)
        if split_of(i, params.task) == split
    ]
    with open(os.path.join(output, f"{split}.csv"), "w", encoding="utf-8") as f:
      f.write("".join(lines))
  classes = dict(
      classes=list(class_names(params.task)),
      flip_pairs=[list(p) for p in flip_pairs(params.task)],
      params=dataclasses.asdict(params),
      version=VERSION if params.task == "motion" else COMPOSITE_VERSION,
  )
  with open(os.path.join(output, "classes.json"), "w", encoding="utf-8") as f:
    json.dump(classes, f, indent=1)
  return summary


def params_from_config(config) -> Params:
  """The generation parameters a config asks for."""
  return Params(
      num_videos=int(config.data.synthetic_videos),
      seed=int(config.data.synthetic_seed),
      task=str(config.data.synthetic_task),
  )


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
  p.add_argument("--task", choices=TASKS, default=Params.task)
  p.add_argument("--workers", type=int, default=None, help="Worker processes (default: all cores).")
  args = p.parse_args(argv)
  params = Params(
      num_videos=args.num_videos,
      seed=args.seed,
      height=args.height,
      width=args.width,
      num_frames=args.num_frames,
      quality=args.quality,
      task=args.task,
  )
  start = time.time()
  generate(args.output, params, workers=args.workers)
  train, val, test = split_sizes(params.num_videos, params.task)
  print(
      f"built {params.num_videos} {params.task} videos ({train} train, {val} val, {test} "
      f"test, {num_classes(params.task)} classes) "
      f"in {args.output} in {time.time() - start:.1f} s"
  )
  return 0


if __name__ == "__main__":
  # Run the imported module, not `__main__`: worker processes unpickle their function
  # by module name and do not import `__main__` (see `workers_skip_main`).
  from mgjax.data import synthetic as _module  # pylint: disable=g-import-not-at-top

  sys.exit(_module.main())
