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
"""The runs of `multigrid_speedup.py`: each variant's config fields, what it is compared
with, the supplement's number for it, and the test views of §1.4.

Flag-free, so that tests and other scripts import it without the benchmark's absl flags.
"""

from __future__ import annotations

from typing import Any

# The deeper network of §1.1: R101 adds blocks to res4 only (6 -> 23); here res4 gets 3.
DEEP_DEPTHS = (1, 1, 3, 1)
_BASELINE = {"multigrid.long_cycle": False, "multigrid.short_cycle": False}
_LONG_SHORT = {"multigrid.long_cycle": True, "multigrid.short_cycle": True}
VARIANTS = {  # name: the config fields that make the variant.
    "baseline": _BASELINE,
    "long_short": _LONG_SHORT,
    "long": {"multigrid.long_cycle": True, "multigrid.short_cycle": False},
    "short": {"multigrid.long_cycle": False, "multigrid.short_cycle": True},
    "single": {**_LONG_SHORT, "multigrid.long_cycle_mode": "single"},
    "cosine_baseline": {**_BASELINE, "optim.lr_policy": "cosine"},
    "cosine": {**_LONG_SHORT, "optim.lr_policy": "cosine"},
    "cosine_single": {
        **_LONG_SHORT,
        "multigrid.long_cycle_mode": "single",
        "optim.lr_policy": "cosine",
    },
    "deep_baseline": {**_BASELINE, "model.depths": DEEP_DEPTHS},
    "deep_long_short": {**_LONG_SHORT, "model.depths": DEEP_DEPTHS},
}
# The default variants of a run without --variants: the ones measured on the motion task
# before the composite task's rows were added.
DEFAULT_VARIANTS = ("baseline", "long_short", "long", "short", "single", "cosine")
SEEDED = ("baseline", "long_short")  # Run for every seed; the others for the first seed.
# Each variant's speedup and accuracy difference are against this run of the same seed.
REFERENCE = {"deep_long_short": "deep_baseline", "cosine": "cosine_baseline"}
REFERENCE["cosine_single"] = "cosine_baseline"
LABELS = {
    "baseline": "baseline",
    "long_short": "multigrid long+short",
    "long": "long cycle only",
    "short": "short cycle only",
    "single": "single long cycle (long+short)",
    "cosine_baseline": "cosine LR baseline",
    "cosine": "cosine LR (long+short, multi-cycle)",
    "cosine_single": "cosine LR (long+short, single cycle)",
    "deep_baseline": f"deeper baseline (depths {DEEP_DEPTHS})",
    "deep_long_short": f"deeper multigrid long+short (depths {DEEP_DEPTHS})",
}
# The supplement's Kinetics-400 numbers for the same row (R50-SlowFast 8x8; the deeper
# rows are its R101): (speedup, top-1). Long or short cycle alone are the paper's
# Table 3 ablations, not in the supplement.
PAPER = {
    "baseline": ("-", 75.6),
    "long_short": ("4.5x", 76.4),
    "single": ("5.2x", 74.4),
    "cosine_baseline": ("-", 75.8),
    "cosine": ("4.2x", 75.3),
    "cosine_single": ("5.2x", 75.4),
    "deep_baseline": ("-", 76.5),
    "deep_long_short": ("4.4x", 77.0),
}
# The supplement's §1.4 (64-frame R50, top-1 %) at `test_views`' three tests: centre 224,
# 3-crop 224 and 3-crop 256.
PAPER_VIEWS = {"baseline": (75.9, 76.5, 77.2), "long_short": (77.6, 78.1, 78.1)}


def variant_config(config, name: str, seed: int | None = None):
  config = config.copy_and_resolve_references()
  config.update_from_flattened_dict(VARIANTS[name])
  if seed is not None:
    config.seed = seed
  return config


def test_views(config) -> dict[str, tuple[int, int]]:
  """The supplement's §1.4 tests at this scale: name -> (spatial crops, test crop).

  Centre and 3-crop (left, centre, right) at the training crop S0, and 3-crop at S0·8/7
  (the paper's 256 for a 224 training crop), each with the config's temporal views.
  """
  s0 = config.data.crop_size
  return {"center": (1, s0), "3crop": (3, s0), "3crop_8_7": (3, round(s0 * 8 / 7))}


def reference_run(results: list[dict[str, Any]], r: dict[str, Any]) -> dict[str, Any]:
  """The run `r` is compared with: `REFERENCE`'s variant of the same seed if it ran, else
  the baseline of that seed."""
  for name in (REFERENCE.get(r["name"]), "baseline"):
    match = next((x for x in results if (x["name"], x["seed"]) == (name, r["seed"])), None)
    if match is not None:
      return match
  raise ValueError(f"no baseline run for seed {r['seed']}")
