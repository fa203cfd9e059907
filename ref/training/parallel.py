"""Data parallelism over every visible JAX device (jax.sharding).

A 1-D mesh with axis ``"data"`` over the devices; the batch (leading axis) is split over
it, parameters and optimiser state are replicated.  A ``jax.jit`` step compiled for these
shardings computes the same mean loss / gradient as on one device (XLA inserts the
all-reduce); only the order of the float additions differs.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError

AXIS = "data"


def data_mesh(devices=None):
    """1-D mesh over ``devices`` (default: every visible device)."""
    import jax
    from jax.sharding import Mesh

    devs = list(devices) if devices is not None else jax.devices()
    return Mesh(np.array(devs), (AXIS,))


def replicate(tree, mesh):
    """Put every leaf of ``tree`` on every device of ``mesh``."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P

    return jax.device_put(tree, NamedSharding(mesh, P()))


def shard_batch(tree, mesh):
    """Split the leading axis of every leaf of ``tree`` over ``mesh`` (must divide evenly)."""
    import jax
    from jax.sharding import NamedSharding, PartitionSpec as P

    n = mesh.devices.size
    for leaf in jax.tree_util.tree_leaves(tree):
        if np.shape(leaf)[0] % n:
            raise InputError(f"batch {np.shape(leaf)[0]} is not a multiple of the {n} devices; choose --batch "
                             f"as a multiple of {n}")
    return jax.device_put(tree, NamedSharding(mesh, P(AXIS)))


def describe(mesh) -> str:
    d = mesh.devices.ravel()
    return f"{len(d)} x {d[0].platform} device(s), batch sharded over '{AXIS}', params replicated"
