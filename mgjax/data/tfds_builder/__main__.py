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
"""`python -m mgjax.data.tfds_builder ...`: TFDS's `build` command on `mgjax_frame_store`.

The same code and flags as `tfds build mgjax_frame_store --imports mgjax.data.tfds_builder`,
for tensorflow-datasets releases whose `tfds` command needs apache-beam just to start.
"""

import sys
from typing import Sequence

from absl import app
from tensorflow_datasets.scripts.cli import build
from tensorflow_datasets.scripts.cli import cli_utils

import mgjax.data.tfds_builder  # pylint: disable=unused-import  # Registers the builder.


def main(argv: Sequence[str] | None = None) -> None:
  """Parses `tfds build` flags (dataset and --imports preset) and builds."""
  argv = list(sys.argv if argv is None else argv)
  argv = argv[:1] + ["mgjax_frame_store", "--imports", "mgjax.data.tfds_builder"] + argv[1:]
  parser = cli_utils.make_flags_parser(build.Args, description=__doc__.split("\n\n")[0])
  app.run(lambda args: args.execute(), argv=argv, flags_parser=parser)


if __name__ == "__main__":
  main()
