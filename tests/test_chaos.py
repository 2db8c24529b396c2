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
"""The whole distributed job under faults: tests/chaos.py at its small size.

Two trainer processes (jax.distributed on loopback), a tf.data service dispatcher and
two workers; one fault per case, each ending bit-identical to the undisturbed run.
"""

import re

import pytest

import chaos


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
  return {
      r["case"]: r for r in chaos.run("small", chaos.CASES, str(tmp_path_factory.mktemp("chaos")))
  }


def test_every_case_ends_bit_identical_to_the_undisturbed_job(rows):
  assert list(rows) == ["reference", *chaos.CASES]
  assert rows["reference"]["step"] == 12
  for case, row in rows.items():
    assert row["identical"], chaos.format_row(row)


def test_each_fault_happened_where_it_was_meant_to(rows):
  # The whole job restarted after a trainer died and resumed from a checkpoint of the
  # run (one at step 3 or later existed when the trainer was killed).
  resumed = int(re.search(r"resumed from step (\d+)", rows["trainer_kill"]["what"]).group(1))
  assert resumed in (3, 6, 9)
  # Killed while committing step 6: the relaunch resumed from step 3, the one before.
  assert "killed in the commit of step 6" in rows["save_kill"]["what"]
  assert rows["save_kill"]["what"].endswith("resumed from step 3")
  assert rows["worker_restart"]["what"].startswith("worker1 killed and restarted")
  assert rows["dispatcher_restart"]["what"].startswith("dispatcher killed and restarted")


def test_cli_rejects_an_unknown_case(capsys):
  with pytest.raises(SystemExit):
    chaos.main(["--cases", "trainer_kill,meteor"])
  assert "unknown cases ['meteor']" in capsys.readouterr().err
