"""Shipped HCF checkpoints: ``ref/weights/hcf_q<k>.safetensors`` (spec/hcf.md hcf.C5, hcf.C6).

One file per quality level holds

* the float networks g_a, g_s, h_a, h_s and the float factorized density as float16 tensors
  under ``net/<path>`` (the model *is* these float16 values, widened to float32 for
  computing; half precision keeps a level at about 3.5 MB; they are also the warm start
  from which training continues, ``--init-from``);
* the factorized prior of z as integer tables (``entropy_bottleneck.freqs`` uint32,
  ``.offsets``, ``.radius``; [core.C9]), made once from the trained float density;
* the integer hyper-synthesis ``h_s_int.*`` (spec/core-intnet.md), made by post-training
  quantisation of the float16 h_s with calibration on ẑ of training crops;
* metadata ``config`` (HcfConfig JSON), ``train`` (training record JSON), ``model``
  (the identity written into every container: ``hcf_q<k>-<16 hex digits>``, the
  SHA-256 of every tensor's name, dtype, shape and bytes in name order).

The float h_s is kept for measuring the float path against the integer one; coding never
uses it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core.errors import InputError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
F32 = jnp.float32
NET = "net/"
CALIB_CROPS, CALIB_SIZE, CALIB_SEED = 16, 256, 12345


class HcfModel(NamedTuple):
    """A loaded level: float32 params (nested dict), config, integer tables and h_s, identity."""

    params: dict
    cfg: object
    z_tables: object
    z_offsets: np.ndarray
    p_int: dict
    model_id: str
    train: dict


def checkpoint_path(level: int) -> Path:
    return WEIGHTS / f"hcf_q{level}.safetensors"


def _flatten(tree, prefix: str) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    out = {}
    for k, v in leaves:
        name = prefix + "/".join(str(getattr(e, "key", getattr(e, "idx", e))) for e in k)
        out[name] = np.asarray(v)
    return out


def _unflatten(flat: dict[str, np.ndarray], template) -> dict:
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for k, v in paths:
        name = NET + "/".join(str(getattr(e, "key", getattr(e, "idx", e))) for e in k)
        if name not in flat or flat[name].shape != np.shape(v):
            raise InputError(f"hcf checkpoint lacks {name} or has another shape (damaged or another model)")
        leaves.append(jnp.asarray(flat[name], F32))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def model_identity(level: int, tensors: dict[str, np.ndarray]) -> str:
    """``hcf_q<k>-`` + first 16 hex digits of SHA-256 over (name, dtype, shape, bytes) of every
    tensor in name order (hcf.C6)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return f"hcf_q{level}-{h.hexdigest()[:16]}"


def calibration_z_hats(params: dict, n: int = CALIB_CROPS, size: int = CALIB_SIZE, seed: int = CALIB_SEED):
    """ẑ of ``n`` training crops (ref.data.crops.CropStream(size, seed)), int64 (n, size/64, size/64, N)."""
    from ref.data.crops import CropStream
    from ref.core.hyperprior import hyper_analysis
    from ref.hcf.model import analysis

    crops = CropStream(size, seed).batch(n)
    f = jax.jit(lambda p, x: hyper_analysis(p["hyper"], analysis(p, x)))
    out = []
    for i in range(0, n, 4):
        x = jnp.asarray(crops[i:i + 4].astype(np.float32) / 255.0)
        out.append(np.rint(np.asarray(f(params, x), np.float64)).astype(np.int64))
    return np.concatenate(out)


def build_tensors(params: dict, cfg, calib_z_hats) -> dict[str, np.ndarray]:
    """All tensors of a checkpoint from float params: float16 networks, integer factorized
    tables ([core.C9]) and the integer h_s ([core.intnet_ptq] of the float16 h_s on
    ``calib_z_hats``, int (B, h, w, N))."""
    from ref.core.entropy_models import factorized_to_checkpoint
    from ref.core.intnet import int_params_to_tensors
    from ref.core.intnet_ptq import quantize_hyper_synthesis

    params = round_to_f16(params)
    tensors = {k: v.astype(np.float16) for k, v in _flatten(params, NET).items()}
    tensors.update(factorized_to_checkpoint(params["hyper"]["z_prior"], cfg.radius))
    p_int = quantize_hyper_synthesis(jax.tree_util.tree_map(np.asarray, params["hyper"]["h_s"]),
                                     calib_z_hats, mean_grid=cfg.mean_grid)
    tensors.update(int_params_to_tensors(p_int))
    return {k: np.ascontiguousarray(v) for k, v in tensors.items()}


def round_to_f16(params: dict) -> dict:
    """The model's values: every float parameter rounded to float16, held as float32."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(np.asarray(a, np.float16), F32), params)


def model_from_tensors(tensors: dict[str, np.ndarray], cfg, level: int, train: dict | None = None) -> HcfModel:
    """HcfModel from checkpoint tensors (validated: shapes, integer tables, integer h_s)."""
    from ref.core.entropy_models import factorized_from_checkpoint
    from ref.core.intnet import int_params_from_tensors
    from ref.hcf.model import init_params

    params = _unflatten(tensors, init_params(jax.random.key(0), cfg.N, cfg.M))
    z_tables, z_offsets = factorized_from_checkpoint(tensors)
    p_int = int_params_from_tensors(tensors)
    if int(p_int["mean_grid"]) != cfg.mean_grid:
        raise InputError(f"checkpoint integer h_s uses mean grid {int(p_int['mean_grid'])}, config {cfg.mean_grid}")
    return HcfModel(params, cfg, z_tables, z_offsets, p_int, model_identity(level, tensors), train or {})


def export(level: int, params: dict, train: dict, out: Path | None = None) -> Path:
    """Write the shipped checkpoint of ``level`` from float params (see module docstring)."""
    from safetensors.numpy import save_file

    from ref.hcf.config import config_for

    cfg = config_for(level)
    tensors = build_tensors(params, cfg, calibration_z_hats(round_to_f16(params)))
    meta = {"config": json.dumps(cfg.to_dict()), "train": json.dumps(train), "model": model_identity(level, tensors)}
    out = Path(out) if out else checkpoint_path(level)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=meta)
    load.cache_clear()
    return out


def export_state(level: int, state_path: Path, out: Path | None = None) -> Path:
    """Export from a training state (ref.training.checkpoint) of ``level``."""
    from ref.hcf.config import config_for
    from ref.hcf.model import init_params
    from ref.training.checkpoint import load_state

    cfg = config_for(level)
    like = init_params(jax.random.key(0), cfg.N, cfg.M)
    from ref.hcf.train import make_optimizer

    params, _, step, meta, _ = load_state(state_path, like, make_optimizer(1e-4, 1).init(like))
    if meta.get("level") != level:
        raise InputError(f"{state_path} is a level {meta.get('level')} state, not level {level}")
    train = {**meta, "step": step, "state": str(state_path)}
    return export(level, params, train, out)


def load_float_params(path: Path) -> tuple[dict, dict]:
    """(float32 params incl. the float factorized density, metadata) of a checkpoint file,
    e.g. to warm-start or continue training from a shipped level."""
    from safetensors import safe_open

    from ref.hcf.config import HcfConfig
    from ref.hcf.model import init_params

    try:
        with safe_open(str(path), "numpy") as f:
            md = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        cfg = HcfConfig(**json.loads(md["config"]))
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable hcf checkpoint ({exc})") from None
    return _unflatten(tensors, init_params(jax.random.key(0), cfg.N, cfg.M)), md


@lru_cache(maxsize=8)
def load(level: int, path: str | None = None) -> HcfModel:
    """Load (and validate) the checkpoint of ``level`` (default: the shipped file)."""
    from safetensors import safe_open

    from ref.hcf.config import HcfConfig, config_for

    cfg = config_for(level)
    p = Path(path) if path else checkpoint_path(level)
    if not p.is_file():
        raise InputError(f"no hcf checkpoint for level {level} ({p} is missing)")
    try:
        with safe_open(str(p), "numpy") as f:
            md = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # noqa: BLE001 - a damaged file is one clear error
        raise InputError(f"{p}: not a readable hcf checkpoint ({exc})") from None
    stored = HcfConfig(**json.loads(md.get("config", "{}")))
    if stored != cfg:
        raise InputError(f"{p}: checkpoint configuration {stored} differs from level {level}'s {cfg}")
    m = model_from_tensors(tensors, cfg, level, json.loads(md.get("train", "{}")))
    if md.get("model") != m.model_id:
        raise InputError(f"{p}: checkpoint identity {md.get('model')!r} does not match its tensors ({m.model_id})")
    return m
