"""Parameter trees as golden-vector inputs: nested dicts <-> flat ``{dotted.path: array}``.

A vector stores a parameter pytree ``{"conv0": {"w": W, "b": B}}`` under the keys
``<prefix>conv0.w`` and ``<prefix>conv0.b`` (or with another separator; safetensors holds
flat names only);
``run`` rebuilds the tree from the keys that start with ``prefix``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def flatten(tree: dict | list | tuple, prefix: str = "", *, sep: str = ".", dtype=None,
            scalars_1d: bool = False) -> dict[str, np.ndarray]:
    """``{prefix + path joined by sep: C-contiguous ndarray}``.

    List/tuple items are keyed by their index; leaves are cast to ``dtype`` when given;
    0-d leaves become shape (1,) when ``scalars_1d``.
    """
    items = enumerate(tree) if isinstance(tree, (list, tuple)) else tree.items()
    out: dict[str, np.ndarray] = {}
    for key, value in items:
        if isinstance(value, (dict, list, tuple)):
            out.update(flatten(value, f"{prefix}{key}{sep}", sep=sep, dtype=dtype, scalars_1d=scalars_1d))
        else:
            a = np.asarray(value, dtype)
            out[f"{prefix}{key}"] = np.ascontiguousarray(a.reshape(1) if scalars_1d and a.ndim == 0 else a)
    return out


def unflatten(inputs: dict, prefix: str, *, sep: str = ".",
              leaf: Callable[[str, np.ndarray], Any] = lambda _key, a: a) -> dict:
    """The nested dict of every input whose name starts with ``prefix`` (path split on sep).

    leaf(last_key, value) -> stored leaf value (default: the input value itself).  Lists come
    back as dicts keyed "0", "1", ...: the caller knows which nodes were lists.
    """
    tree: dict = {}
    for name, value in inputs.items():
        if not name.startswith(prefix):
            continue
        node = tree
        parts = name[len(prefix):].split(sep)
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = leaf(parts[-1], value)
    return tree
