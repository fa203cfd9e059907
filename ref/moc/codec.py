"""Whole moc codec: uint8 image <-> container bytes (spec/moc.md moc.C10, C13, C14).

    encode: pad (C10) -> x = u8/255 - 1/2 (C13) -> analysis -> round -> symbols (C8)
            -> mosaic + lossless WebP/PNG (C9, C11) | fitted table + ANS (C12) -> container (C14)
    decode: container -> symbols -> q -> synthesis (decoder network, inverse WPT) -> u8 -> crop

Models: the trained checkpoints of :mod:`ref.moc.model` (``rgb_16x`` default, ``rgb_4x``)
and the training-free PCA models of :mod:`ref.moc.linear` (``linear_rgb_16x`` ...).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ref.core import container as ctr
from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements
from ref.moc import packing
from ref.moc.companding import from_symbols, to_symbols
from ref.moc.config import MocConfig
from ref.moc.encoder import encode_latent, synthesis

__all__ = ["get_model", "encode_image", "decode_bytes", "decode_container", "pad_image",
           "to_input", "to_uint8", "EncodeInfo", "LOSSLESS", "DEFAULT_MODEL"]

LOSSLESS = ("webp", "png", "ans")
DEFAULT_MODEL = "rgb_16x"


# --------------------------------------------------------------------------- models
def get_model(name: str):
    """name -> (params, cfg, decode_fn).  decode_fn maps expanded latents to WPT coeffs."""
    from ref.moc.linear import LINEAR_MODELS, linear_decode, linear_model

    if name in LINEAR_MODELS:
        c, r = LINEAR_MODELS[name]
        params, cfg = linear_model(c, r, name=name)
        return params, cfg, linear_decode
    try:
        from ref.moc import model as mm
    except ImportError as exc:  # pragma: no cover - decoder package missing
        raise InputError(f"moc model {name!r} needs ref.moc.model ({exc})") from None
    if name not in mm.MODELS:
        known = ", ".join(list(mm.MODELS) + list(LINEAR_MODELS))
        raise InputError(f"unknown moc model {name!r} (known: {known})")
    if not mm.checkpoint_path(name).is_file():
        raise InputError(f"moc model {name!r}: checkpoint {mm.checkpoint_path(name).name} is not "
                         "shipped; train it (codecref train moc) or use --model linear_rgb_16x")
    params, cfg = mm.load(name)
    return params, cfg, mm.decoder_net


# --------------------------------------------------------------------------- signals
@implements("moc.C10")
def pad_image(img: np.ndarray, block: int) -> np.ndarray:
    """Pad (H, W, C) at the bottom/right to multiples of ``block`` (NumPy 'symmetric')."""
    H, W = img.shape[:2]
    ph, pw = (-H) % block, (-W) % block
    if not (ph or pw):
        return img
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="symmetric")


@implements("moc.C13")
def to_input(img: np.ndarray) -> jax.Array:
    """u8 -> x = u8/255 - 1/2 (float32)."""
    return jnp.asarray(np.asarray(img, np.float32) / np.float32(255.0) - np.float32(0.5))


@implements("moc.C13")
def to_uint8(x) -> np.ndarray:
    """x_hat -> clip(round_half_even((x_hat + 1/2) * 255), 0, 255) as uint8."""
    return np.clip(np.rint((np.asarray(x, np.float32) + 0.5) * 255.0), 0, 255).astype(np.uint8)


def _match_channels(img: np.ndarray, cfg: MocConfig) -> np.ndarray:
    C = img.shape[2]
    if C == cfg.in_channels:
        return img
    if C == 1 and cfg.in_channels == 3:
        return np.repeat(img, 3, axis=2)  # grey through an RGB model (moc.C13)
    raise InputError(f"image has {C} channel(s); model {cfg.name!r} takes {cfg.in_channels}")


# --------------------------------------------------------------------------- encode
@dataclass
class EncodeInfo:
    """Sizes and timings of one encode (milliseconds)."""

    nbytes: int = 0
    latent_raw: int = 0       # h*w*M bytes of 8-bit symbols
    latent_coded: int = 0     # bytes of the lossless stage (section payloads)
    times: dict = field(default_factory=dict)

    @property
    def multiplier(self) -> float:
        return packing.multiplier(self.latent_raw, self.latent_coded)


@implements("moc.C14", "moc.C15")
def encode_image(img: np.ndarray, params: dict, cfg: MocConfig, *, model: str | None = None,
                 lossless: str = "webp") -> tuple[bytes, EncodeInfo]:
    """uint8 (H, W, C) -> container bytes (+ sizes/timings)."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.dtype != np.uint8 or img.shape[0] < 1 or img.shape[1] < 1:
        raise InputError(f"expected a uint8 (H, W, C) image, got {img.shape} {img.dtype}")
    if lossless not in LOSSLESS:
        raise InputError(f"unknown --lossless {lossless!r} (choose {', '.join(LOSSLESS)})")
    H, W, C = img.shape
    info = EncodeInfo()
    t0 = time.perf_counter()
    x = to_input(pad_image(_match_channels(img, cfg), cfg.block))
    q = np.asarray(encode_latent(params, x, cfg))
    t1 = time.perf_counter()
    sym = to_symbols(q, cfg.latent_bits)
    header = {"model": model or cfg.name, "h": H, "w": W, "c": C, "levels": cfg.levels,
              "latent_channels": cfg.latent_channels, "latent_bits": cfg.latent_bits,
              "lossless": lossless}
    if lossless == "ans":
        table, stream = packing.ans_encode(sym, cfg.latent_bits)
        sections = [("table", table), ("ans", stream)]
    else:
        sections = [("latent", packing.image_encode(packing.mosaic_pack(sym), lossless))]
    t2 = time.perf_counter()
    data = ctr.pack("moc", header, sections)
    info.nbytes = len(data)
    info.latent_raw = sym.size
    info.latent_coded = sum(len(p) for _, p in sections)
    info.times = {"analysis_ms": (t1 - t0) * 1e3, "pack_ms": (t2 - t1) * 1e3}
    return data, info


# --------------------------------------------------------------------------- decode
def read_symbols(c: ctr.Container) -> np.ndarray:
    """Latent symbols (h, w, M) uint8 from a moc container."""
    hd = c.header
    try:
        H, W, J, M, b, mode = (int(hd["h"]), int(hd["w"]), int(hd["levels"]),
                               int(hd["latent_channels"]), int(hd["latent_bits"]), str(hd["lossless"]))
    except KeyError as exc:
        raise BitstreamError(f"moc header lacks field {exc}") from None
    B = 1 << J
    if not (0 < J <= 8 and 0 < M <= 4096 and 1 <= b <= 8 and H > 0 and W > 0):
        raise BitstreamError("moc header out of range")
    shape = (-(-H // B), -(-W // B), M)
    if mode == "ans":
        sym = packing.ans_decode(c.section("table"), c.section("ans"), shape, b)
    elif mode in ("webp", "png"):
        P, _, _ = packing.mosaic_layout(M)
        sym = packing.mosaic_unpack(packing.image_decode(c.section("latent"), P), M)
    else:
        raise BitstreamError(f"unknown lossless mode {mode!r}")
    if sym.shape != shape:
        raise BitstreamError(f"latent of shape {sym.shape}, header says {shape}")
    return sym


_synth_cache: dict = {}


def decode_container(c: ctr.Container) -> np.ndarray:
    """moc container -> uint8 (H, W, C)."""
    hd = c.header
    sym = read_symbols(c)
    params, cfg, dec = get_model(str(hd["model"]))
    if (cfg.levels, cfg.latent_channels, cfg.latent_bits) != (
            int(hd["levels"]), int(hd["latent_channels"]), int(hd["latent_bits"])):
        raise BitstreamError("container does not match its model's configuration")
    q = jnp.asarray(from_symbols(sym, cfg.latent_bits))
    key = (cfg, dec)
    if key not in _synth_cache:
        _synth_cache[key] = jax.jit(lambda p, q: synthesis(p, q, cfg, dec))
    xh = _synth_cache[key](params, q)
    out = to_uint8(xh)[: int(hd["h"]), : int(hd["w"])]
    if int(hd["c"]) == 1 and out.shape[2] == 3:
        out = np.rint(out.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8)
    return out


def decode_bytes(data: bytes) -> np.ndarray:
    """Container bytes -> uint8 (H, W, C)."""
    return decode_container(ctr.unpack(data, expect_system="moc"))
