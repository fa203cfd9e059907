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
from ref.core.limits import check_declared_pixels
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
#: Header fields of a moc container (moc.C14): key -> type.  No other key is allowed.
HEADER_FIELDS = {"model": str, "h": int, "w": int, "c": int, "levels": int,
                 "latent_channels": int, "latent_bits": int, "lossless": str}
#: Sections of each lossless mode, in file order (moc.C14).  No other section is allowed.
MODE_SECTIONS = {"webp": ("latent",), "png": ("latent",), "ans": ("table", "ans")}
MAX_SIDE = 1 << 20  # a side above this is refused before the pixel cap is even computed


@dataclass(frozen=True)
class MocHeader:
    """A validated moc header: sizes (H, W, C), model name and config, lossless mode,
    and the latent shape (h, w, M) = (ceil(H/2^J), ceil(W/2^J), latent_channels)."""

    model: str
    H: int
    W: int
    C: int
    mode: str
    cfg: MocConfig
    params: dict = field(repr=False, compare=False)
    decode_fn: object = field(repr=False, compare=False)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        B = self.cfg.block
        return (-(-self.H // B), -(-self.W // B), self.cfg.latent_channels)


def _bad(msg: str) -> BitstreamError:
    return BitstreamError(f"bitstream: moc {msg}")


@implements("moc.C14", "bits.C3")
def parse_header(c: ctr.Container, *, resolve_model: bool = True) -> MocHeader:
    """Validate every header field and the section list of a moc container before any
    allocation sized by them (moc.C14, bits.C3); BitstreamError (exit 3) on any defect.

    Checks, in order: exactly the keys of HEADER_FIELDS, each of its type; 1 <= h, w <=
    2**20 and h * w within the pixel cap (ref.core.limits); c in {1, 3}; lossless in
    webp|png|ans and exactly that mode's sections; the model is one this decoder has
    (an unknown model, or a model whose checkpoint this build lacks, is a stream this
    decoder cannot decode: exit 3) and levels / latent_channels / latent_bits equal its
    configuration; c is the model's input channel count, or 1 through an RGB model.
    ``resolve_model=False`` (symbol-level tools and tests of custom configurations) skips
    the model lookup and instead range-checks 1 <= levels <= 8, 1 <= latent_channels <=
    4096, 1 <= latent_bits <= 8.
    """
    if c.system != "moc":
        raise _bad(f"decoder given a {c.system!r} container")
    hd = c.header
    missing = [k for k in HEADER_FIELDS if k not in hd]
    if missing:
        raise _bad(f"header lacks field(s) {', '.join(missing)}")
    extra = [k for k in hd if k not in HEADER_FIELDS]
    if extra:
        raise _bad(f"header has unknown field(s) {', '.join(extra)}")
    for k, kind in HEADER_FIELDS.items():
        if not isinstance(hd[k], kind):
            raise _bad(f"header field {k!r} is {type(hd[k]).__name__}, must be "
                       f"{'uint' if kind is int else 'str'}")
    H, W, C = hd["h"], hd["w"], hd["c"]
    if not (1 <= H <= MAX_SIDE and 1 <= W <= MAX_SIDE):
        raise _bad(f"image size {W}x{H} outside 1..{MAX_SIDE}")
    check_declared_pixels(H, W, "moc stream")
    if C not in (1, 3):
        raise _bad(f"c = {C}: an image has 1 or 3 channels")
    mode = hd["lossless"]
    if mode not in MODE_SECTIONS:
        raise _bad(f"unknown lossless mode {mode!r} (webp, png or ans)")
    names = tuple(n for n, _ in c.sections)
    if names != MODE_SECTIONS[mode]:
        raise _bad(f"{mode} stream must have sections {', '.join(MODE_SECTIONS[mode])} "
                   f"(has {', '.join(names) or 'none'})")
    if not resolve_model:
        J, M, b = hd["levels"], hd["latent_channels"], hd["latent_bits"]
        if not (1 <= J <= 8 and 1 <= M <= 4096 and 1 <= b <= 8):
            raise _bad(f"(levels, latent_channels, latent_bits) = {(J, M, b)} out of range")
        cfg = MocConfig(name=hd["model"], levels=J, latent_channels=M, latent_bits=b, in_channels=C)
        return MocHeader(hd["model"], H, W, C, mode, cfg, {}, None)
    try:
        params, cfg, dec = get_model(hd["model"])
    except InputError as exc:
        raise _bad(f"stream names a model this decoder does not have ({exc})") from None
    got = (hd["levels"], hd["latent_channels"], hd["latent_bits"])
    want = (cfg.levels, cfg.latent_channels, cfg.latent_bits)
    if got != want:
        raise _bad(f"header (levels, latent_channels, latent_bits) = {got} does not match "
                   f"model {hd['model']!r}: {want}")
    if C != cfg.in_channels and not (C == 1 and cfg.in_channels == 3):
        raise _bad(f"c = {C} but model {hd['model']!r} takes {cfg.in_channels} channel(s)")
    return MocHeader(hd["model"], H, W, C, mode, cfg, params, dec)


def read_symbols(c: ctr.Container, header: MocHeader | None = None) -> np.ndarray:
    """Latent symbols (h, w, M) uint8 from a moc container (header validated first)."""
    hd = header or parse_header(c, resolve_model=False)
    shape = hd.latent_shape
    b = hd.cfg.latent_bits
    if hd.mode == "ans":
        sym = packing.ans_decode(c.section("table"), c.section("ans"), shape, b)
    else:
        P, nh, nw = packing.mosaic_layout(shape[2])
        mos = packing.image_decode(c.section("latent"), P, (nh * shape[0], nw * shape[1]))
        sym = packing.mosaic_unpack(mos, shape[2])
    if sym.shape != shape:
        raise _bad(f"latent of shape {sym.shape}, header says {shape}")
    lo, hi = int(sym.min()), int(sym.max())
    if lo < 1 or hi > (1 << b) - 1:  # moc.C8: symbols lie in [1, 2^b - 1]
        raise _bad(f"latent symbols span [{lo}, {hi}], outside [1, {(1 << b) - 1}] (moc.C8)")
    return sym


_synth_cache: dict = {}


def decode_container(c: ctr.Container) -> np.ndarray:
    """moc container -> uint8 (H, W, C)."""
    hd = parse_header(c)
    sym = read_symbols(c, hd)
    cfg, dec, params = hd.cfg, hd.decode_fn, hd.params
    q = jnp.asarray(from_symbols(sym, cfg.latent_bits))
    key = (cfg, dec)
    if key not in _synth_cache:
        _synth_cache[key] = jax.jit(lambda p, q: synthesis(p, q, cfg, dec))
    xh = _synth_cache[key](params, q)
    out = to_uint8(xh)[: hd.H, : hd.W]
    if hd.C == 1 and out.shape[2] == 3:
        out = np.rint(out.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8)
    return out


def decode_bytes(data: bytes) -> np.ndarray:
    """Container bytes -> uint8 (H, W, C)."""
    return decode_container(ctr.unpack(data, expect_system="moc"))
