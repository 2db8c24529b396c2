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
"""Repository-wide rules: the format (pyproject.toml's pyink) and one direction of imports.

The layers inside `mgjax/`: config → multigrid → {data, models, steps, plotting} →
{checkpointing, compilation} → evaluate → train → main. Nothing imports a command-line
module (`main`, `schedule`, `models/__main__`), and no import goes back up a layer,
at module level or inside a function.
"""

import ast
import subprocess
import sys

from conftest import REPO

PACKAGE = REPO / "mgjax"
COMMAND_LINE = {"mgjax.main", "mgjax.schedule", "mgjax.models.__main__"}


def test_code_follows_the_formatter():
  out = subprocess.run(
      [sys.executable, "-m", "pyink", "--check", "--diff", "--quiet", "."],
      cwd=REPO,
      capture_output=True,
      text=True,
      timeout=600,
  )
  assert out.returncode == 0, "run `pyink .` to format:\n" + (out.stdout + out.stderr)[-5000:]


def module_name(path) -> str:
  parts = list(path.relative_to(REPO).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path) -> set[str]:
  """The mgjax modules a file imports, anywhere in it (a module's import of itself,
  which the process-pool workers use to pickle their functions, excluded)."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mgjax"):
      for alias in node.names:
        child = f"{node.module}.{alias.name}"
        is_module = (PACKAGE.parent / child.replace(".", "/")).with_suffix(".py").exists()
        found.add(child if is_module else node.module)
    elif isinstance(node, ast.Import):
      found.update(a.name for a in node.names if a.name.startswith("mgjax"))
  return found - {module_name(path), "mgjax"}


def import_graph() -> dict[str, set[str]]:
  return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_imports_point_one_way():
  graph = import_graph()
  assert {"mgjax.train", "mgjax.evaluate", "mgjax.steps", "mgjax.data.pipeline"} <= set(graph)
  for module, imported in graph.items():
    assert not imported & COMMAND_LINE, (module, imported & COMMAND_LINE)
  assert "mgjax.train" not in graph["mgjax.evaluate"]
  assert "mgjax.evaluate" not in graph["mgjax.steps"] | graph["mgjax.compilation"]
  assert not graph["mgjax.config"], graph["mgjax.config"]
  # No cycle: a depth-first search never meets a module on its own path.
  state = {}

  def visit(module, path):
    state[module] = "open"
    for child in sorted(graph.get(module, ())):
      assert state.get(child) != "open", " -> ".join(path + [child])
      if child not in state:
        visit(child, path + [child])
    state[module] = "done"

  for module in graph:
    if module not in state:
      visit(module, [module])
