"""Resumable training state in one file, written atomically.

A state file is safetensors: every leaf of ``params`` (key ``p:<path>``) and of the
optimiser state (``o:<index>`` in tree-flatten order), extra arrays (``x:<name>``), and
JSON metadata ``{"format": "codecref.train-state/1", "step": int, "meta": {...}}`` (the
data streams' RNG states, the run's settings).  It is written to ``<path>.tmp`` and moved
over ``<path>`` with ``os.replace``, so a run stopped at any moment leaves either the
previous state or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ref.core.errors import InputError

FORMAT = "codecref.train-state/1"


def _flatten_params(params) -> dict[str, np.ndarray]:
    import jax

    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return {"p:" + jax.tree_util.keystr(k): np.asarray(v) for k, v in flat}


def save_state(path, params, opt_state, step: int, meta: dict | None = None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
    """Write the training state atomically.  ``params``/``opt_state``: pytrees of arrays
    (device arrays are fetched); ``meta``: JSON-serialisable; ``arrays``: extra named arrays."""
    import jax
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = _flatten_params(jax.device_get(params))
    for i, leaf in enumerate(jax.tree_util.tree_leaves(jax.device_get(opt_state))):
        tensors[f"o:{i}"] = np.asarray(leaf)
    for k, v in (arrays or {}).items():
        tensors["x:" + k] = np.asarray(v)
    tensors = {k: np.ascontiguousarray(v.reshape(v.shape)) for k, v in tensors.items()}
    md = {"format": FORMAT, "state": json.dumps({"step": int(step), "meta": meta or {}})}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=md)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_state(path, params_like, opt_state_like):
    """Read a state written by :func:`save_state`.

    ``params_like`` / ``opt_state_like``: pytrees with the run's structure (e.g. freshly
    initialised); their leaves are replaced.  Returns (params, opt_state, step, meta, arrays)
    with numpy leaves.  Raises InputError when the file does not match the structure."""
    import jax
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), "numpy") as f:
            md = f.metadata() or {}
            t = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear error
        raise InputError(f"{path}: not a readable training state ({exc})") from None
    if md.get("format") != FORMAT:
        raise InputError(f"{path}: not a {FORMAT} file")
    st = json.loads(md["state"])

    flat, tdef = jax.tree_util.tree_flatten_with_path(params_like)
    leaves = []
    for k, v in flat:
        key = "p:" + jax.tree_util.keystr(k)
        if key not in t or t[key].shape != np.shape(v):
            raise InputError(f"{path}: parameter {key} missing or of another shape (different model settings?)")
        leaves.append(t[key])
    params = jax.tree_util.tree_unflatten(tdef, leaves)
    o_leaves, o_def = jax.tree_util.tree_flatten(opt_state_like)
    n_o = sum(k.startswith("o:") for k in t)
    if n_o != len(o_leaves):
        raise InputError(f"{path}: optimiser state has {n_o} leaves, this run {len(o_leaves)}")
    opt = jax.tree_util.tree_unflatten(o_def, [t[f"o:{i}"].astype(np.asarray(o).dtype)
                                               for i, o in enumerate(o_leaves)])
    arrays = {k[2:]: v for k, v in t.items() if k.startswith("x:")}
    return params, opt, int(st["step"]), st["meta"], arrays
