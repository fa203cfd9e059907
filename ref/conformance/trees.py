"""Parameter trees as golden-vector inputs: nested dicts <-> flat ``{dotted.path: array}``.

A vector stores a parameter pytree ``{"conv0": {"w": W, "b": B}}`` under the keys
``<prefix>conv0.w`` and ``<prefix>conv0.b`` (safetensors holds flat names only);
``run`` rebuilds the tree from the keys that start with ``prefix``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def flatten(tree: dict, prefix: str = "", *, scalars_1d: bool = False) -> dict[str, np.ndarray]:
    """``{prefix + dotted path: C-contiguous ndarray}``; 0-d leaves become shape (1,) if asked."""
    out: dict[str, np.ndarray] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}.", scalars_1d=scalars_1d))
        else:
            a = np.asarray(value)
            out[f"{prefix}{key}"] = np.ascontiguousarray(a.reshape(1) if scalars_1d and a.ndim == 0 else a)
    return out


def unflatten(inputs: dict, prefix: str,
              leaf: Callable[[str, np.ndarray], Any] = lambda _key, a: a) -> dict:
    """The nested dict of every input whose name starts with ``prefix``.

    leaf(last_key, array) -> stored leaf value (default: the array itself).
    """
    tree: dict = {}
    for name, value in inputs.items():
        if not name.startswith(prefix):
            continue
        node = tree
        parts = name[len(prefix):].split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = leaf(parts[-1], np.asarray(value))
    return tree
