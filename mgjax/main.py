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
"""Entry point: train and/or evaluate a config.

  python -m mgjax.main --config configs/demo.py --workdir /tmp/mgjax_demo
  python -m mgjax.main --config configs/kinetics/slowfast_r50_8x8_multigrid.py \
      --workdir gs://BUCKET/runs/sf_mg --config.data.root=gs://BUCKET/k400_store
  python -m mgjax.main --mode=eval --config configs/demo.py --workdir /tmp/mgjax_demo [--step N]

The config is validated before anything compiles or reads data. Relaunching with
the same workdir resumes from the latest checkpoint.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# Before TensorFlow loads (here and in the dataset builder's worker processes): its C++
# INFO/WARNING lines are not for the user. TF 2.21 still prints two lines at import
# (the oneDNN note, before absl's C++ logging is set up) whatever this says:
# tensorflow/tensorflow#100442.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags
import tensorflow as tf

from mgjax import checkpointing
from mgjax import config as config_lib
from mgjax import evaluate
from mgjax import logs
from mgjax import train
from mgjax.models import registry

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Experiment config file.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, logs and results go here.")
_MODE = flags.DEFINE_enum(
    "mode",
    "train_and_eval",
    ["train", "eval", "train_and_eval"],
    "train: no final evaluation; eval: evaluate the latest checkpoint.",
)
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address",
    None,
    "host:port of process 0 for multi-process runs on clusters JAX cannot detect (e.g. loopback "
    "tests). TPU pods and SLURM are detected without it.",
)
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "With --coordinator_address.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "With --coordinator_address.")
_STEP = flags.DEFINE_integer(
    "step", None, "--mode=eval: the checkpoint step (default: the latest)."
)


def _initialize_distributed() -> None:
  """Starts jax.distributed when the run spans several processes."""
  if _COORDINATOR.value:
    # Collectives of the CPU backend across processes (loopback tests) go through gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  elif (
      int(os.environ.get("SLURM_NTASKS", "1")) > 1
      or "," in os.environ.get("TPU_WORKER_HOSTNAMES", "")
      or os.environ.get("MGJAX_DISTRIBUTED") == "1"
  ):
    jax.distributed.initialize()  # Cluster auto-detection (TPU pod, SLURM).


def setup():
  """Parses and validates the config, starts jax.distributed; returns (config, workdir)."""
  config = _CONFIG.value
  try:
    config_lib.validate(config)  # Before anything compiles or reads data.
    # Whether the architecture can take `config.model` needs the model code, which
    # `config` must not import (config sits below models in the import direction).
    registry.check_config(config.model)
  except config_lib.ConfigError as e:
    sys.exit(f"error: {e}")
  # TensorFlow serves tf.data only: keep it off the accelerators JAX uses.
  tf.config.set_visible_devices([], "GPU")
  _initialize_distributed()
  try:
    config_lib.validate(config, num_devices=jax.device_count())
  except config_lib.ConfigError as e:
    sys.exit(f"error: {e}")
  logging.info(
      "JAX process %d/%d, %d devices (%d local): %s",
      jax.process_index(),
      jax.process_count(),
      jax.device_count(),
      jax.local_device_count(),
      jax.devices()[0].platform,
  )
  return config, _WORKDIR.value


def main(argv):
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  logs.hide_library_info()  # -v 1 (--verbosity=1) shows the libraries' INFO lines.
  config, workdir = setup()
  if _MODE.value == "eval":
    result = evaluate.evaluate_checkpoint(config, workdir, _STEP.value)
    print(json.dumps(result["metrics"], indent=1))
    return
  try:
    summary = train.train_and_evaluate(
        config, workdir, evaluate_at_end=_MODE.value == "train_and_eval"
    )
  except checkpointing.CheckpointError as e:  # Its message says what to do; no traceback.
    sys.exit(f"error: {e}")
  if jax.process_index() == 0:
    print_summary(summary, workdir, config.reference)


def _reference_lines(summary: dict[str, Any], reference) -> list[str]:
  """This run's top-1 and training time beside the config's measured reference results."""
  ev = summary.get("eval") or {}
  if (
      reference is None
      or not reference.baseline_top1
      or "top1" not in ev
      or "train_seconds" not in summary
  ):
    return []
  rows = [("this run", f"{100 * ev['top1']:.1f}%", train.format_minutes(summary["train_seconds"]))]
  if reference.multigrid_top1:
    rows.append(
        (
            "measured, config file",
            f"{reference.multigrid_top1:.1f}%",
            train.format_minutes(60 * reference.multigrid_train_minutes),
        )
    )
  rows.append(
      (
          "measured, baseline",
          f"{reference.baseline_top1:.1f}%",
          train.format_minutes(60 * reference.baseline_train_minutes),
      )
  )
  lines = [f"{'':24}{'top-1':>8}  training loop"]
  lines += [f"{name:24}{top1:>8}  {t}" for name, top1, t in rows]
  if reference.measured_on:
    lines.append(f"(measured with the config file's own settings: {reference.measured_on})")
  return lines


def print_summary(summary: dict[str, Any], workdir: str, reference=None) -> None:
  """The end-of-run lines a user looks for: accuracy, time and where the outputs are.

  Args:
    summary: what `train_and_evaluate` returned.
    workdir: the run's directory.
    reference: `config.reference`, the config's measured results to print beside this
      run's (optional).
  """
  bad = (
      f" ({summary['bad_videos']} bad files, listed in "
      f"{os.path.join(workdir, 'bad_videos.json')})"
      if summary.get("bad_videos")
      else ""
  )
  lines = [
      f"Trained to step {summary['final_step']} (started at {summary['start_step']}); "
      f"{summary['failed_clips']} clips failed to decode and were replaced{bad}.",
      f"Step shapes: {summary['compiled_shapes']} compiled or loaded in "
      f"{summary['compile_seconds']:.0f} s; the loop waited {summary['compile_wait_seconds']:.0f} s "
      "for them.",
  ]
  if "train_seconds" in summary:
    lines.append(
        f"Training loop: {train.format_minutes(summary['train_seconds'])} (compiles and evaluations "
        "excluded)."
    )
  ev = summary.get("eval")
  if ev:
    views = f"{ev['temporal_views']}x{ev['spatial_crops']} views at {ev['crop_size']}px"
    # Named: a tuning run evaluates on val, a reported one on test.
    split = f"the {ev['split']} split"
    if "mAP" in ev:
      lines.append(
          f"mAP on {split}: {100 * ev['mAP']:.2f}% over {ev['num_videos']} videos ({views})."
      )
    else:
      lines.append(
          f"Accuracy on {split}: top-1 {100 * ev['top1']:.2f}%, top-5 {100 * ev['top5']:.2f}% "
          f"over {ev['num_videos']} videos ({views})."
      )
  lines += _reference_lines(summary, reference)
  lines += [
      f"TensorBoard logs: tensorboard --logdir {workdir}",
      f"Schedule plot:    {os.path.join(workdir, 'schedule.png')}",
      f"Checkpoints:      {os.path.join(workdir, 'checkpoints')}",
  ]
  print("\n".join(lines), flush=True)


if __name__ == "__main__":
  flags.mark_flags_as_required(["config", "workdir"])
  app.run(main)
