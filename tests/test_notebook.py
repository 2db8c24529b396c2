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
"""Executes notebooks/evaluate.ipynb headless against a checkpoint of the tiny config.

The trainer runs for real (one step of the tiny config, in a subprocess); the
notebook then runs in a Jupyter kernel of this interpreter twice: on the workdir's
checkpoint (with precise BN), and on a PySlowFast-format `.pyth` holding the same
weights, which must give the same results to the last printed digit.
"""

import json
import os
import re
import subprocess
import sys

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
import nbclient
import nbformat
import numpy as np
import pytest

import conftest
from conftest import REPO

NOTEBOOK = REPO / "notebooks" / "evaluate.ipynb"
TINY = REPO / "configs" / "tiny.py"
KERNEL = "mgjax-test"

# Appended to the first run: saves the state the notebook evaluated (after precise BN).
_EXPORT_CELL = """
import jax as _jax
_flat = {}
for _part in ("params", "rest"):
  for _path, _value in _jax.tree_util.tree_flatten_with_path(state[_part])[0]:
    if not _jax.dtypes.issubdtype(_value.dtype, _jax.dtypes.prng_key):
      _flat[_part + "/" + _jax.tree_util.keystr(_path, simple=True, separator="/")] = np.asarray(_value)
np.savez(EXPORT_PATH, **_flat)
"""


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory):
  """A kernelspec running this interpreter (the one with mgjax's dependencies).

  CI may have no other Python with JAX, and the default `python3` kernel may be
  another interpreter; the spec pins the kernel's environment as well.
  """
  root = tmp_path_factory.mktemp("kernels")
  (root / KERNEL).mkdir()
  env = {
      "XLA_FLAGS": conftest.xla_flags(),
      "JAX_PLATFORMS": "cpu",
      "CUDA_VISIBLE_DEVICES": "",
      "TF_CPP_MIN_LOG_LEVEL": "2",
      "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
  }
  spec = {
      "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
      "display_name": "mgjax test",
      "language": "python",
      "env": env,
  }
  (root / KERNEL / "kernel.json").write_text(json.dumps(spec))
  return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """A real training workdir of the tiny config (one step: one compiled shape)."""
  root = tmp_path_factory.mktemp("trained")
  workdir, cache = root / "workdir", root / "cache"
  env = dict(os.environ, XLA_FLAGS=conftest.xla_flags(), JAX_PLATFORMS="cpu")
  proc = subprocess.run(
      [
          sys.executable,
          "-m",
          "mgjax.main",
          f"--config={TINY}",
          f"--workdir={workdir}",
          "--mode=train",
          f"--config.data.cache_dir={cache}",
          "--config.train.max_steps=1",
      ],
      cwd=REPO,
      env=env,
      capture_output=True,
      text=True,
      timeout=600,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (workdir / "checkpoints" / "1").is_dir()
  return dict(workdir=str(workdir), cache=str(cache))


def execute(kernel_dir, parameters, extra_cells=()):
  """Runs the notebook with its parameters cell replaced; returns (notebook, stdout text)."""
  nb = nbformat.read(NOTEBOOK, as_version=4)
  tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
  assert len(tagged) == 1 and nb.cells.index(tagged[0]) <= 1
  tagged[0].source = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
  nb.cells.extend(nbformat.v4.new_code_cell(s) for s in extra_cells)
  km = KernelManager(
      kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)])
  )
  client = nbclient.NotebookClient(
      nb, km=km, timeout=600, resources={"metadata": {"path": str(REPO)}}
  )
  client.execute()  # Raises CellExecutionError (with the traceback) if a cell fails.
  stdout = "".join(
      o.get("text", "")
      for c in nb.cells
      if c.cell_type == "code"
      for o in c.outputs
      if o.output_type == "stream" and o.name == "stdout"
  )
  return nb, stdout


def images(nb):
  return [
      o
      for c in nb.cells
      if c.cell_type == "code"
      for o in c.outputs
      if o.output_type == "display_data" and "image/png" in o.get("data", {})
  ]


def parse_result(stdout):
  lines = [l for l in stdout.splitlines() if l.startswith("RESULT ")]
  assert len(lines) == 1, stdout
  m = re.fullmatch(r"RESULT top1=(\S+) top5=(\S+) videos=(\d+) views=(\d+)", lines[0])
  assert m, lines[0]
  return float(m[1]), float(m[2]), int(m[3]), int(m[4])


def check_report(nb, stdout):
  """The outputs every run must have: metrics, confusions, two figures."""
  top1, top5, videos, views = parse_result(stdout)
  assert 0.0 <= top1 <= top5 <= 1.0
  assert (videos, views) == (12, 24)  # 12 eval videos x 2 temporal views.
  confused = re.findall(r"^CONFUSED (\S+) +-> (\S+): (\d+)$", stdout, re.M)
  if confused:
    counts = [int(n) for _, _, n in confused]
    assert counts == sorted(counts, reverse=True) and all(t != p for t, p, _ in confused)
    # Every misclassified video is in some pair; at most 10 pairs are listed.
    assert sum(counts) <= round((1 - top1) * videos) and len(confused) <= 10
    assert len(confused) == 10 or sum(counts) == round((1 - top1) * videos)
  else:
    assert "No confusions" in stdout and top1 == 1.0
  assert len(images(nb)) >= 2  # Per-class bar chart and frame strips.


def to_pyslowfast(npz_path, out_path):
  """The saved state as a PySlowFast `.pyth` (torch layouts, PySlowFast names)."""
  import torch  # pylint: disable=g-import-not-at-top
  from mgjax.models import convert  # pylint: disable=g-import-not-at-top

  state_dict = {}
  with np.load(npz_path) as saved:
    for key in saved.files:
      path = tuple(key.split("/")[1:])
      try:
        name, perm = convert.reference_name(path, saved[key].ndim)
      except KeyError:
        continue  # RNG state of the dropout layers: not a model tensor.
      value = saved[key] if perm is None else saved[key].transpose(np.argsort(perm))
      state_dict[name] = torch.from_numpy(np.ascontiguousarray(value))
  assert "head.projection.weight" in state_dict and "s1.pathway1_stem.bn.running_var" in state_dict
  torch.save({"model_state": state_dict, "epoch": 1}, out_path)


def test_notebook_evaluates_workdir_and_converted_checkpoints(trained, kernel_dir, tmp_path):
  overrides = [f"data.cache_dir={trained['cache']}"]
  export = str(tmp_path / "state.npz")
  nb, stdout = execute(
      kernel_dir,
      dict(
          CONFIG=str(TINY),
          WORKDIR=trained["workdir"],
          CHECKPOINT_STEP=None,
          CONVERTED_CHECKPOINT=None,
          OVERRIDES=overrides,
          NUM_CLIPS_TO_SHOW=3,
      ),
      extra_cells=[f"EXPORT_PATH = {export!r}\n" + _EXPORT_CELL],
  )
  check_report(nb, stdout)
  assert "Restored step 1 of" in stdout and "precise BN over 2 batches" in stdout

  # The same weights as a reference checkpoint, through mgjax.models.convert.
  pyth = str(tmp_path / "tiny_pyslowfast.pyth")
  to_pyslowfast(export, pyth)
  nb2, stdout2 = execute(
      kernel_dir,
      dict(
          CONFIG=str(TINY),
          WORKDIR="unused",
          CHECKPOINT_STEP=None,
          CONVERTED_CHECKPOINT=pyth,
          OVERRIDES=overrides,
          NUM_CLIPS_TO_SHOW=2,
      ),
  )
  check_report(nb2, stdout2)
  assert f"Converted {pyth}" in stdout2
  keep = lambda s: [
      l for l in s.splitlines() if l.startswith(("RESULT", "CONFUSED", "No confusions"))
  ]
  assert keep(stdout2) == keep(stdout)
