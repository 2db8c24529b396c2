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
"""Converts videos (mp4, webm, avi, ...) into a frame store.

  python -m mgjax.data.convert --input VIDEO_DIR_OR_MANIFEST --output STORE [--workers N]

The input is a directory (searched recursively for video files) or a manifest: a
csv/txt file whose lines are `path[,label...]` (comma or whitespace separated; integer
labels go to `labels`, other words to `label_names`; relative paths are relative to the
manifest). Each video's store key is its path relative to the input directory (or the
manifest's directory) without the extension, so annotation files that name videos by
path or id map onto the store (see `datasets.py`).

Videos are decoded with PyAV (no ffmpeg binary needed) in parallel worker processes,
resized to a short side (default 256; smaller videos are not upscaled) and stored as
JPEG frames. The run is resumable: videos listed in the store's manifest whose file
exists are skipped. A video that cannot be converted (unreadable, no video stream, zero
frames, truncated) never stops the run: it is listed with the reason in
`STORE/failed.jsonl` and in the summary, and retried by the next run. A worker that
crashes (a decoder fault on a corrupt file) costs only its own videos.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import dataclasses
import io
import json
import multiprocessing
import os
import posixpath
import sys
from typing import Callable, Iterator, Sequence

from absl import logging

from mgjax.data import frame_store

VIDEO_EXTENSIONS = (
    ".mp4",
    ".webm",
    ".avi",
    ".mkv",
    ".mov",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".flv",
    ".wmv",
    ".3gp",
    ".ogv",
)
MANIFEST_EXTENSIONS = (".csv", ".txt", ".tsv")
_HEADER_WORDS = ("path", "video", "file", "filename", "video_path")


@dataclasses.dataclass(frozen=True)
class VideoInput:
  """One video to convert.

  Attributes:
    source: path of the video file.
    key: its key in the store.
    labels: integer labels to record in the file.
    label_names: label names to record in the file.
  """

  source: str
  key: str
  labels: tuple[int, ...] = ()
  label_names: tuple[str, ...] = ()


@dataclasses.dataclass
class Failure:
  """An input that could not be converted."""

  source: str
  key: str
  reason: str


@dataclasses.dataclass
class Summary:
  """What a converter run did.

  Attributes:
    converted: videos written by this run.
    skipped: videos already in the store (resume).
    failures: the inputs that failed, with reasons.
    total_in_store: videos in the store's manifest after the run.
  """

  converted: int = 0
  skipped: int = 0
  failures: list[Failure] = dataclasses.field(default_factory=list)
  total_in_store: int = 0

  def failure_counts(self) -> dict[str, int]:
    """Failures per reason category (the text before the first ':')."""
    return dict(collections.Counter(f.reason.split(":")[0] for f in self.failures))


class ConvertError(Exception):
  """A video cannot be converted; the message is the reason for the report."""


# ----------------------------------------------------------------------------------------
# Inputs.


def key_for(path: str, base: str | None) -> str:
  """Returns the store key of a video path.

  Args:
    path: the video path.
    base: the directory keys are relative to (None: the file name alone).

  Returns:
    The path relative to `base`, '/'-separated, without its extension; a path outside
    `base` keeps only its file name.
  """
  path = path.replace(os.sep, "/")
  rel = None
  if base is not None:
    rel = posixpath.normpath(posixpath.relpath(path, base.replace(os.sep, "/")))
    if rel.startswith(".."):
      rel = None
  if rel is None:
    rel = posixpath.basename(path)
  return posixpath.splitext(rel)[0]


def _split_fields(line: str) -> list[str]:
  if "," in line:
    return [f.strip() for f in line.split(",")]
  return line.split()


def list_inputs(input_path: str) -> list[VideoInput]:
  """Lists the videos of a directory or a manifest file.

  Args:
    input_path: a directory (searched recursively) or a csv/txt manifest.

  Returns:
    The inputs, sorted by key for a directory, in manifest order otherwise.

  Raises:
    FileNotFoundError: when the input does not exist.
  """
  if os.path.isdir(input_path):
    inputs = []
    for root, dirs, files in os.walk(input_path):
      dirs.sort()
      for name in sorted(files):
        if name.lower().endswith(VIDEO_EXTENSIONS):
          path = os.path.join(root, name)
          inputs.append(VideoInput(source=path, key=key_for(path, input_path)))
    return sorted(inputs, key=lambda i: i.key)
  if not os.path.isfile(input_path):
    raise FileNotFoundError(f"no such video directory or manifest: {input_path}")
  base = os.path.dirname(os.path.abspath(input_path))
  inputs = []
  with open(input_path, encoding="utf-8") as f:
    for i, line in enumerate(f):
      line = line.strip()
      if not line or line.startswith("#"):
        continue
      fields = _split_fields(line)
      if i == 0 and fields[0].lower() in _HEADER_WORDS:
        continue
      path = fields[0]
      if not os.path.isabs(path):
        path = os.path.join(base, path)
      labels, names = [], []
      for field in fields[1:]:
        if not field:
          continue
        try:
          labels.append(int(field))
        except ValueError:
          names.append(field)
      inputs.append(
          VideoInput(
              source=path, key=key_for(path, base), labels=tuple(labels), label_names=tuple(names)
          )
      )
  return inputs


# ----------------------------------------------------------------------------------------
# One video.


def _expected_frames(container, stream) -> int:
  """The frame count the container announces (0 when it does not say)."""
  if stream.frames:
    return int(stream.frames)
  rate = stream.average_rate or stream.guessed_rate
  if not rate:
    return 0
  if stream.duration and stream.time_base:
    return int(float(stream.duration * stream.time_base) * float(rate))
  if container.duration:
    return int(container.duration / 1_000_000 * float(rate))
  return 0


def _target_size(height: int, width: int, short_side: int) -> tuple[int, int]:
  """Frame size with the short side at `short_side` (never upscaled; 0 = keep)."""
  short = min(height, width)
  if short_side <= 0 or short <= short_side:
    return height, width
  scale = short_side / short
  if height <= width:
    return short_side, max(1, round(width * scale))
  return max(1, round(height * scale)), short_side


def decode_video(
    path: str,
    *,
    short_side: int = 256,
    quality: int = 90,
    min_frame_fraction: float = 0.9,
    threads: int = 0,
) -> tuple[list[bytes], int, int, float]:
  """Decodes a video with PyAV into resized JPEG frames.

  Args:
    path: the video file.
    short_side: target short side (0 = keep the original size; never upscales).
    quality: JPEG quality.
    min_frame_fraction: a video decoding fewer than this fraction of the frames its
      container announces is reported as truncated.
    threads: decoder threads (0 = FFmpeg's choice).

  Returns:
    (JPEG frames, height, width, fps).

  Raises:
    ConvertError: with the reason, when the video cannot be converted.
  """
  import av  # pylint: disable=g-import-not-at-top

  try:
    container = av.open(path)
  except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
    raise ConvertError(f"unreadable: {e}") from None
  with container:
    if not container.streams.video:
      raise ConvertError("no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = threads
    expected = _expected_frames(container, stream)
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    frames: list[bytes] = []
    size = None
    error = None
    try:
      for frame in container.decode(stream):
        if size is None:
          size = _target_size(frame.height, frame.width, short_side)
        # swscale resizes and converts to RGB in one pass; AREA suits large downscales.
        image = frame.to_image(width=size[1], height=size[0], interpolation="AREA")
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=quality)
        frames.append(buf.getvalue())
    except (av.FFmpegError, ValueError, OSError) as e:
      error = f"{type(e).__name__}: {e}"
  if not frames:
    detail = f" ({error})" if error else ""
    raise ConvertError(f"zero frames: the video stream decoded to no frame{detail}")
  if expected and len(frames) < min_frame_fraction * expected:
    detail = f" ({error})" if error else ""
    raise ConvertError(f"truncated: decoded {len(frames)} of {expected} frames{detail}")
  return frames, size[0], size[1], fps


def convert_one(
    inp: VideoInput,
    store: str,
    short_side: int = 256,
    quality: int = 90,
    min_frame_fraction: float = 0.9,
    threads: int = 0,
) -> dict:
  """Converts one video into the store; never raises.

  Args:
    inp: the video.
    store: the store directory.
    short_side: see `decode_video`.
    quality: JPEG quality.
    min_frame_fraction: see `decode_video`.
    threads: decoder threads.

  Returns:
    {"entry": manifest line} on success, {"reason": text} on failure.
  """
  try:
    frames, height, width, fps = decode_video(
        inp.source,
        short_side=short_side,
        quality=quality,
        min_frame_fraction=min_frame_fraction,
        threads=threads,
    )
    record = frame_store.VideoRecord(
        frames=frames,
        height=height,
        width=width,
        fps=fps,
        video_id=inp.key,
        source=inp.source,
        labels=inp.labels,
        label_names=inp.label_names,
    )
    frame_store.write(store, record)
    entry = frame_store.ManifestEntry(
        key=inp.key,
        source=inp.source,
        num_frames=len(frames),
        fps=fps,
        height=height,
        width=width,
        labels=inp.labels,
        label_names=inp.label_names,
    )
    return {"entry": entry.to_json()}
  except ConvertError as e:
    return {"reason": str(e)}
  except Exception as e:  # pylint: disable=broad-except
    # Anything else (a full disk, an odd pixel format) is still one video's failure.
    return {"reason": f"error: {type(e).__name__}: {e}"}


# ----------------------------------------------------------------------------------------
# Many videos.


@contextlib.contextmanager
def workers_skip_main() -> Iterator[None]:
  """Keeps spawned worker processes from re-importing the parent's `__main__`.

  A spawned process first imports its parent's main module. For the trainer that is
  JAX, TensorFlow and the models (seconds and hundreds of MB per worker); for a script
  without a main guard it is the whole script again (which may wait on a lock the
  parent holds). The converter's workers need only `mgjax.data` modules, so the main
  module's name and path are hidden while the pool runs.
  """
  main = sys.modules.get("__main__")
  saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if main and k in main.__dict__}
  try:
    if main is not None:
      main.__dict__["__spec__"] = None
      main.__dict__.pop("__file__", None)
    yield
  finally:
    if main is not None:
      main.__dict__.update(saved)


def _run_parallel(
    todo: Sequence[VideoInput],
    fn: Callable[[VideoInput], dict],
    workers: int,
    on_result: Callable[[VideoInput, dict], None],
) -> None:
  """Runs `fn` over the inputs in worker processes, surviving worker crashes.

  At most 2·workers videos are in flight. When a worker dies, the pool breaks and every
  in-flight video is suspect: each is retried alone in its own one-worker pool, where a
  second crash identifies the culprit; the rest of the queue continues in a new pool.
  """
  # spawn, not fork: the caller may have TensorFlow/JAX threads that fork would copy.
  ctx = multiprocessing.get_context("spawn")
  with workers_skip_main():
    _run_pools(ctx, todo, fn, workers, on_result)


def _run_pools(ctx, todo, fn, workers, on_result) -> None:
  """The pools of `_run_parallel` (see there)."""
  queue = collections.deque(todo)
  suspects: list[VideoInput] = []
  while queue or suspects:
    if suspects:
      inp = suspects.pop()
      with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as ex:
        try:
          result = ex.submit(fn, inp).result()
        except concurrent.futures.process.BrokenProcessPool:
          result = {"reason": "error: decoder process crashed"}
      on_result(inp, result)
      continue
    ex = concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx)
    inflight: dict[concurrent.futures.Future, VideoInput] = {}
    try:
      while queue or inflight:
        while queue and len(inflight) < 2 * workers:
          inp = queue.popleft()
          inflight[ex.submit(fn, inp)] = inp
        done, _ = concurrent.futures.wait(inflight, return_when=concurrent.futures.FIRST_COMPLETED)
        broken = False
        for fut in done:
          inp = inflight.pop(fut)
          try:
            on_result(inp, fut.result())
          except concurrent.futures.process.BrokenProcessPool:
            broken = True
            suspects.append(inp)
        if broken:
          suspects.extend(inflight.values())
          inflight.clear()
          break
    finally:
      ex.shutdown(wait=True, cancel_futures=True)


def _exists(path: str) -> bool:
  if frame_store.is_remote(path):
    tf = frame_store.import_tf()
    return tf.io.gfile.exists(path)
  return os.path.exists(path)


def convert(
    inputs: Sequence[VideoInput],
    store: str,
    *,
    workers: int | None = None,
    short_side: int = 256,
    quality: int = 90,
    min_frame_fraction: float = 0.9,
    progress: bool = True,
) -> Summary:
  """Converts videos into a frame store, skipping those already there.

  Args:
    inputs: the videos (see `list_inputs`).
    store: the store directory (created if needed).
    workers: worker processes (None = all cores; 0 = convert in this process).
    short_side: stored short side (0 = keep the original size; never upscales).
    quality: JPEG quality.
    min_frame_fraction: see `decode_video`.
    progress: show a progress bar on stderr.

  Returns:
    The run's summary; the store's `manifest.jsonl` and `failed.jsonl` are written.
  """
  import tqdm  # pylint: disable=g-import-not-at-top

  if workers is None:
    workers = os.cpu_count() or 1
  remote = frame_store.is_remote(store)
  if not remote:
    os.makedirs(store, exist_ok=True)
  existing = frame_store.read_manifest(store) or {}
  summary = Summary()
  todo, seen = [], set()
  for inp in inputs:
    if inp.key in seen:
      summary.failures.append(
          Failure(inp.source, inp.key, "duplicate key: another input has the same key")
      )
      continue
    seen.add(inp.key)
    if inp.key in existing and _exists(frame_store.video_path(store, inp.key)):
      summary.skipped += 1
    else:
      todo.append(inp)

  # Decoder threads: share the cores between the workers rather than oversubscribe.
  threads = max(1, (os.cpu_count() or 1) // max(workers, 1))
  fn = _ConvertFn(store, short_side, quality, min_frame_fraction, threads)
  # Each finished video is appended to the manifest at once, so an interrupted run
  # resumes where it stopped (object stores cannot append: remote stores only get the
  # final manifest).
  log = (
      None if remote else open(frame_store.join(store, frame_store.MANIFEST), "a", encoding="utf-8")
  )
  bar = tqdm.tqdm(
      total=len(todo), unit="video", disable=not progress, file=sys.stderr, dynamic_ncols=True
  )

  def on_result(inp: VideoInput, result: dict) -> None:
    if "entry" in result:
      entry = frame_store.ManifestEntry.from_json(result["entry"])
      existing[entry.key] = entry
      summary.converted += 1
      if log is not None:
        log.write(result["entry"] + "\n")
        log.flush()
    else:
      summary.failures.append(Failure(inp.source, inp.key, result["reason"]))
      logging.warning("failed: %s: %s", inp.source, result["reason"])
    bar.update(1)
    bar.set_postfix(failed=len(summary.failures), refresh=False)

  try:
    if workers <= 0 or len(todo) <= 1:
      for inp in todo:
        on_result(inp, fn(inp))
    else:
      _run_parallel(todo, fn, workers, on_result)
  finally:
    bar.close()
    if log is not None:
      log.close()
    frame_store.write_manifest(store, existing.values())
    frame_store.atomic_write(
        frame_store.join(store, frame_store.FAILED),
        "".join(json.dumps(dataclasses.asdict(f), sort_keys=True) + "\n" for f in summary.failures),
    )
  summary.total_in_store = len(existing)
  return summary


@dataclasses.dataclass(frozen=True)
class _ConvertFn:
  """`convert_one` with its options bound; a picklable callable for worker processes."""

  store: str
  short_side: int
  quality: int
  min_frame_fraction: float
  threads: int

  def __call__(self, inp: VideoInput) -> dict:
    return convert_one(
        inp, self.store, self.short_side, self.quality, self.min_frame_fraction, self.threads
    )


def format_summary(summary: Summary, store: str) -> str:
  """A human-readable report of a run."""
  lines = [
      f"converted {summary.converted}, skipped {summary.skipped} (already in the store), "
      f"failed {len(summary.failures)}; the store holds {summary.total_in_store} videos."
  ]
  for reason, n in sorted(summary.failure_counts().items()):
    lines.append(f"  {reason}: {n}")
  for f in summary.failures[:20]:
    lines.append(f"  {f.source}: {f.reason}")
  if len(summary.failures) > 20:
    lines.append(f"  ... {len(summary.failures) - 20} more")
  if summary.failures:
    lines.append(f"Full report: {frame_store.join(store, frame_store.FAILED)}")
  return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# CLI.


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
  """Parses the command line (argparse, so that importing this module defines no
  global flags that could collide with another CLI's)."""
  p = argparse.ArgumentParser(
      prog="python -m mgjax.data.convert", description=__doc__.split("\n\n")[0]
  )
  p.add_argument(
      "--input", required=True, help="Video directory or csv/txt manifest (path[,label...])."
  )
  p.add_argument("--output", required=True, help="Frame store directory.")
  p.add_argument(
      "--workers",
      type=int,
      default=None,
      help="Worker processes (default: all cores; 0: in this process).",
  )
  p.add_argument(
      "--short_side", type=int, default=256, help="Stored short side in pixels (0 = keep)."
  )
  p.add_argument("--quality", type=int, default=90, help="JPEG quality.")
  p.add_argument(
      "--min_frame_fraction",
      type=float,
      default=0.9,
      help="Videos decoding fewer than this fraction of their announced frames are truncated.",
  )
  p.add_argument("--no_progress", action="store_true", help="No progress bar.")
  return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
  """Runs the converter CLI; returns the exit status (0 even when some videos failed)."""
  args = parse_args(argv)
  logging.set_verbosity(logging.ERROR)  # The summary lists the failures.
  inputs = list_inputs(args.input)
  print(f"{len(inputs)} videos in {args.input}", file=sys.stderr)
  summary = convert(
      inputs,
      args.output,
      workers=args.workers,
      short_side=args.short_side,
      quality=args.quality,
      min_frame_fraction=args.min_frame_fraction,
      progress=not args.no_progress,
  )
  print(format_summary(summary, args.output))
  return 0


if __name__ == "__main__":
  # Run the imported module, not `__main__`: worker processes unpickle their function
  # by module name and do not import `__main__` (see `workers_skip_main`).
  from mgjax.data import convert as _module  # pylint: disable=g-import-not-at-top

  sys.exit(_module.main())
