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
"""The commands in the README and the user guide name real modules, flags and files.

Every `python -m mgjax...` command in the documentation is checked against the
module's own `--help` output: each flag it uses must exist, and every config file
it names must be in the repository. (The commands that train are run for real by
the other tests and the README's two Quickstart commands by CI.)
"""

import collections
import functools
import re
import shlex
import subprocess
import sys

import pytest

from conftest import REPO

DOCS = ("README.md", "docs/USER_GUIDE.md", "launch/USAGE.md")


def commands():
  """(doc, command) for every `python -m mgjax...` command in a code block."""
  found = []
  for doc in DOCS:
    text = (REPO / doc).read_text()
    for block in re.findall(r"```(?:sh|bash)?\n(.*?)```", text, re.S):
      for line in block.replace("\\\n", " ").splitlines():
        for part in line.split(" && "):
          if part.strip().startswith("python -m mgjax"):
            found.append((doc, part.split(" #")[0].strip()))
  return found


@functools.lru_cache(maxsize=None)
def help_text(module: str) -> str:
  out = subprocess.run(
      [sys.executable, "-m", module, "--helpfull"],
      cwd=REPO,
      capture_output=True,
      text=True,
      timeout=300,
  )
  text = out.stdout + out.stderr
  if "--helpfull" in text and "unrecognized" in text:  # argparse CLIs.
    out = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = out.stdout + out.stderr
  return text


def test_docs_have_commands():
  assert len(commands()) >= 15


@pytest.mark.parametrize("doc,command", commands())
def test_command_flags_and_files_exist(doc, command):
  words = shlex.split(command.replace("[", " ").replace("]", " ").replace("|", " "))
  module = words[2]
  text = help_text(module)
  assert "No module named" not in text, (doc, command)
  for word in words[3:]:
    if word.startswith("--") and not word.startswith("--config."):
      flag = word[2:].split("=")[0]
      assert re.search(rf"--(\[no\])?{re.escape(flag)}\b", text), (doc, command, flag)
    path = word.split("=")[-1]
    if path.startswith("configs/") and path.endswith(".py"):
      assert (REPO / path).exists(), (doc, command, path)


@pytest.mark.parametrize("doc", DOCS + ("benchmarks/RESULTS.md",))
def test_docs_have_no_repeated_paragraphs(doc):
  # A scripted edit once replaced an empty string and so wrote one paragraph
  # between every character of the README; the flags test above still passed.
  text = (REPO / doc).read_text()
  paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 80]
  repeated = [p[:80] for p, n in collections.Counter(paragraphs).items() if n > 1]
  assert paragraphs and not repeated, (doc, repeated[:3])


def test_results_name_no_local_paths():
  # Reports are written on one machine and read on others: a path such as a
  # temporary --outdir means nothing elsewhere (commands there say DIR).
  files = [REPO / "benchmarks" / "RESULTS.md"]
  files += sorted(
      f for f in (REPO / "benchmarks" / "results").iterdir() if f.suffix in (".md", ".json", ".txt")
  )
  local = re.compile(r"(?<![\w.~])/(tmp|root|home|work|Users|var/folders)/")
  found = [f.name for f in files if local.search(f.read_text())]
  assert len(files) > 10 and not found, found
