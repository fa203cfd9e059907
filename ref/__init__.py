"""codecref: reference implementation of four learned image-compression systems.

Importing ``ref`` pins the numerical environment *before* JAX is imported
(see :mod:`ref.core.runtime` and DESIGN "Determinism"): XLA fast-math off,
deterministic GPU ops, float64 enabled (code states its dtypes explicitly),
highest matmul precision, partitionable threefry.
"""

from ref.core import runtime as _runtime

_runtime.configure_environment()

__version__ = "0.1.0"
