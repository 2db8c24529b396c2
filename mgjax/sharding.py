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
"""Device mesh and the placement of state and batches.

Data parallelism over a `data` axis; a `model` axis of size 1 stays in the mesh
so model sharding can be added without touching the callers. The axes are Auto
(GSPMD): XLA propagates shardings through the model, which is what lets
GroupedBatchNorm reshape a sharded batch into BN groups and get the cross-device
reductions inserted for groups that span devices and none for groups that do not.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

DATA_AXIS = "data"
MODEL_AXIS = "model"


def make_mesh(num_devices: int | None = None) -> jax.sharding.Mesh:
  """A (data, model=1) mesh over all devices of all processes.

  Args:
    num_devices: use only the first this many devices (tests); None = all.

  Returns:
    The mesh.
  """
  devices = jax.devices()
  if num_devices is not None:
    devices = devices[:num_devices]
  return jax.make_mesh(
      (len(devices), 1),
      (DATA_AXIS, MODEL_AXIS),
      axis_types=(jax.sharding.AxisType.Auto,) * 2,
      devices=devices,
  )


def replicated(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Sharding of the train state: a full copy on every device."""
  return NamedSharding(mesh, P())


def batch_sharding(mesh: jax.sharding.Mesh) -> NamedSharding:
  """Sharding of a batch: the leading (clip) axis split over the data axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def global_batch(mesh: jax.sharding.Mesh, local: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
  """Assembles each process's slice of a batch into global arrays.

  Process p holds clips [p·B/P, (p+1)·B/P) of the global batch, which is the
  order of the mesh's data axis (devices are ordered by process).

  Args:
    mesh: the mesh.
    local: host-local arrays with the process's slice on the leading axis.

  Returns:
    Global arrays sharded over the data axis.
  """
  sharding = batch_sharding(mesh)
  count = jax.process_count()
  return {
      k: jax.make_array_from_process_local_data(
          sharding, np.asarray(v), (v.shape[0] * count,) + tuple(v.shape[1:])
      )
      for k, v in local.items()
  }


def abstract(tree: Any) -> Any:
  """ShapeDtypeStructs (shape, dtype and sharding) of a tree of arrays: what ahead-of-time
  lowering needs from a train state whose values do not matter."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)


def abstract_batch(mesh: jax.sharding.Mesh, shapes: Mapping[str, tuple[tuple[int, ...], Any]]):
  """ShapeDtypeStructs of a global batch, for ahead-of-time compilation."""
  sharding = batch_sharding(mesh)
  return {
      k: jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)
      for k, (shape, dtype) in shapes.items()
  }
