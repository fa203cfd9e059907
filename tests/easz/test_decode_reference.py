"""The Easz decoder against a reference decoder written here from spec/easz.md alone.

The reference reads the container with ref.core.container.unpack (tested in tests/core),
unpacks the mask bits with np.unpackbits (easz.C9), decodes the inner file with Pillow,
unsqueezes with a per-row loop (easz.unsqueeze), fills erased pixels with a per-pixel
loop over the nearest kept pixels (easz.C16), rounds half up (easz.C12) and crops
(easz.C11).  None of ref.easz's own functions is used.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref.core.container import unpack
from ref.easz.codec import EaszParams, decode, encode


def smooth_image(h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.indices((h, w))
    base = 128 + 60 * np.sin(yy / 7.0 + seed)[:, :, None] * np.cos(xx / 11.0)[:, :, None]
    return np.clip(base + rng.normal(0, 4, (h, w, c)), 0, 255).astype(np.uint8)


def _line_estimate(values: np.ndarray, kept: np.ndarray, i: int):
    """Linear interpolation at index i of a 1-D line between the nearest kept samples
    (the nearest kept sample when only one side has one); None if the line has none."""
    left = [j for j in range(i - 1, -1, -1) if kept[j]][:1]
    right = [j for j in range(i + 1, len(kept)) if kept[j]][:1]
    if left and right:
        p, q = left[0], right[0]
        t = (i - p) / (q - p)
        return values[p] + t * (values[q] - values[p])
    if left:
        return values[left[0]]
    if right:
        return values[right[0]]
    return None


def reference_decode(data: bytes, model_fill=None) -> np.ndarray:
    """uint8 (H, W, C) from an easz container, from the spec (module docstring).
    ``model_fill(unsqueezed float32, keep bool) -> float32`` replaces the interpolation for
    recon = model."""
    from PIL import Image

    ct = unpack(data)
    hd = ct.header
    H, W, C, n, b, T = (int(hd[k]) for k in ("height", "width", "channels", "n", "b", "T"))
    g = n // b
    bits = np.unpackbits(np.frombuffer(ct.section("mask"), np.uint8))[: g * g].reshape(g, g)
    assert np.all(bits.sum(axis=1) == g - T)
    Hp, Wp = -(-H // n) * n, -(-W // n) * n
    K = np.array([[bits[(y % n) // b, (x % n) // b] == 1 for x in range(Wp)] for y in range(Hp)])
    sq = np.asarray(Image.open(io.BytesIO(ct.section("inner"))))
    if C == 1 and sq.ndim == 3:
        sq = np.asarray(Image.open(io.BytesIO(ct.section("inner"))).convert("L"))
    sq = sq.reshape(Hp, -1, C)
    unsq = np.zeros((Hp, Wp, C), np.float64)
    for y in range(Hp):
        cols = [x for x in range(Wp) if K[y, x]]
        for j, x in enumerate(cols):
            unsq[y, x] = sq[y, j]
    if model_fill is not None:
        est = np.asarray(model_fill(unsq.astype(np.float32), K), np.float64)
    else:
        est = np.zeros_like(unsq)
        for y in range(Hp):
            for x in range(Wp):
                if K[y, x]:
                    continue
                eh = _line_estimate(unsq[y], K[y], x)
                ev = _line_estimate(unsq[:, x], K[:, x], y)
                est[y, x] = 0.5 * (eh + ev) if eh is not None and ev is not None else (eh if eh is not None else ev)
    out = np.where(K[:, :, None], unsq, np.clip(np.floor(est + 0.5), 0, 255))
    return out[:H, :W].astype(np.uint8)


@settings(max_examples=12, deadline=None)
@given(st.integers(8, 56), st.integers(8, 56), st.sampled_from([1, 3]), st.sampled_from(["jpeg", "webp", "png"]),
       st.integers(0, 3), st.integers(0, 2**64 - 1))
@pytest.mark.eq("easz.container", "easz.unsqueeze", "easz.C9", "easz.C11", "easz.C12", "easz.C16")
def test_decode_equals_the_spec_reference(h, w, c, inner, T, seed):
    img = smooth_image(h, w, c, seed % 7)
    q = 0 if inner == "png" else 60
    data = encode(img, EaszParams(n=16, b=2, T=T, seed=seed, inner=inner, quality=q, recon="interp"))
    out = decode(data)
    ref = reference_decode(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out, ref), int(np.abs(out.astype(int) - ref).max())
    if inner == "png":  # lossless inner codec: kept pixels are the original's
        ct = unpack(data)
        g = 8
        bits = np.unpackbits(np.frombuffer(ct.section("mask"), np.uint8))[: g * g].reshape(g, g)
        K = np.kron(bits, np.ones((2, 2), np.uint8)).astype(bool)
        K = np.tile(K, (-(-h // 16), -(-w // 16)))[:h, :w]
        assert np.array_equal(out[K], img[K])


@pytest.mark.eq("easz.container", "easz.C12", "easz.C25")
def test_shipped_model_decode_equals_the_spec_reference():
    """recon = model: decode == reference assembly around ref.easz.recon.reconstruct (the
    model contract of easz.C12), kept pixels are the inner (PNG) ones = the original's."""
    from ref.core.errors import InputError

    try:
        from ref.easz import recon

        params, cfg = recon.load_default()
    except (ImportError, InputError) as exc:
        pytest.skip(f"no shipped easz model: {exc}")
    img = smooth_image(40, 72, 3, 1)
    data = encode(img, EaszParams(n=cfg.n, b=cfg.b, T=2, seed=2, inner="png", quality=0, recon="model"))
    out = decode(data)
    ref = reference_decode(data, lambda x, k: recon.reconstruct(params, x, k, cfg))
    assert np.array_equal(out, ref)
    assert (out != reference_decode(data)).any()        # the model path is not the interpolation
