"""The lossless "compression multiplier": quantised latents -> bytes.

Two alternatives (spec/moc.md):

* mosaic (moc.C9) coded by a lossless image codec -- WebP (lossless) or PNG, via Pillow
  (moc.C11) -- as the paper and its peer do;
* the core rANS coder (spec/core-ans.md) with one *fitted* integer table per latent channel,
  stored in the container (moc.C12).

The multiplier is raw 8-bit bytes / coded bytes.  Latent symbols are uint8 (moc.C8).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from ref.core import ans
from ref.core.errors import BitstreamError, InputError
from ref.core.histogram import counts_from_bytes as core_counts_from_bytes
from ref.core.histogram import counts_to_bytes
from ref.core.registry import implements
from ref.core.tables import freqs_from_counts

__all__ = [
    "mosaic_layout", "mosaic_pack", "mosaic_unpack", "image_encode", "image_decode",
    "fit_counts", "counts_to_bytes", "counts_from_bytes", "freqs_from_counts",
    "ans_encode", "ans_decode", "TABLE_BITS",
]

TABLE_BITS = 12  # fitted histograms are stored normalised to sum to 2**12 (moc.C12)


# --------------------------------------------------------------------------- mosaic
@implements("moc.C9")
def mosaic_layout(channels: int) -> tuple[int, int, int]:
    """(planes P, tile rows nh, tile cols nw) of the mosaic of ``channels`` latent channels.

    P = 3 if channels % 3 == 0 else 1;  T = channels / P tiles per plane;
    nw = the smallest divisor of T with nw >= sqrt(T);  nh = T / nw.
    """
    if channels < 1:
        raise InputError("need at least one latent channel")
    P = 3 if channels % 3 == 0 else 1
    T = channels // P
    nw = min(d for d in range(1, T + 1) if T % d == 0 and d * d >= T)
    return P, T // nw, nw


@implements("moc.C9")
def mosaic_pack(sym: np.ndarray) -> np.ndarray:
    """Latent symbols (h, w, M) uint8 -> mosaic (nh*h, nw*w, P) uint8.

        mosaic[ti*h + y, tj*w + x, p] = sym[y, x, p*T + ti*nw + tj]
    (channel-major over planes, then tiles in raster order; walloc's
    'b (c nh nw) h w -> b (nh h) (nw w) c').
    """
    s = np.asarray(sym)
    if s.ndim != 3 or s.dtype != np.uint8:
        raise InputError(f"mosaic_pack expects (h, w, M) uint8, got {s.shape} {s.dtype}")
    h, w, M = s.shape
    P, nh, nw = mosaic_layout(M)
    t = s.reshape(h, w, P, nh, nw)
    return np.ascontiguousarray(t.transpose(3, 0, 4, 1, 2).reshape(nh * h, nw * w, P))


@implements("moc.C9")
def mosaic_unpack(mos: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of :func:`mosaic_pack`: (nh*h, nw*w, P) -> (h, w, M)."""
    m = np.asarray(mos)
    if m.ndim == 2:
        m = m[:, :, None]
    P, nh, nw = mosaic_layout(channels)
    if m.shape[2] != P or m.shape[0] % nh or m.shape[1] % nw:
        raise BitstreamError(f"mosaic of shape {m.shape} does not fit {channels} channels")
    h, w = m.shape[0] // nh, m.shape[1] // nw
    t = m.reshape(nh, h, nw, w, P)
    return np.ascontiguousarray(t.transpose(1, 3, 4, 0, 2).reshape(h, w, channels))


@implements("moc.C11")
def image_encode(mos: np.ndarray, fmt: str = "webp") -> bytes:
    """Mosaic (H, W, P) uint8, P in {1, 3} -> lossless WebP or PNG bytes (Pillow).

    WebP: ``lossless=True, quality=80, method=4, exact=True`` (Pillow's defaults, as the
    peer); PNG: ``optimize=True``
    (zlib level 9).  P = 1 is stored as a grey ('L') image.  The bytes depend on the
    libwebp / zlib version; only the decoded mosaic is normative.
    """
    m = np.asarray(mos)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    img = Image.fromarray(m, mode="L" if m.ndim == 2 else "RGB")
    buf = io.BytesIO()
    if fmt == "webp":
        img.save(buf, format="WEBP", lossless=True, quality=80, method=4, exact=True)
    elif fmt == "png":
        img.save(buf, format="PNG", optimize=True)
    else:
        raise InputError(f"unknown lossless format {fmt!r} (webp, png)")
    return buf.getvalue()


@implements("moc.C11")
def image_decode(data: bytes, planes: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """Lossless WebP/PNG bytes -> mosaic (H, W, planes) uint8.

    size: the (H, W) the container's header implies; when given, the payload's declared
    size, format (WEBP or PNG), frame count (1) and mode are checked *before* any pixel is
    decoded, so a payload declaring a huge image is rejected without allocating it."""
    try:
        img = Image.open(io.BytesIO(data))
        if size is not None:
            if img.format not in ("WEBP", "PNG"):
                raise BitstreamError(f"bitstream: moc latent payload is {img.format}, not WebP or PNG")
            if (img.height, img.width) != tuple(size):
                raise BitstreamError(f"bitstream: moc latent image is {img.width}x{img.height}, the header "
                                     f"implies {size[1]}x{size[0]}")
            if getattr(img, "n_frames", 1) != 1:
                raise BitstreamError(f"bitstream: moc latent image has {img.n_frames} frames, not 1")
            if img.mode not in ("L", "RGB", "RGBA"):
                raise BitstreamError(f"bitstream: moc latent image has mode {img.mode} (8-bit L or RGB)")
        img.load()
    except BitstreamError:
        raise
    except Exception as exc:  # Pillow raises many types
        raise BitstreamError(f"bitstream: moc latent image does not decode ({type(exc).__name__})") from None
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    if planes == 1 and a.shape[2] >= 3:
        a = a[:, :, :1]  # WebP has no grey mode: libwebp returns R = G = B
    if a.shape[2] != planes:
        raise BitstreamError(f"latent image has {a.shape[2]} planes, expected {planes}")
    return np.ascontiguousarray(a.astype(np.uint8))


# --------------------------------------------------------------------------- ANS
@implements("moc.C12")
def fit_counts(sym: np.ndarray, bits: int = 8) -> np.ndarray:
    """Per-channel histogram of symbols (..., M), normalised to sum to 2**TABLE_BITS.

    c = histogram over 0..2^b-1;  n_i = floor(c_i * 2^12 / sum c);  every observed symbol
    gets n_i >= 1 (taken from the largest counts); the rest of the deficit goes by largest
    remainder c_i * 2^12 mod sum c (ties: lower symbol).  Returns int64 (M, 2^b).
    """
    s = np.asarray(sym).reshape(-1, np.asarray(sym).shape[-1]).astype(np.int64)
    M = s.shape[1]
    K = 1 << bits
    total = 1 << TABLE_BITS
    out = np.zeros((M, K), np.int64)
    for m in range(M):
        c = np.bincount(s[:, m], minlength=K)[:K].astype(np.int64)
        n = c.sum()
        if n == 0:
            out[m] = 0
            out[m, K // 2] = total
            continue
        p = c * total
        f = p // n
        rem = p % n
        f = np.where((c > 0) & (f == 0), 1, f)
        diff = total - f.sum()
        if diff > 0:
            order = np.lexsort((np.arange(K), -rem))
            order = order[c[order] > 0]
            for i in range(int(diff)):
                f[order[i % len(order)]] += 1
        while diff < 0:  # too many forced 1s: take from the largest counts
            j = int(np.argmax(f))
            f[j] -= 1
            diff += 1
        out[m] = f
    return out


def counts_from_bytes(data: bytes, channels: int, bits: int = 8) -> np.ndarray:
    """Parse the per-channel table (core histogram bytes, [core.counts_bytes]) and check
    that every row sums to 2**TABLE_BITS (moc.C12); BitstreamError otherwise."""
    out = core_counts_from_bytes(data, channels, 1 << bits)
    if np.any(out.sum(axis=1) != (1 << TABLE_BITS)):
        raise BitstreamError(f"latent table does not sum to 2**{TABLE_BITS}")
    return out


@implements("moc.C12")
def ans_encode(sym: np.ndarray, bits: int = 8) -> tuple[bytes, bytes]:
    """Latent symbols (..., M) uint8 -> (table bytes, ANS stream bytes).

    Symbols are coded in C order of the latent array (positions raster order, channel
    fastest) with table index = channel.
    """
    s = np.asarray(sym)
    M = s.shape[-1]
    counts = fit_counts(s, bits)
    freqs = freqs_from_counts(counts)
    flat = s.reshape(-1).astype(np.int64)
    tidx = np.tile(np.arange(M, dtype=np.int64), flat.size // M)
    return counts_to_bytes(counts), ans.encode_groups([(flat, freqs, tidx)])


@implements("moc.C12")
def ans_decode(table: bytes, stream: bytes, shape: tuple[int, ...], bits: int = 8) -> np.ndarray:
    """Inverse of :func:`ans_encode` -> uint8 symbols of ``shape`` (last axis = M)."""
    M = shape[-1]
    freqs = freqs_from_counts(counts_from_bytes(table, M, bits))
    n = int(np.prod(shape))
    tidx = np.tile(np.arange(M, dtype=np.int64), n // M)
    dec = ans.AnsDecoder(stream)
    out = dec.pop(freqs, tidx)
    dec.finish()
    sym = out.astype(np.uint8).reshape(shape)
    check_table_fits(sym, table, bits)
    return sym


@implements("moc.C12")
def check_table_fits(sym: np.ndarray, table: bytes, bits: int = 8) -> None:
    """Decoder check of moc.C12: the stored table must be the fitted table of the decoded
    symbols (the encoder writes exactly ``counts_to_bytes(fit_counts(sym))``).  This also
    rejects an ANS stream read past its end: the extra symbols are 0 (spec/core-ans.md
    [core.ans_bytes]) and change the histogram.  BitstreamError otherwise."""
    if counts_to_bytes(fit_counts(sym, bits)) != bytes(table):
        raise BitstreamError("bitstream: moc latent table is not the fitted table of the decoded "
                             "symbols (moc.C12): corrupt or over-read ANS stream")


def multiplier(raw_bytes: int, coded_bytes: int) -> float:
    """Compression multiplier of the lossless stage: raw 8-bit bytes / coded bytes."""
    return raw_bytes / max(coded_bytes, 1)
