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
"""End-to-end tests of training (mgjax/train.py, mgjax/main.py) on the tiny config.

One uninterrupted reference run (train + eval, in this process, 8 fake devices)
serves several tests; killed, preempted and multi-process runs are compared with it.
"""

import collections
import functools
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

import conftest
from conftest import REPO
from conftest import load_config
from mgjax import checkpointing
from mgjax import compilation
from mgjax import config as config_lib
from mgjax import main as main_lib
from mgjax import multigrid
from mgjax import sharding
from mgjax import steps
from mgjax import train

TINY = REPO / "configs" / "tiny.py"


def tiny_config(cache, **overrides):
  c = load_config(TINY)
  c.data.cache_dir = str(cache / "data")
  c.train.compile_cache_dir = str(cache / "xla")
  c.train.checkpoint_every_steps = 4
  for key, value in overrides.items():
    section, field = key.split("__")
    c[section][field] = value
  return c


def flags_of(cache, **overrides):
  c = tiny_config(cache, **overrides)
  out = [
      f"--config={TINY}",
      f"--config.data.cache_dir={c.data.cache_dir}",
      f"--config.train.compile_cache_dir={c.train.compile_cache_dir}",
      f"--config.train.checkpoint_every_steps={c.train.checkpoint_every_steps}",
  ]
  return out + [f"--config.{k.replace('__', '.')}={v}" for k, v in overrides.items()]


# `python -m mgjax.main` whose trainer kills its own process (SIGKILL, as a machine
# failure would) once the step in argv[1] is done: a hook of the loop, from outside it.
_KILLED_MAIN = """
import functools, os, signal, sys
from absl import app
from mgjax import main, train
kill_at = int(sys.argv.pop(1))
def kill(done):
  if done == kill_at:
    os.kill(os.getpid(), signal.SIGKILL)
train.train_and_evaluate = functools.partial(train.train_and_evaluate, hooks=(kill,))
app.run(main.main)
"""


def run_main(cache, workdir, *extra, kill_at=None, **overrides):
  """Runs `python -m mgjax.main` in a subprocess (killed after step `kill_at` if
  given); returns the CompletedProcess."""
  environ = dict(os.environ, XLA_FLAGS=conftest.xla_flags())
  program = ["-m", "mgjax.main"] if kill_at is None else ["-c", _KILLED_MAIN, str(kill_at)]
  return subprocess.run(
      [sys.executable, *program, f"--workdir={workdir}", *flags_of(cache, **overrides), *extra],
      cwd=REPO,
      env=environ,
      capture_output=True,
      text=True,
      timeout=600,
  )


def run_mains_at_once(argvs, devices):
  """Starts `python -m mgjax.main` once per argv, all at once, each process with
  `devices` CPU devices; checks that every one succeeds and returns their outputs."""
  environ = dict(os.environ, XLA_FLAGS=conftest.xla_flags(devices))
  procs = [
      subprocess.Popen(
          [sys.executable, "-m", "mgjax.main", *argv],
          cwd=REPO,
          env=environ,
          stdout=subprocess.PIPE,
          stderr=subprocess.STDOUT,
          text=True,
      )
      for argv in argvs
  ]
  outs = [p.communicate(timeout=900)[0] for p in procs]
  for p, out in zip(procs, outs):
    assert p.returncode == 0, out[-3000:]
  return outs


def saved(workdir, step=None):
  """The saved train state of a workdir's checkpoint (default: latest), written on
  any number of devices and processes."""
  return checkpointing.restore_on_one_device(os.path.join(workdir, "checkpoints"), step)


def assert_same(a, b, exact=True, rtol=1e-5, atol=1e-6):
  la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
  assert [p for p, _ in la] == [p for p, _ in lb]
  for (path, x), (_, y) in zip(la, lb):
    if exact:
      np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(path))
    else:
      np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=jax.tree_util.keystr(path))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
  return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def reference(cache, tmp_path_factory):
  """The uninterrupted run: train and evaluate, counting traces of the train step."""
  workdir = str(tmp_path_factory.mktemp("reference"))
  traces = []
  original = steps.train_step

  def counting(state, batch, *args, **kw):
    traces.append((batch["video"].shape, kw["bn_group_size"]))
    return original(state, batch, *args, **kw)

  steps.train_step = counting
  try:
    summary = train.train_and_evaluate(tiny_config(cache), workdir)
  finally:
    steps.train_step = original
  return dict(workdir=workdir, summary=summary, traces=traces)


def test_train_and_eval_end_to_end(reference, cache):
  plan = multigrid.Plan.from_config(train_config_prepared(cache))
  table = plan.step_table()
  summary, workdir = reference["summary"], reference["workdir"]
  assert summary["final_step"] == plan.num_steps
  ev = summary["eval"]
  assert ev["num_videos"] == 12 and ev["num_views"] == 24
  assert 0.0 <= ev["top1"] <= ev["top5"] <= 1.0
  results = json.load(open(os.path.join(workdir, f"eval_{plan.num_steps}.json")))
  assert len(results["predictions"]) == 12
  assert glob.glob(os.path.join(workdir, "events.out.tfevents.*"))
  assert os.path.getsize(os.path.join(workdir, "schedule.png")) > 10_000
  assert json.load(open(os.path.join(workdir, "config.json")))["model"]["width"] == 8
  # A checkpoint at each segment end and every 4 steps.
  saved_steps = sorted(
      int(os.path.basename(p))
      for p in glob.glob(os.path.join(workdir, "checkpoints", "*"))
      if os.path.basename(p).isdigit()
  )
  ends = {s.first_step + s.num_steps for s in plan.segments if s.num_steps}
  assert ends <= set(saved_steps) and {4, 8, 12, 16} <= set(saved_steps)
  # The run went through several shapes of both cycles, and says how long each took and
  # waited for its input; summary.json holds what train_and_evaluate returned.
  shapes = {f"{b}x{t}x{s}²" for b, t, s in plan.distinct_shapes()}
  assert len(shapes) >= 6 and set(summary["shapes"]) == shapes
  columns = (table[k] for k in ("batch_size", "num_frames", "crop_size"))
  counts = collections.Counter(f"{b}x{t}x{s}²" for b, t, s in zip(*columns))
  assert {k: v["steps"] for k, v in summary["shapes"].items()} == counts
  assert all(0 <= v["input_wait_seconds"] < v["seconds"] for v in summary["shapes"].values())
  loop = sum(v["seconds"] for v in summary["shapes"].values())
  assert loop == pytest.approx(summary["train_seconds"], rel=0.05)
  written = json.load(open(os.path.join(workdir, "summary.json")))
  assert written["shapes"] == summary["shapes"] and written["eval"]["top1"] == ev["top1"]
  assert written["train_seconds"] == summary["train_seconds"]
  # The accuracy curve ends with the final evaluation, after the whole loop.
  assert summary["evals"][-1]["step"] == plan.num_steps
  assert summary["evals"][-1]["top1"] == ev["top1"]
  assert summary["evals"][-1]["train_seconds"] == pytest.approx(summary["train_seconds"], rel=0.05)
  assert summary["bad_videos"] == 0 and not os.path.exists(os.path.join(workdir, "bad_videos.json"))


def test_summary_prints_the_run_beside_the_configs_reference(reference, capsys):
  summary = reference["summary"]
  assert 0 < summary["train_seconds"]
  ref = config_lib.base().reference
  main_lib.print_summary(summary, reference["workdir"], ref)
  out = capsys.readouterr().out
  assert "measured, baseline" not in out  # No reference in the config.
  # The evaluated split is named (the tiny config evaluates on val).
  assert f"Accuracy on the {load_config(TINY).data.eval_split} split: top-1" in out, out
  ref.unlock()
  ref.update(
      dict(
          baseline_top1=88.5,
          baseline_train_minutes=12.5,
          multigrid_top1=89.0,
          multigrid_train_minutes=4.25,
          measured_on="seeds 0-2, a 2-core machine",
      )
  )
  main_lib.print_summary(summary, reference["workdir"], ref)
  out = capsys.readouterr().out
  top1 = f"{100 * summary['eval']['top1']:.1f}%"
  assert re.search(rf"this run\s+{re.escape(top1)}\s+\d+ min \d\d s", out), out
  assert re.search(r"measured, config file\s+89.0%\s+4 min 15 s", out), out
  assert re.search(r"measured, baseline\s+88.5%\s+12 min 30 s", out), out
  assert "(measured with the config file's own settings: seeds 0-2, a 2-core machine)" in out


def train_config_prepared(cache):
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  return pipeline.prepare(tiny_config(cache))


def test_eval_mode_evaluates_the_given_checkpoint(reference, cache, tmp_path):
  """`python -m mgjax.main --mode=eval [--step N]`: the one evaluation entry point."""
  workdir = tmp_path / "run"
  shutil.copytree(os.path.join(reference["workdir"], "checkpoints"), workdir / "checkpoints")
  result = run_main(cache, str(workdir), "--mode=eval", "--step=16")
  assert result.returncode == 0, result.stderr[-3000:]
  printed = json.loads(result.stdout[result.stdout.index("{") :])
  written = json.load(open(workdir / "eval_16_custom.json"))
  assert printed == written["metrics"] and printed["num_videos"] == 12
  assert not (workdir / "eval_19_custom.json").exists()


def test_one_compile_per_step_shape(reference, cache):
  """Every step shape is traced (and compiled) exactly once, all before step 0."""
  plan = multigrid.Plan.from_config(train_config_prepared(cache))
  traces = reference["traces"]
  assert len(traces) == len(set(traces)), "a step shape was compiled twice"
  keys = compilation.step_keys(plan)
  assert sorted(((b, t, s, s, 3), g) for b, t, s, g in keys) == sorted(traces)
  assert reference["summary"]["compiled_shapes"] == len(keys)


def test_step_executable_does_not_depend_on_the_lr_schedule(cache):
  """Runs that differ only in their LR schedule lower to the same step program, so they
  share executables (and persistent-cache entries): the LR is an input of the step."""
  mesh = sharding.make_mesh()
  texts = []
  for overrides in (
      {},
      dict(optim__base_lr=0.3, optim__warmup_epochs=2.0, optim__warmup_start_lr=0.01),
      dict(optim__lr_policy="cosine"),
  ):
    c = tiny_config(cache, **overrides)
    model_def, state = steps.init_state(c, mesh)
    step_fn = functools.partial(steps.train_step, model_def=model_def, config=c)
    compiled = compilation.CompiledSteps(step_fn, mesh, steps.label_spec(c), state)
    key = compilation.step_keys(multigrid.Plan.from_config(c))[0]
    texts.append(compiled.lower(key).as_text())
  assert texts[0] == texts[1] == texts[2]


def test_train_step_update_is_linear_in_the_given_lr(cache):
  """The step applies exactly the LR it is given: no update at 0, twice the update at 2x."""
  c = tiny_config(cache)
  mesh = sharding.make_mesh()
  model_def, state = steps.init_state(c, mesh)
  b, t, s = multigrid.Plan.from_config(c).base_shape
  rng = np.random.default_rng(0)
  batch = sharding.global_batch(
      mesh,
      dict(
          video=rng.integers(0, 256, (b, t, s, s, 3), dtype=np.uint8),
          label=rng.integers(0, c.model.num_classes, (b,), dtype=np.int32),
      ),
  )
  step = jax.jit(
      lambda st, bt, lr: steps.train_step(
          st, bt, lr, model_def=model_def, config=c, bn_group_size=c.multigrid.bn_group_size
      )
  )
  before = jax.device_get(state["params"])
  delta = {}
  for lr in (0.0, 0.01, 0.02):
    new, _ = step(state, batch, np.float32(lr))
    delta[lr] = jax.tree.map(
        lambda a, b: np.asarray(a, np.float64) - b, jax.device_get(new["params"]), before
    )
  for d0, d1, d2 in zip(*(jax.tree.leaves(delta[k]) for k in (0.0, 0.01, 0.02))):
    np.testing.assert_array_equal(d0, 0.0)
    np.testing.assert_allclose(d2, 2 * d1, rtol=1e-3, atol=3e-7)
  assert any(np.abs(d).max() > 0 for d in jax.tree.leaves(delta[0.01]))


@pytest.mark.parametrize("kill_at", [6, 10])
def test_sigkill_and_resume_is_bit_identical(reference, cache, tmp_path, kill_at):
  """Killed after step 6 (last checkpoint at the segment end 5, so the resumed run
  crosses segment boundaries) or step 10 (inside a short cycle, checkpoint at 8)."""
  workdir = str(tmp_path / "run")
  killed = run_main(cache, workdir, "--mode=train", kill_at=kill_at)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  last, _ = saved(workdir)
  assert last < kill_at
  summary = train.train_and_evaluate(tiny_config(cache), workdir, evaluate_at_end=False)
  assert summary["start_step"] == last
  step, resumed = saved(workdir)
  _, uninterrupted = saved(reference["workdir"], step)
  assert_same(resumed, uninterrupted, exact=True)


def test_sigterm_saves_and_exits_cleanly(cache, tmp_path):
  workdir = tmp_path / "run"
  environ = dict(os.environ, XLA_FLAGS=conftest.xla_flags())
  log = tmp_path / "main.log"  # A file, not a pipe that nobody reads until the end.
  with open(log, "w") as out:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mgjax.main",
            f"--workdir={workdir}",
            "--mode=train",
            *flags_of(cache),
        ],
        cwd=REPO,
        env=environ,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
  try:
    conftest.wait_for(
        (workdir / "checkpoints" / "4").exists,
        "the checkpoint of step 4",
        [proc],
        limit_s=900,
        describe=lambda p: f"exited with {p.returncode}: {log.read_text()[-3000:]}",
    )
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=900)
  finally:
    if proc.poll() is None:
      proc.kill()
  out = log.read_text()
  assert proc.returncode == 0, out[-3000:]
  assert "SIGTERM" in out
  step, _ = saved(str(workdir))
  assert 4 <= step < 19


def test_restore_onto_four_devices(reference, cache, tmp_path):
  """A checkpoint written on 8 devices resumes on a 4-device mesh."""
  workdir = tmp_path / "run"
  (workdir / "checkpoints").mkdir(parents=True)
  os.symlink(
      os.path.join(reference["workdir"], "checkpoints", "12"), workdir / "checkpoints" / "12"
  )
  mesh = sharding.make_mesh(num_devices=4)
  summary = train.train_and_evaluate(
      tiny_config(cache), str(workdir), evaluate_at_end=False, mesh=mesh
  )
  assert summary["start_step"] == 12
  step, resumed = saved(str(workdir))
  _, uninterrupted = saved(reference["workdir"], step)
  assert_same(resumed["params"], uninterrupted["params"], exact=False, rtol=1e-4, atol=1e-5)


def test_damaged_latest_checkpoint_resumes_from_the_one_before(reference, cache, tmp_path):
  """The newest checkpoint (16) has a truncated array file: the run warns, moves it
  aside, resumes from 12 and ends bit-identical to the undisturbed run."""
  workdir = tmp_path / "run"
  for step in (12, 16):
    shutil.copytree(
        os.path.join(reference["workdir"], "checkpoints", str(step)),
        workdir / "checkpoints" / str(step),
    )
  data = max(
      glob.glob(str(workdir / "checkpoints" / "16" / "default" / "ocdbt.process_0" / "d" / "*")),
      key=os.path.getsize,
  )
  os.truncate(data, os.path.getsize(data) // 2)
  summary = train.train_and_evaluate(tiny_config(cache), str(workdir), evaluate_at_end=False)
  assert summary["start_step"] == 12
  assert [p.name.split("-")[0] for p in (tmp_path / "run" / "checkpoints_damaged").iterdir()] == [
      "16"
  ]
  step, resumed = saved(str(workdir))
  _, uninterrupted = saved(reference["workdir"], step)
  assert step == reference["summary"]["final_step"]
  assert_same(resumed, uninterrupted, exact=True)


def test_full_disk_during_a_save_stops_clearly_and_resumes_exactly(reference, cache, tmp_path):
  """Checkpoints on a tmpfs that a ballast file fills after one or two of them: the run
  stops with an error naming the filesystem, the last good checkpoint stays intact, and
  once the ballast is deleted a relaunch resumes and ends bit-identical."""
  one = sum(  # A checkpoint's footprint on tmpfs (whole pages), with room for its list.
      -(-os.path.getsize(os.path.join(root, f)) // 4096) * 4096 + 4096
      for root, _, files in os.walk(os.path.join(reference["workdir"], "checkpoints", "4"))
      for f in files
  )
  workdir, disk = tmp_path / "run", tmp_path / "disk"
  workdir.mkdir()
  disk.mkdir()
  size = 256 * 2**20  # Room for the rest of the run once the ballast is gone.
  mount = subprocess.run(
      ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
      capture_output=True,
      text=True,
  )
  # CI and development machines run as root; a test that cannot run must not pass.
  assert mount.returncode == 0, f"needs a size-limited tmpfs (root): {mount.stderr.strip()}"
  try:
    (disk / "checkpoints").mkdir()
    os.symlink(disk / "checkpoints", workdir / "checkpoints")
    with open(disk / "ballast", "wb") as f:
      f.write(b"\0" * (size - int(2.5 * one)))
    failed = run_main(cache, workdir, "--mode=train")
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert f"no space left on the filesystem mounted at {disk}" in failed.stderr, failed.stderr[
        -3000:
    ]
    # One line says it all (orbax also logs its writer thread's traceback).
    assert "\nerror: The checkpoint of step" in failed.stderr
    steps_left = sorted(int(p.name) for p in (disk / "checkpoints").iterdir() if p.name.isdigit())
    assert steps_left, "the disk was full before the first save"
    good = steps_left[-1]
    assert f"The checkpoint at step {good} is intact" in failed.stderr
    assert checkpointing.damage(disk / "checkpoints" / str(good)) is None
    os.remove(disk / "ballast")
    summary = train.train_and_evaluate(tiny_config(cache), str(workdir), evaluate_at_end=False)
    assert summary["start_step"] == good
    step, resumed = saved(str(workdir))
    _, uninterrupted = saved(reference["workdir"], step)
    assert step == reference["summary"]["final_step"]
    assert_same(resumed, uninterrupted, exact=True)
  finally:
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_nonfinite_loss_stops_with_last_good_checkpoint(cache, tmp_path):
  workdir = str(tmp_path / "run")
  with pytest.raises(train.NonFiniteLossError, match="loss is"):
    train.train_and_evaluate(
        tiny_config(
            cache, optim__base_lr=1e12, train__checkpoint_every_steps=1, train__max_steps=6
        ),
        workdir,
    )
  step, state = saved(workdir)
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state["params"]))
  assert step >= 1


def test_bad_config_fails_before_compiling(cache, tmp_path):
  workdir = tmp_path / "run"
  out = run_main(cache, workdir, **{"data__crop_size": 48})
  assert out.returncode != 0 and "config.data.crop_size" in out.stderr
  assert not (workdir / "checkpoints").exists()
  out = run_main(cache, workdir, "--config.optim.lr_polcy=cosine")
  assert out.returncode != 0 and "lr_polcy" in out.stderr
  # The model is checked before the dataset is looked at (its cache is empty here).
  out = run_main(
      cache, workdir, data__cache_dir=str(tmp_path / "no_data"), model__name="slowfast_r51_8x8"
  )
  assert out.returncode != 0 and "config.model.name: unknown model 'slowfast_r51_8x8'" in out.stderr
  assert not (tmp_path / "no_data").exists()


def test_init_from_checkpoint_reinitialises_a_different_head(reference, cache):
  """Fine-tuning: weights and BN statistics by path, a fresh classifier when the
  number of classes differs."""
  from mgjax.data import pipeline  # pylint: disable=g-import-not-at-top

  final, ref = saved(reference["workdir"])
  assert final == reference["summary"]["final_step"]
  mesh = sharding.make_mesh()
  for num_classes in (12, 5):
    c = pipeline.prepare(tiny_config(cache))
    with c.unlocked():
      c.model.num_classes = num_classes
      c.train.init_from = os.path.join(reference["workdir"], "checkpoints")
    _, state = steps.init_state(c, mesh)
    params, rest = checkpointing.load_init_params(c, state["params"], state["rest"], mesh)
    flat = dict(jax.tree_util.tree_leaves_with_path(params))
    ref_flat = dict(jax.tree_util.tree_leaves_with_path(ref["params"]))
    names = lambda d: {jax.tree_util.keystr(k, simple=True, separator="/"): v for k, v in d.items()}
    flat, ref_flat = names(flat), names(ref_flat)
    head = [k for k in flat if k.startswith("head/")]
    assert head
    for k, v in flat.items():
      if k in head and num_classes == 5:
        assert v.shape != ref_flat[k].shape
      else:
        np.testing.assert_array_equal(np.asarray(v), ref_flat[k], err_msg=k)
    stats = names(dict(jax.tree_util.tree_leaves_with_path(rest)))
    ref_stats = names(dict(jax.tree_util.tree_leaves_with_path(ref["rest"])))
    means = [k for k in stats if k.endswith("/mean")]
    assert means and all(np.array_equal(np.asarray(stats[k]), ref_stats[k]) for k in means)


def test_two_runs_started_at_once_share_fresh_caches_safely(reference, tmp_path):
  """Two runs start together on one empty dataset cache and one empty executable cache:
  both build, compile, store and load concurrently, finish, and end where the reference
  run (made alone) was at the same step."""
  shared = tmp_path / "shared"
  run_mains_at_once(
      [
          [f"--workdir={tmp_path / f'run{i}'}", "--mode=train", *flags_of(shared)]
          + ["--config.train.max_steps=5"]
          for i in range(2)
      ],
      devices=8,
  )
  assert len(glob.glob(str(shared / "data" / "synthetic-*" / "DONE"))) == 1
  assert glob.glob(str(shared / "xla" / "steps" / "*.exe"))
  _, alone = saved(reference["workdir"], 5)
  for i in range(2):
    step, state = saved(str(tmp_path / f"run{i}"))
    assert step == 5
    assert_same(state, alone, exact=True)


def test_two_processes_equal_one_process(reference, cache, tmp_path):
  """2 processes x 4 CPU devices (jax.distributed on loopback) train like 1 x 8."""
  import socket  # pylint: disable=g-import-not-at-top

  with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
  workdir = tmp_path / "run"
  outs = run_mains_at_once(
      [
          [f"--workdir={workdir}", *flags_of(cache), "--config.train.max_steps=5"]
          + [f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}"]
          for i in range(2)
      ],
      devices=4,
  )
  assert "JAX process 1/2, 8 devices (4 local)" in outs[1]
  step, two = saved(str(workdir))
  assert step == 5
  _, one = saved(reference["workdir"], 5)
  _, before = saved(reference["workdir"], 4)
  # Not bit-identical: gloo's cross-process reductions sum in another order, and five
  # SGD steps at LR up to 0.4 amplify that (measured: 1.2e-3 relative, 5% of one
  # step's change). A different batch or BN grouping would move the parameters by a
  # whole update, so compare with the size of the last step's change.
  a, b, c = (
      np.concatenate([np.ravel(x) for x in jax.tree.leaves(t["params"])])
      for t in (two, one, before)
  )
  assert a.shape == b.shape
  assert np.linalg.norm(a - b) <= 0.2 * np.linalg.norm(b - c)
  # The evaluation on two hosts counts every video exactly once.
  result = json.load(open(workdir / "eval_5.json"))
  assert result["metrics"]["num_videos"] == 12 and result["metrics"]["num_views"] == 24


def test_restarts_from_jax_cache_alone_store_no_executable(reference, cache, tmp_path):
  """With the executable cache emptied, a run's steps come from JAX's persistent cache.

  On XLA:CPU those do not serialize back with their machine code, so none may be stored:
  a later restart must still run (before the fix it failed at its first step with
  "Function ... not found").
  """
  del reference  # Filled both caches.
  steps_dir = os.path.join(tiny_config(cache).train.compile_cache_dir, "steps")
  stored = set(os.listdir(steps_dir))
  assert stored
  shutil.rmtree(steps_dir)
  for i in range(2):
    # The second run also asks for the libraries' INFO lines.
    result = run_main(
        cache, str(tmp_path / f"run{i}"), "--mode=train", *["--verbosity=1"] * i, train__max_steps=2
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "2 compiled or loaded" in out
    # What a person reads: the progress line and the segment; orbax's and clu's INFO
    # lines only when asked for.
    assert re.search(r"step 2/2 .*loss \d.* left", out) and "Segment 1/" in out
    assert ("checkpoint_manager.py" in out) == (i == 1), out[-3000:]
    assert ("logging_writer.py" in out) == (i == 1)
  assert not os.path.isdir(steps_dir) or not os.listdir(steps_dir)
