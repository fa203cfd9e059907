"""PSNR, bpp, SSIM/MS-SSIM (spec/core-metrics.md).

MS-SSIM is checked three ways: against an independent implementation written here
(scipy.ndimage filtering + loop pooling that follows torch's avg_pool2d index rule),
against scikit-image's SSIM for the single-scale part, and against values measured
with pytorch_msssim 1.0.0 (torch 2.13.0 CPU, float64 tensors) on the same images.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from ref.core.errors import InputError
from ref.core.metrics import (
    MS_SSIM_WEIGHTS,
    MSSSIM_WINDOW,
    avg_pool2_pytorch,
    bpp,
    gaussian_window,
    ms_ssim,
    psnr,
    ssim,
)
from ref.conformance.core_vectors.metrics_vectors import _gray_inputs, _noisy, _rgb_inputs
from ref.core.prng import Pcg32


# ---------------------------------------------------------------------- PSNR / bpp
@pytest.mark.eq("core.psnr", "core.C10")
def test_psnr_definition_over_all_channels():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10          # one sample off by 10: MSE = 100 / 48
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (100 / 48)), abs=1e-12)
    # one MSE over all samples, not the mean of per-channel PSNRs
    b[1, 1, 1] = 20
    overall = 10 * math.log10(255**2 / (500 / 48))
    assert psnr(a, b) == pytest.approx(overall, abs=1e-12)
    b[2, 2, 2] = 1
    per_channel_mean = np.mean([psnr(a[..., c], b[..., c]) for c in range(3)])
    assert per_channel_mean > psnr(a, b) + 1.0
    b[1, 1, 1] = b[2, 2, 2] = 0
    assert psnr(a, a) == math.inf
    assert psnr(a.astype(np.float64), b.astype(np.float32)) == psnr(a, b)
    assert psnr(a[..., 0], b[..., 0]) == pytest.approx(10 * math.log10(255**2 / (100 / 16)), abs=1e-12)


@pytest.mark.eq("core.psnr")
def test_psnr_rejects_bad_input():
    a = np.zeros((4, 4, 3), np.uint8)
    for bad in (np.zeros((4, 4, 2), np.uint8), np.zeros((4,), np.uint8), np.zeros((0, 4), np.uint8)):
        with pytest.raises(InputError):
            psnr(bad, bad if bad.ndim != 3 else a)
    f = np.zeros((4, 4))
    g = f.copy()
    g[0, 0] = np.nan
    with pytest.raises(InputError):
        psnr(f, g)


@pytest.mark.eq("core.bpp")
def test_bpp():
    assert bpp(12, 480, 736) == 8 * 12 / (480 * 736)
    assert bpp(0, 1, 1) == 0.0
    with pytest.raises(InputError):
        bpp(10, 0, 5)


# ---------------------------------------------------------------------- independent MS-SSIM
def _ref_filter(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """'valid' 2-D Gaussian filtering with scipy (full-size correlate, then crop)."""
    k = np.outer(g, g)
    r = len(g) // 2
    full = ndimage.correlate(x, k, mode="constant", cval=0.0)
    return full[r:x.shape[0] - r, r:x.shape[1] - r]


def _ref_pool(x: np.ndarray) -> np.ndarray:
    """torch avg_pool2d(kernel 2, stride 2, padding (H%2, W%2), count_include_pad) by loops."""
    h, w = x.shape
    ph, pw = h % 2, w % 2
    oh = (h + 2 * ph - 2) // 2 + 1
    ow = (w + 2 * pw - 2) // 2 + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            s = 0.0
            for u in range(2):
                for v in range(2):
                    ii, jj = 2 * i + u - ph, 2 * j + v - pw
                    if 0 <= ii < h and 0 <= jj < w:
                        s += x[ii, jj]
            out[i, j] = s / 4.0
    return out


def _ref_ms_ssim(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for c in range(a.shape[2]):
        x, y = a[..., c], b[..., c]
        prod = 1.0
        for level, w in enumerate(MS_SSIM_WEIGHTS):
            mx, my = _ref_filter(x, g), _ref_filter(y, g)
            vx = _ref_filter(x * x, g) - mx * mx
            vy = _ref_filter(y * y, g) - my * my
            cxy = _ref_filter(x * y, g) - mx * my
            cs = np.mean((2 * cxy + c2) / (vx + vy + c2))
            if level < len(MS_SSIM_WEIGHTS) - 1:
                prod *= max(cs, 0.0) ** w
                x, y = _ref_pool(x), _ref_pool(y)
            else:
                s = np.mean((2 * mx * my + c1) / (mx * mx + my * my + c1) * (2 * cxy + c2) / (vx + vy + c2))
                prod *= max(s, 0.0) ** w
        vals.append(prod)
    return float(np.mean(vals))


@pytest.mark.eq("core.ms_ssim", "core.C11")
def test_ms_ssim_matches_independent_implementation():
    for make in (_rgb_inputs, _gray_inputs):
        i = make()
        want = _ref_ms_ssim(i["a"], i["b"], MSSSIM_WINDOW)
        assert ms_ssim(i["a"], i["b"]) == pytest.approx(want, abs=1e-12)


@pytest.mark.eq("core.ms_ssim", "core.C11")
def test_avg_pool_matches_torch_index_rule():
    rng = Pcg32(1, 2)
    for h, w in ((5, 7), (6, 7), (5, 8), (6, 8), (1, 1), (3, 2)):
        x = rng.u32_array(h * w).reshape(h, w).astype(np.float64) % 1000
        got = avg_pool2_pytorch(x[..., None])[..., 0]
        assert got.shape == ((h + 1) // 2, (w + 1) // 2)
        assert np.array_equal(got, _ref_pool(x))
    x = np.arange(35, dtype=np.float64).reshape(5, 7) * 4 + 1
    assert avg_pool2_pytorch(x[..., None])[0, 0, 0] == 0.25  # zero row+column at the start


@pytest.mark.eq("core.ms_ssim")
def test_single_scale_ssim_matches_skimage():
    skm = pytest.importorskip("skimage.metrics")
    for make in (_rgb_inputs, _gray_inputs):
        i = make()
        a, b = i["a"], i["b"]
        kw = dict(win_size=11, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                  data_range=255)
        if a.ndim == 3:
            kw["channel_axis"] = -1
        want = skm.structural_similarity(a, b, **kw)
        # skimage's window is the float64 Gaussian (scipy, truncate 3.5 -> radius 5)
        assert ssim(a, b, window=gaussian_window()) == pytest.approx(want, abs=1e-10)
        # the normative float32-valued window moves SSIM only slightly
        assert ssim(a, b) == pytest.approx(want, abs=2e-5)


# Measured with pytorch_msssim 1.0.0 on torch 2.13.0+cpu, float64 tensors (N=1, C, H, W),
# data_range=255: ms_ssim(...) and ssim(...).  Images: the golden-vector inputs
# (metrics_vectors._rgb_inputs / _gray_inputs), a 192x208 even crop, and an inverted
# noise pair whose cs is negative (ReLU -> 0).
PYTORCH_MSSSIM_MEASURED = {
    "rgb_odd": (0.9888553526165814, 0.9057357321960003),
    "gray_odd": (0.9688367797995069, 0.7634555731938389),
    "rgb_even": (0.9288458716889934, 0.5860156504872797),
    "negative": (0.0, -0.9654807007779721),
}


def _peer_images():
    from ref.data.imageio import bundled_image_path, read_image

    out = {"rgb_odd": _rgb_inputs(), "gray_odd": _gray_inputs()}
    a = read_image(bundled_image_path())[100:292, 200:408]
    out["rgb_even"] = {"a": a, "b": _noisy(a, 99, 30)}
    x = Pcg32(5, 5).bounded_array(256, 161 * 170).astype(np.uint8).reshape(161, 170)
    out["negative"] = {"a": x, "b": 255 - x}
    return out


@pytest.mark.eq("core.ms_ssim", "core.C11")
def test_matches_pytorch_msssim_measurements():
    for name, imgs in _peer_images().items():
        want_ms, want_s = PYTORCH_MSSSIM_MEASURED[name]
        assert ms_ssim(imgs["a"], imgs["b"]) == pytest.approx(want_ms, abs=1e-12), name
        assert ssim(imgs["a"], imgs["b"]) == pytest.approx(want_s, abs=1e-12), name


@pytest.mark.eq("core.C11")
def test_window_table_is_pytorch_float32_window():
    formula = gaussian_window(11, 1.5)
    assert np.allclose(MSSSIM_WINDOW, formula, rtol=3e-7, atol=0)
    assert np.array_equal(MSSSIM_WINDOW, MSSSIM_WINDOW[::-1])
    assert MSSSIM_WINDOW.dtype == np.float64
    assert np.array_equal(MSSSIM_WINDOW.astype(np.float32).astype(np.float64), MSSSIM_WINDOW)
    assert abs(MSSSIM_WINDOW.sum() - 1.0) < 1e-6


@pytest.mark.eq("core.ms_ssim")
def test_ms_ssim_size_limit_and_errors():
    a = np.zeros((161, 161), np.uint8)
    assert ms_ssim(a, a) == 1.0
    with pytest.raises(InputError, match="161"):
        ms_ssim(a[:160], a[:160])
    with pytest.raises(InputError):
        ms_ssim(a, a[:, :160])
    with pytest.raises(InputError):
        ssim(a[:10, :10], a[:10, :10])


@pytest.mark.eq("core.ms_ssim")
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32), h=st.integers(161, 175), w=st.integers(161, 175),
       amp=st.integers(1, 60))
def test_ms_ssim_identity_symmetry_range(seed, h, w, amp):
    a = Pcg32(seed, 1).bounded_array(256, h * w).astype(np.uint8).reshape(h, w)
    b = _noisy(a, seed + 1, amp)
    assert ms_ssim(a, a) == 1.0
    v = ms_ssim(a, b)
    assert v == ms_ssim(b, a)
    assert 0.0 <= v <= 1.0
