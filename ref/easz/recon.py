"""Server-side reconstruction of erased sub-patches with the Easz transformer.

Contract (used by ref.easz.codec):

    reconstruct(params, image, keep, cfg) -> float32 (H, W, C) in [0, 255]

* image: float32 (H, W, C), erased pixels = 0 (their values are ignored), H and W
  multiples of cfg.n; C = 3 (RGB) or C = 1 (grayscale: replicated to three channels,
  run through the RGB model, the three predicted channels averaged -- spec easz.C25).
* keep: bool (H, W), True = kept, constant inside every b x b sub-patch of the
  n x n patch grid.
* Kept pixels are returned bit-identical to the input; erased pixels are the model's
  prediction clipped to [0, 255] (no rounding here: the codec rounds, easz.C12).
* Patches are reconstructed independently (paper: "sub-patches can execute in parallel"):
  a patch's output depends only on that patch's kept pixels and mask.  The residual
  model's base (easz.C28) is the easz.C16 fill of each n x n patch on its own
  (:func:`ref.easz.interp.interpolate_per_patch`), as in training, where every 32 x 32
  crop is one patch.  Patches are processed in fixed chunks of CHUNK patches (the last one
  padded with all-kept patches) so that the floating-point computation of a patch does not
  depend on the image size: a patch decoded alone equals the same patch decoded in context
  (tests/easz/test_recon_independence.py).

``load_default()`` reads the shipped checkpoint ``ref/weights/easz_n32_b4.safetensors``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ref.core import runtime
from ref.core.errors import InputError
from ref.core.registry import implements
from ref.easz.interp import interpolate_per_patch
from ref.easz.model import ModelConfig, forward, patch_to_tokens, tokens_to_patch

jax = runtime.jax()

CHUNK = 64
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_CHECKPOINT = "easz_n32_b4.safetensors"


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], ModelConfig]:
    """(params, cfg) from a checkpoint written by ``codecref train easz``."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"easz model checkpoint {path} not found (train one with `codecref train easz`)")
    try:
        with safe_open(str(path), framework="numpy") as f:
            md = f.metadata() or {}
            params = {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}
        cfg = ModelConfig.from_metadata(md)
    except InputError:
        raise
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"{path}: not a valid easz checkpoint ({exc})") from None
    if md.get("format") != "codecref.easz.model/1":
        raise InputError(f"{path}: not an easz model checkpoint (format {md.get('format')!r})")
    return params, cfg


@functools.lru_cache(maxsize=1)
def _default():
    return load_checkpoint(WEIGHTS_DIR / DEFAULT_CHECKPOINT)


def load_default() -> tuple[dict[str, np.ndarray], ModelConfig]:
    """The shipped checkpoint (package data in ref/weights); InputError if it is missing."""
    path = WEIGHTS_DIR / DEFAULT_CHECKPOINT
    if not path.is_file():
        raise InputError(f"the shipped Easz model {path} is missing (reinstall codecref, or train it: "
                         "see docs/model-card-easz.md)")
    return _default()


@functools.lru_cache(maxsize=8)
def _jitted(cfg: ModelConfig):
    return jax.jit(lambda p, t, k, base: forward(p, t, k, cfg, base))


def token_keep(keep: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """(H, W) pixel mask -> (P, T) token mask (P patches row-major, T sub-patches row-major)."""
    h, w = keep.shape
    n, b = cfg.n, cfg.b
    k = keep[::b, ::b]
    if not np.array_equal(np.repeat(np.repeat(k, b, 0), b, 1), keep):
        raise InputError(f"keep mask is not constant inside every {b}x{b} sub-patch")
    g = n // b
    return k.reshape(h // n, g, w // n, g).transpose(0, 2, 1, 3).reshape(-1, g * g)


def image_tokens(x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """(H, W, 3) float32 -> (P, T, b*b*3) tokens, patches row-major (H, W multiples of n)."""
    h, w, c = x.shape
    patches = x.reshape(h // cfg.n, cfg.n, w // cfg.n, cfg.n, c).transpose(0, 2, 1, 3, 4).reshape(-1, cfg.n, cfg.n, c)
    return patch_to_tokens(patches, cfg.b)


@implements("easz.model", "easz.C25", "easz.C28")
def reconstruct(params, image, keep, cfg: ModelConfig) -> np.ndarray:
    """Fill the erased sub-patches of ``image`` from the model (module docstring)."""
    img = np.asarray(image)
    keep = np.asarray(keep)
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise InputError(f"easz reconstruct: expected (H, W, 1|3) image, got shape {img.shape}")
    h, w, c = img.shape
    if h % cfg.n or w % cfg.n or h == 0 or w == 0:
        raise InputError(f"easz reconstruct: {h}x{w} is not a multiple of n={cfg.n}")
    if keep.shape != (h, w) or keep.dtype != np.bool_:
        raise InputError(f"easz reconstruct: keep must be bool ({h}, {w}), got {keep.dtype} {keep.shape}")
    x = img.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise InputError("easz reconstruct: image has NaN/inf")
    if c == 1:
        out3 = reconstruct(params, np.repeat(x, 3, axis=2), keep, cfg)
        est = out3.mean(axis=2, keepdims=True, dtype=np.float32)
        return np.where(keep[:, :, None], x, est).astype(np.float32)
    if cfg.channels != 3:
        raise InputError(f"easz reconstruct: model has {cfg.channels} channels")
    tk = token_keep(keep, cfg)
    tok = np.where(tk[..., None], image_tokens(x, cfg), np.float32(0.0))
    # easz.C28: a residual model corrects the easz.C16 interpolation of each patch on its own
    base = image_tokens(interpolate_per_patch(np.where(keep[:, :, None], x, 0), keep, cfg.n).astype(np.float32),
                        cfg) if cfg.residual else np.zeros_like(tok)
    p = tok.shape[0]
    pad = (-p) % CHUNK

    def padded(a, fill):
        return np.concatenate([a, np.full((pad, *a.shape[1:]), fill, a.dtype)])

    tok_p, tk_p, base_p = padded(tok, 0), padded(tk, True), padded(base, 0)
    fn = _jitted(cfg)
    jp = {k: jax.numpy.asarray(v, jax.numpy.float32) for k, v in params.items()}
    preds = [np.asarray(fn(jp, tok_p[i:i + CHUNK], tk_p[i:i + CHUNK], base_p[i:i + CHUNK]))
             for i in range(0, p + pad, CHUNK)]
    pred = np.clip(np.concatenate(preds)[:p], 0.0, 255.0).astype(np.float32)
    out = np.where(tk[..., None], tok, pred)
    out = tokens_to_patch(out, cfg.n, cfg.b, 3)
    out = out.reshape(h // cfg.n, w // cfg.n, cfg.n, cfg.n, 3).transpose(0, 2, 1, 3, 4).reshape(h, w, 3)
    return np.where(keep[:, :, None], x, out).astype(np.float32)
