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

The config is validated before anything compiles or reads data. Relaunching with
the same workdir resumes from the latest checkpoint.
"""

from __future__ import annotations

import json
import logging as std_logging
import os
import sys

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

from mgjax import config as config_lib
from mgjax.models import registry

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, logs and results go here.")
_MODE = flags.DEFINE_enum("mode", "train_and_eval", ["train", "eval", "train_and_eval"],
                          "train: no final evaluation; eval: evaluate the latest checkpoint.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None,
    "host:port of process 0 for multi-process runs on clusters JAX cannot detect (e.g. loopback "
    "tests). TPU pods and SLURM are detected without it.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "With --coordinator_address.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "With --coordinator_address.")


class LibraryInfoFilter(std_logging.Filter):
  """Lets through mgjax's own INFO lines and every warning; drops the libraries' INFO
  (orbax's save scheduling, clu's echo of every metric: about 1,500 lines in the demo).

  absl attributes each record to the module that called it, so the path tells them apart.
  """

  _PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep

  def filter(self, record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.WARNING or record.pathname.startswith(self._PACKAGE)


def _initialize_distributed() -> None:
  """Starts jax.distributed when the run spans several processes."""
  if _COORDINATOR.value:
    # Collectives of the CPU backend across processes (loopback tests) go through gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  elif (int(os.environ.get("SLURM_NTASKS", "1")) > 1
        or "," in os.environ.get("TPU_WORKER_HOSTNAMES", "")
        or os.environ.get("MGJAX_DISTRIBUTED") == "1"):
    jax.distributed.initialize()  # Cluster auto-detection (TPU pod, SLURM).


def setup():
  """Parses and validates the config, starts jax.distributed; returns (config, workdir)."""
  config = _CONFIG.value
  if config is None or not _WORKDIR.value:
    raise app.UsageError("--config and --workdir are required.")
  try:
    config_lib.validate(config)  # Before anything compiles or reads data.
    registry.check_config(config.model)
  except config_lib.ConfigError as e:
    sys.exit(f"error: {e}")
  # TensorFlow serves tf.data only: keep it off the accelerators JAX uses.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.set_visible_devices([], "GPU")
  _initialize_distributed()
  try:
    config_lib.validate(config, num_devices=jax.device_count())
  except config_lib.ConfigError as e:
    sys.exit(f"error: {e}")
  logging.info("JAX process %d/%d, %d devices (%d local): %s", jax.process_index(),
               jax.process_count(), jax.device_count(), jax.local_device_count(),
               jax.devices()[0].platform)
  return config, _WORKDIR.value


def main(argv):
  if len(argv) > 1:
    raise app.UsageError("Too many command-line arguments.")
  if logging.get_verbosity() < logging.DEBUG:  # -v 1 (--verbosity=1) shows the libraries' lines.
    logging.get_absl_handler().addFilter(LibraryInfoFilter())
  config, workdir = setup()
  from mgjax import evaluate  # pylint: disable=g-import-not-at-top
  from mgjax import train  # pylint: disable=g-import-not-at-top
  if _MODE.value == "eval":
    result = evaluate.evaluate_checkpoint(config, workdir)
    print(json.dumps(result["metrics"], indent=1))
    return
  summary = train.train_and_evaluate(config, workdir,
                                     evaluate_at_end=_MODE.value == "train_and_eval")
  if jax.process_index() == 0:
    train.print_summary(summary, workdir, config.reference)


if __name__ == "__main__":
  app.run(main)
