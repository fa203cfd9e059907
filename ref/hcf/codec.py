"""Whole HCF base codec: uint8 image <-> container bytes (spec/hcf.md, eqs. hcf.1-hcf.5).

    encode: pad (hcf.C3) -> x = u8/255 (hcf.C4) -> y~ = g_a(x) (hcf.1) -> z = h_a(y~)
            -> z^ = round(z) -> indices = integer h_s(z^) (hcf.C5) -> r = round(y~ - mu_g) (hcf.2)
            -> rANS streams of z^ (factorized tables) and r (Gaussian tables) (hcf.3)
            -> container (hcf.C6; sections of ref.core.hyperprior.encode_hyperprior)
    decode: container -> z^ -> the same integer indices -> r -> y^ = r + mu_g (hcf.4)
            -> x^ = g_s(y^) (hcf.5) -> clip, round, crop (hcf.C4)
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from ref.core import pixels
from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core import hyperprior as HP
from ref.core import container as ctr
from ref.core import entropy_models as E
from ref.core.errors import BitstreamError, InputError
from ref.core.intnet import int_conditional_indices
from ref.core.registry import implements
from ref.hcf.config import LEVELS, MAX_SIDE, MIN_SIDE, PAD_MULTIPLE

F32 = jnp.float32


# --------------------------------------------------------------------------- signals
@implements("hcf.C3")
def pad_image(img: np.ndarray, multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """Edge-replication padding to multiples of ``multiple`` (ref.core.pixels.pad_edge)."""
    return pixels.pad_edge(img, multiple)


@implements("hcf.C4")
def to_network(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 1|3) -> float32 (1, H, W, 3) = u8 / 255 (ref.core.pixels.to_network)."""
    return pixels.to_network(img)


@implements("hcf.C4")
def to_uint8(x_hat, height: int, width: int, channels: int) -> np.ndarray:
    """float (1, H_p, W_p, 3) -> uint8 (H, W, channels) (ref.core.pixels.to_uint8)."""
    return pixels.to_uint8(x_hat, height, width, channels)


def check_size(height: int, width: int) -> None:
    """[hcf.C6] sides in MIN_SIDE..MAX_SIDE, else InputError."""
    for name, v in (("height", height), ("width", width)):
        if not MIN_SIDE <= v <= MAX_SIDE:
            raise InputError(f"hcf codes images with sides of {MIN_SIDE}..{MAX_SIDE} pixels; this image's "
                             f"{name} is {v}")


# --------------------------------------------------------------------------- networks (jitted)
@jax.jit
def _encoder_nets(params, x):
    from ref.hcf.model import analysis, hyper_analysis

    y = analysis(params, x)
    return y, hyper_analysis(params["hyper"], y)


@jax.jit
def _decoder_net(params, y_hat):
    from ref.hcf.model import synthesis

    return synthesis(params, y_hat)


@lru_cache(maxsize=8)
def get_model(level: int):
    from ref.hcf.checkpoint import load

    if level not in LEVELS:
        raise InputError(f"hcf quality level must be one of {', '.join(map(str, LEVELS))}, got {level}")
    return load(level)


# --------------------------------------------------------------------------- codec
@implements("hcf.3", "hcf.C5", "hcf.C6")
def encode_image(img: np.ndarray, level: int, model=None, *, times: dict | None = None) -> bytes:
    """Encode uint8 (H, W, 1|3) at quality ``level`` -> container bytes.

    model: an ref.hcf.checkpoint.HcfModel (default: the shipped checkpoint of ``level``).
    times: if a dict, receives per-stage milliseconds (nets = g_a + h_a, int_hs, coding).
    """
    from ref.data.imageio import check_image

    img = check_image(img)
    H, W, C = img.shape
    check_size(H, W)
    m = model if model is not None else get_model(level)
    t0 = time.perf_counter()
    y, z = _encoder_nets(m.params, jnp.asarray(to_network(pad_image(img))))
    y = np.asarray(y)
    z_hat = HP.quantize_z(z)
    t1 = time.perf_counter()
    idx = int_conditional_indices(m.p_int, z_hat)
    t2 = time.perf_counter()
    sections, _ = HP.encode_hyperprior(y, z_hat, m.z_tables, m.z_offsets, lambda _z: idx, radius=m.cfg.radius)
    header = {"level": level, "model": m.model_id, "height": H, "width": W, "channels": C}
    data = ctr.pack("hcf", header, [(k, sections[k]) for k in HP.SECTIONS])
    if times is not None:
        times.update(nets_ms=(t1 - t0) * 1e3, int_hs_ms=(t2 - t1) * 1e3,
                     coding_ms=(time.perf_counter() - t2) * 1e3)
    return data


#: [hcf.C6] the header holds exactly these fields, plus optionally OPTIONAL_KEYS
HEADER_KEYS = ("channels", "height", "level", "model", "width")
#: [hcf.hops] the hop history an intermediate node writes (ref.hcf.node_hops); the base encoder writes none
OPTIONAL_KEYS = ("hops",)


def _parse_header(c: ctr.Container) -> tuple[int, int, int, int]:
    """[hcf.C6] exactly HEADER_KEYS; level, height, width, channels uints, model a str; level
    in LEVELS, sides in MIN_SIDE..MAX_SIDE, H * W within the pixel cap (bits.C3), channels 1
    or 3; exactly the sections HP.SECTIONS in that order.  BitstreamError otherwise."""
    from ref.core.limits import check_declared_pixels

    if sorted(k for k in c.header if k not in OPTIONAL_KEYS) != sorted(HEADER_KEYS):
        raise BitstreamError(f"bitstream: hcf header fields {sorted(c.header)} are not {list(HEADER_KEYS)} "
                             f"(+ optional {list(OPTIONAL_KEYS)})")
    c.get("model", str)
    names = [n for n, _ in c.sections]
    if names != list(HP.SECTIONS):
        raise BitstreamError(f"bitstream: hcf sections {names} are not {list(HP.SECTIONS)}")
    level = c.get("level", int)
    if level not in LEVELS:
        raise BitstreamError(f"bitstream: hcf level {level} is not one of {', '.join(map(str, LEVELS))}")
    H, W, C = c.get("height", int), c.get("width", int), c.get("channels", int)
    if not (MIN_SIDE <= H <= MAX_SIDE and MIN_SIDE <= W <= MAX_SIDE) or C not in (1, 3):
        raise BitstreamError(f"bitstream: hcf image size {W}x{H}x{C} out of range")
    check_declared_pixels(H, W, "hcf header")
    if "hops" in c.header:
        from ref.hcf.node_hops import check_hops

        check_hops(c.get("hops", str), level)
    return level, H, W, C


@implements("hcf.4", "hcf.C5", "hcf.C6")
def decode_latent(c: ctr.Container, model=None, *, times: dict | None = None):
    """Container -> (y^ float32 (1, H_p/16, W_p/16, M), (level, H, W, C), model): hcf.4 only."""
    if c.system != "hcf":
        raise BitstreamError(f"bitstream: container holds a {c.system!r} stream, not hcf")
    level, H, W, C = _parse_header(c)
    try:
        m = model if model is not None else get_model(level)
    except InputError as exc:
        raise BitstreamError(f"bitstream: cannot decode an hcf level {level} stream: {exc}") from None
    if c.get("model", str) != m.model_id:
        raise BitstreamError(f"bitstream: the stream was made with model {c.get('model', str)!r}; this decoder "
                             f"has {m.model_id!r} for level {level} (another checkpoint)")
    t_int = []

    def indices(z_hat):
        t = time.perf_counter()
        idx = int_conditional_indices(m.p_int, z_hat)
        t_int.append(time.perf_counter() - t)
        return idx

    hp, wp = -(-H // PAD_MULTIPLE) * PAD_MULTIPLE, -(-W // PAD_MULTIPLE) * PAD_MULTIPLE
    # the latent size the header implies, checked before anything is entropy-decoded or allocated
    shape = HP._read_varints(c.section("shape"), 8)
    if tuple(shape[:6]) != (hp // 16, wp // 16, m.cfg.M, hp // 64, wp // 64, m.cfg.N):
        raise BitstreamError(f"bitstream: hcf latent sizes {shape[:6]} do not match a {W}x{H} image "
                             f"(expected {(hp // 16, wp // 16, m.cfg.M, hp // 64, wp // 64, m.cfg.N)})")
    if shape[7] != m.cfg.radius:
        raise BitstreamError(f"bitstream: hcf table radius {shape[7]} != the model's {m.cfg.radius}")
    t0 = time.perf_counter()
    y_hat, z_hat = HP.decode_hyperprior(c, m.z_tables, m.z_offsets, indices,
                                        expect_channels=(m.cfg.M, m.cfg.N), expect_mean_grid=m.cfg.mean_grid)
    if y_hat.shape != (1, hp // 16, wp // 16, m.cfg.M):
        raise BitstreamError(f"bitstream: latent {y_hat.shape[1]}x{y_hat.shape[2]} does not match a {W}x{H} image")
    if times is not None:
        times.update(int_hs_ms=sum(t_int) * 1e3, coding_ms=(time.perf_counter() - t0 - sum(t_int)) * 1e3)
    return y_hat, (level, H, W, C), m


#: g_s (hcf.5) is four 5x5 stride-2 transposed convolutions (each output reads input offsets
#: -1..1 of its own input, ref.core.phase_deconv) and pointwise IGDNs: an output row depends on
#: latent rows within 1 + 1/2 + 1/4 + 1/8 = 15/8 of it.  Banded synthesis gives each band
#: SYNTH_HALO >= 2 latent rows of context above and below and crops them.
SYNTH_HALO = 2
#: output pixels (halo included) of one synthesis band: ~2^21 keeps a band's 64-channel
#: activations to a few hundred MB whatever the image size.
SYNTH_BAND_PIXELS = 1 << 21


def synthesize_u8(params, y_hat: np.ndarray, height: int, width: int, channels: int, *,
                  band_pixels: int = SYNTH_BAND_PIXELS, halo: int = SYNTH_HALO) -> np.ndarray:
    """[hcf.5, hcf.C4] x^ = g_s(y^) -> uint8 (height, width, channels), in horizontal bands.

    params: level params; y_hat: float32 (1, h, w, M) latent.  Bands of b latent rows,
    (b + 2 halo) * 16 * 16w <= band_pixels (b >= 4), each synthesised with up to ``halo``
    latent rows of context on either side, cropped, rounded (hcf.C4) and stacked.  Equal to
    the one-call g_s up to float summation order (halo >= the 15/8-row receptive field);
    memory is bounded by band_pixels instead of the image size.
    """
    y_hat = np.asarray(y_hat, np.float32)
    h, w = y_hat.shape[1:3]
    b = max(4, band_pixels // (256 * w) - 2 * halo)
    if b >= h:
        return to_uint8(_decoder_net(params, jnp.asarray(y_hat)), height, width, channels)
    rows = []
    for r0 in range(0, h, b):
        r1 = min(h, r0 + b)
        a0, a1 = max(0, r0 - halo), min(h, r1 + halo)
        x = _decoder_net(params, jnp.asarray(y_hat[:, a0:a1]))
        u = to_uint8(np.asarray(x)[:, 16 * (r0 - a0):16 * (r1 - a0)], 16 * (r1 - r0), width, channels)
        rows.append(u)
        del x
    return np.concatenate(rows, axis=0)[:height]


def decode_container(c: ctr.Container, model=None, *, times: dict | None = None) -> np.ndarray:
    """Container -> uint8 image (H, W, C) (hcf.4, hcf.5 in bands, hcf.C4)."""
    y_hat, (level, H, W, C), m = decode_latent(c, model, times=times)
    t0 = time.perf_counter()
    out = synthesize_u8(m.params, y_hat, H, W, C)
    if times is not None:
        times["nets_ms"] = (time.perf_counter() - t0) * 1e3
    return out


def decode_bytes(data: bytes, model=None, *, times: dict | None = None) -> np.ndarray:
    return decode_container(ctr.unpack(data, expect_system="hcf"), model, times=times)
