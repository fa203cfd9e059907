"""Shipped ecf checkpoints: ``ref/weights/ecf_q<Q>.safetensors``.

One file per quality holds

* the float networks (g_a, g_s, h_a, h_s, z_prior, ctx, g_e) as float16 tensors under
  ``net/<path>`` (the model *is* these float16 values, widened to float32 for computing);
* the factorized prior of z as integer tables (``entropy_bottleneck.*``, [core.C9]), made
  once from the float16 density;
* the integer decoder-critical path ``ecf_int.*`` (ref.ecf.int_model.IntEcf: integer h_s,
  g_c and g_e), made by ``IntEcf.from_float`` (post-training quantisation of the float16
  model, calibrated on the latents of ``CALIB_CROPS`` training crops);
* metadata ``config`` (EcfConfig JSON), ``train`` (training record JSON), ``model``
  (``ecf_q<Q>-<16 hex digits>``: SHA-256 over every tensor's name, dtype, shape and bytes in
  name order), written into every container's header.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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

__all__ = ["checkpoint_path", "config_from_dict", "model_identity", "round_to_f16", "calibration_latents",
           "build_tensors", "export", "export_state", "load_float_params", "load_codec_model"]


def checkpoint_path(quality: int) -> Path:
    return WEIGHTS / f"ecf_q{quality}.safetensors"


def config_from_dict(d: dict):
    """EcfConfig from its to_dict() JSON form."""
    from ref.ecf.context_model import ContextConfig
    from ref.ecf.model import EcfConfig

    try:
        d = dict(d)
        d["ctx"] = ContextConfig(**d["ctx"])
        d["ge_hidden"] = tuple(d["ge_hidden"])
        return EcfConfig(**d)
    except (KeyError, TypeError) as exc:
        raise InputError(f"not an ecf configuration ({exc})") from None


def _name(path) -> str:
    return "/".join(str(getattr(e, "key", getattr(e, "idx", e))) for e in path)


def _flatten(tree) -> dict[str, np.ndarray]:
    return {NET + _name(k): np.asarray(v) for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _unflatten(flat: dict[str, np.ndarray], template) -> dict:
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for k, v in paths:
        name = NET + _name(k)
        if name not in flat or flat[name].shape != np.shape(v):
            raise InputError(f"ecf checkpoint lacks {name} or has another shape (damaged or another model)")
        leaves.append(jnp.asarray(flat[name], F32))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def model_identity(quality: int, tensors: dict[str, np.ndarray]) -> str:
    """``ecf_q<Q>-`` + first 16 hex digits of SHA-256 over (name, dtype, shape, bytes) of every
    tensor in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return f"ecf_q{quality}-{h.hexdigest()[:16]}"


def round_to_f16(params: dict) -> dict:
    """The model's values: every float parameter rounded to float16, held as float32."""
    return jax.tree_util.tree_map(lambda a: jnp.asarray(np.asarray(a, np.float16), F32), params)


def calibration_latents(params: dict, n: int = CALIB_CROPS, size: int = CALIB_SIZE,
                        seed: int = CALIB_SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(y_hat int64 (size/16, size/16, M), z_hat int64 (size/64, size/64, N))] of ``n`` training
    crops (ref.data.crops.CropStream(size, seed)): round_half_even of g_a and of h_a(y)."""
    from ref.data.crops import CropStream
    from ref.ecf.model import analysis, hyper_analysis

    crops = CropStream(size, seed).batch(n)

    def f(p, x):
        y = analysis(p, x)
        return y, hyper_analysis(p, y)

    fj = jax.jit(f)
    out = []
    for i in range(0, n, 4):
        y, z = fj(params, jnp.asarray(crops[i:i + 4].astype(np.float32) / 255.0))
        y = np.rint(np.asarray(y, np.float64)).astype(np.int64)
        z = np.rint(np.asarray(z, np.float64)).astype(np.int64)
        out.extend(zip(y, z))
    return out


def _int_model_class():
    """ref.ecf.int_model.IntEcf, or None while that module does not exist."""
    try:
        from ref.ecf.int_model import IntEcf
    except ModuleNotFoundError as exc:
        if exc.name == "ref.ecf.int_model":
            return None
        raise
    return IntEcf


def build_tensors(params: dict, cfg, calib=None) -> dict[str, np.ndarray]:
    """All tensors of a checkpoint from float params: float16 networks, integer factorized
    tables ([core.C9]) and, if ref.ecf.int_model exists, the integer path
    (IntEcf.from_float of the float16 model on ``calib`` (y_hat, z_hat) pairs, default
    :func:`calibration_latents`)."""
    from ref.core.entropy_models import factorized_to_checkpoint

    params = round_to_f16(params)
    tensors = {k: v.astype(np.float16) for k, v in _flatten(params).items()}
    tensors.update(factorized_to_checkpoint(params["z_prior"], cfg.radius))
    IntEcf = _int_model_class()
    if IntEcf is not None:
        calib = calibration_latents(params) if calib is None else calib
        tensors.update(IntEcf.from_float(params, cfg, calib).to_tensors())
    return {k: np.ascontiguousarray(v) for k, v in tensors.items()}


def export(quality: int, params: dict, train: dict, out: Path | None = None, cfg=None) -> Path:
    """Write the shipped checkpoint of ``quality`` from float params (see module docstring).
    cfg: defaults to config_for(quality)."""
    from safetensors.numpy import save_file

    from ref.ecf.model import config_for

    cfg = cfg or config_for(quality)
    tensors = build_tensors(params, cfg)
    meta = {"config": json.dumps(cfg.to_dict()), "train": json.dumps(train), "model": model_identity(quality, tensors)}
    out = Path(out) if out else checkpoint_path(quality)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=meta)
    return out


def export_state(quality: int, state_path: Path, out: Path | None = None) -> Path:
    """Export from a training state (ref.training.checkpoint) of ``quality``."""
    from ref.ecf.model import init_params
    from ref.ecf.train import make_optimizer
    from ref.training.checkpoint import load_state

    state_path = Path(state_path)
    if not state_path.is_file():
        raise InputError(f"no training state at {state_path}")
    from safetensors import safe_open

    with safe_open(str(state_path), "numpy") as f:
        md = json.loads((f.metadata() or {}).get("state", "{}"))
    meta = md.get("meta", {})
    if meta.get("system") != "ecf" or meta.get("quality") != quality:
        raise InputError(f"{state_path} is not an ecf quality {quality} state")
    cfg = config_from_dict(meta["config"])
    like = init_params(jax.random.key(0), cfg)
    params, _, step, meta, _ = load_state(state_path, like, make_optimizer(1e-4, 1).init(like))
    train = {k: v for k, v in meta.items() if k != "data"}
    train.update(step=step, state=str(state_path))
    return export(quality, params, train, out, cfg)


def _read(path: Path) -> tuple[dict, dict]:
    from safetensors import safe_open

    if not path.is_file():
        raise InputError(f"no ecf checkpoint at {path}")
    try:
        with safe_open(str(path), "numpy") as f:
            md = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # noqa: BLE001 - a damaged file is one clear error
        raise InputError(f"{path}: not a readable ecf checkpoint ({exc})") from None
    return tensors, md


def load_float_params(path) -> tuple[dict, object, dict]:
    """(float32 params, EcfConfig, metadata) of a checkpoint file."""
    from ref.ecf.model import init_params

    tensors, md = _read(Path(path))
    try:
        cfg = config_from_dict(json.loads(md["config"]))
    except (KeyError, ValueError) as exc:
        raise InputError(f"{path}: not an ecf checkpoint ({exc})") from None
    # the template's shapes only: jax.eval_shape traces init_params without running its ops
    template = jax.eval_shape(lambda: init_params(jax.random.key(0), cfg))
    return _unflatten(tensors, template), cfg, md


def load_codec_model(quality: int, path=None):
    """The checkpoint of ``quality`` (default ref/weights/ecf_q<Q>.safetensors) as
    ref.ecf.codec.EcfModel; InputError if missing, damaged, of another quality, without the
    integer path, or if its identity does not match its tensors."""
    from ref.core.entropy_models import factorized_from_checkpoint
    from ref.ecf.codec import EcfModel
    from ref.ecf.model import config_for

    p = Path(path) if path else checkpoint_path(quality)
    if not p.is_file():
        raise InputError(f"no ecf checkpoint for quality {quality} ({p} is missing)")
    params, cfg, md = load_float_params(p)
    if cfg.quality != quality or cfg != config_for(quality):
        raise InputError(f"{p}: checkpoint configuration differs from quality {quality}'s")
    tensors, _ = _read(p)
    model_id = model_identity(quality, tensors)
    if md.get("model") != model_id:
        raise InputError(f"{p}: checkpoint identity {md.get('model')!r} does not match its tensors ({model_id})")
    IntEcf = _int_model_class()
    if IntEcf is None:
        raise InputError("ref.ecf.int_model is missing: cannot build the integer decoder path")
    int_model = IntEcf.from_tensors(tensors)
    z_tables, z_offsets = factorized_from_checkpoint(tensors)
    return EcfModel(quality, cfg, params, z_tables, z_offsets, int_model, model_id)
