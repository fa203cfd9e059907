"""Storage of trained cascade modules: ``ref/weights/hcf_cascade.safetensors``.

Layout (one file for all level pairs):

* ``phi<k>/inter/<path>`` and ``phi<k>/intra/<path>``: float16 tensors of φ^inter_{k->k-1} and
  φ^intra_{k->k-1} (ref.hcf.transform pytree paths joined by "/"), for every k stored;
* metadata ``levels`` (JSON list of the k stored), ``base_models`` (JSON {level: model
  identity of the base-codec checkpoint the modules were trained against,
  ref.hcf.checkpoint}), ``train`` (JSON training record).

Modules are only meaningful with the base checkpoints they were trained on: :func:`load`
returns the recorded identities so that a caller can refuse a mismatch.  Nothing here
trains; ``codecref train hcf-cascade`` (issue 14, not yet written) will call :func:`save`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ref.core.errors import InputError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_PATH = WEIGHTS / "hcf_cascade.safetensors"

__all__ = ["DEFAULT_PATH", "CascadeModules", "save", "load", "exists"]


class CascadeModules(NamedTuple):
    """modules: {k: {"inter": φ params, "intra": φ params}} (float32 numpy); base_models:
    {level: identity string}; train: the training record."""

    modules: dict
    base_models: dict
    train: dict


def _flat(prefix: str, tree: dict, out: dict) -> dict:
    for k in sorted(tree):
        v = tree[k]
        if isinstance(v, dict):
            _flat(f"{prefix}{k}/", v, out)
        else:
            out[prefix + k] = np.ascontiguousarray(np.asarray(v, np.float16))
    return out


def save(modules: dict, base_models: dict, train: dict, path: Path | None = None) -> Path:
    """Write ``modules`` ({k: {"inter", "intra"}}) as float16 with their metadata."""
    from safetensors.numpy import save_file

    path = Path(path or DEFAULT_PATH)
    tensors: dict = {}
    for k, pair in modules.items():
        if set(pair) != {"inter", "intra"}:
            raise InputError(f"level pair {k}: need both 'inter' and 'intra' modules, got {sorted(pair)}")
        _flat(f"phi{int(k)}/", pair, tensors)
    meta = {"levels": json.dumps(sorted(int(k) for k in modules)),
            "base_models": json.dumps({str(k): v for k, v in base_models.items()}), "train": json.dumps(train)}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=meta)
    return path


def exists(path: Path | None = None) -> bool:
    return Path(path or DEFAULT_PATH).is_file()


def load(path: Path | None = None) -> CascadeModules:
    """Read a cascade checkpoint (float16 values widened to float32).  InputError if the file
    is missing or damaged."""
    from safetensors import safe_open

    path = Path(path or DEFAULT_PATH)
    if not path.is_file():
        raise InputError(f"no cascade checkpoint at {path} (train one with the cascade training of issue 14)")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        levels = json.loads(meta["levels"])
        base = {int(k): v for k, v in json.loads(meta.get("base_models", "{}")).items()}
        train = json.loads(meta.get("train", "{}"))
    except Exception as exc:  # safetensors raises its own error type for damaged headers
        raise InputError(f"{path}: not a readable cascade checkpoint ({exc})") from None
    modules: dict = {}
    for name, v in tensors.items():
        parts = name.split("/")
        d = modules.setdefault(int(parts[0][3:]), {})
        for part in parts[1:-1]:
            d = d.setdefault(part, {})
        d[parts[-1]] = np.asarray(v, np.float32)
    if sorted(modules) != sorted(levels) or any(set(p) != {"inter", "intra"} for p in modules.values()):
        raise InputError(f"{path}: modules {sorted(modules)} do not match the recorded levels {levels}")
    return CascadeModules(modules, base, train)
