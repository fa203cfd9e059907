"""Quality and rate metrics: PSNR, MS-SSIM, bpp, BD-rate, BD-PSNR (spec/core-metrics.md).

Conventions (normative choices core.C10..core.C13):

* Images are ``(H, W)`` or ``(H, W, C)`` arrays (uint8 or float in [0, 255]);
  everything is computed in float64.
* PSNR: one MSE over every sample of every channel, peak 255 (core.C10).
* MS-SSIM: exactly the ``pytorch_msssim`` convention that CompressAI reports
  (Gaussian 11 / 1.5, valid filtering, ReLU on cs and on the last-scale SSIM,
  zero-padded 2x2 average pooling for odd sizes, per-channel then mean) (core.C11).
* BD-rate / BD-PSNR: the ``bjontegaard`` package's definitions (VCEG-M33 cubic and
  the JCT-VC/JVET pchip), re-implemented here in NumPy (core.C12).

These are float metrics: golden vectors compare them with a tolerance.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_WIN_SIZE = 11
SSIM_WIN_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
#: min(H, W) must exceed (11 - 1) * 2**4 = 160 for 5-scale MS-SSIM (as pytorch_msssim asserts).
MS_SSIM_MIN_SIDE = (SSIM_WIN_SIZE - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1


# ---------------------------------------------------------------------- input checks
def _pair(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate two images; return float64 (H, W, C) copies."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise InputError(f"{what}: images have different shapes {a.shape} and {b.shape}")
    if a.ndim not in (2, 3) or a.size == 0:
        raise InputError(f"{what}: expected a non-empty (H, W) or (H, W, C) image, got shape {a.shape}")
    for x in (a, b):
        if x.dtype.kind not in "uif" or x.dtype == np.bool_:
            raise InputError(f"{what}: unsupported dtype {x.dtype}")
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError(f"{what}: images contain NaN or infinity")
    if a.ndim == 2:
        a, b = a[:, :, None], b[:, :, None]
    return a, b


# ---------------------------------------------------------------------- PSNR, bpp
@implements("core.psnr", "core.C10")
def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR = 10 * log10(peak**2 / MSE),  MSE = mean over all H*W*C samples of (a - b)**2.

    a, b: (H, W) or (H, W, C), same shape; uint8 or float in [0, peak].
    Returns dB as a Python float; +inf when a == b.
    """
    if not (isinstance(peak, (int, float, np.integer, np.floating)) and 0 < float(peak) < math.inf):
        raise InputError(f"psnr: peak must be a positive finite number, got {peak!r}")
    x, y = _pair(a, b, "psnr")
    mse = float(np.mean((x - y) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(float(peak) ** 2 / mse)


@implements("core.bpp")
def bpp(nbytes: int, height: int, width: int) -> float:
    """Bits per pixel = 8 * nbytes / (H * W)  (whole file, container included; pixels, not samples)."""
    if height <= 0 or width <= 0 or nbytes < 0:
        raise InputError(f"bpp: need nbytes >= 0 and a positive size, got {nbytes}, {height}x{width}")
    return 8.0 * nbytes / (height * width)


# ---------------------------------------------------------------------- SSIM / MS-SSIM
#: The normative SSIM window (core.C11): the 11 float32 values pytorch_msssim's
#: ``_fspecial_gauss_1d(11, 1.5)`` produces (float32 exp and sum), as IEEE-754
#: binary32 bit patterns, widened exactly to float64.  Shipping the table keeps
#: ``exp`` out of the metric; the float64 formula of :func:`gaussian_window` differs
#: by 1-2 float32 ulp and moves MS-SSIM by ~5e-7.
MSSSIM_WINDOW_F32_BITS = (
    0x3A86CAB8, 0x3BF8FF01, 0x3D13758C, 0x3DDFF87F, 0x3E5A1E1F, 0x3E8832B0,
    0x3E5A1E1F, 0x3DDFF87F, 0x3D13758C, 0x3BF8FF01, 0x3A86CAB8,
)
MSSSIM_WINDOW = np.array(MSSSIM_WINDOW_F32_BITS, dtype=np.uint32).view(np.float32).astype(np.float64)
MSSSIM_WINDOW.setflags(write=False)


@implements("core.ms_ssim")
def gaussian_window(size: int = SSIM_WIN_SIZE, sigma: float = SSIM_WIN_SIGMA) -> np.ndarray:
    """g[k] = exp(-(k - size//2)**2 / (2 sigma**2)) / sum_j(...),  k = 0..size-1 (float64)."""
    coords = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of (H, W, C) with g along W, then along H.

    out[i, j] = sum_{u,v} g[u] g[v] x[i+u, j+v],  i < H - L + 1, j < W - L + 1.
    (g is symmetric, so correlation == convolution.)  Sums run k = 0..L-1 in order.
    """
    L = len(g)
    h, w = x.shape[0] - L + 1, x.shape[1] - L + 1
    t = g[0] * x[:, 0:w]
    for k in range(1, L):
        t = t + g[k] * x[:, k:k + w]
    out = g[0] * t[0:h]
    for k in range(1, L):
        out = out + g[k] * t[k:k + h]
    return out


def _ssim_cs(x: np.ndarray, y: np.ndarray, g: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean SSIM and mean contrast-structure term cs (each shape (C,)).

    mu_x = G*x, sigma_x^2 = G*(x^2) - mu_x^2, sigma_xy = G*(xy) - mu_x mu_y
    cs   = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)
    ssim = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) * cs,   C1 = (K1 L)^2, C2 = (K2 L)^2
    """
    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mu1 = _filter_valid(x, g)
    mu2 = _filter_valid(y, g)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = _filter_valid(x * x, g) - mu1_sq
    s2 = _filter_valid(y * y, g) - mu2_sq
    s12 = _filter_valid(x * y, g) - mu12
    cs_map = (2.0 * s12 + c2) / (s1 + s2 + c2)
    ssim_map = (2.0 * mu12 + c1) / (mu1_sq + mu2_sq + c1) * cs_map
    return ssim_map.mean(axis=(0, 1)), cs_map.mean(axis=(0, 1))


@implements("core.ms_ssim", "core.C11")
def avg_pool2_pytorch(x: np.ndarray) -> np.ndarray:
    """F.avg_pool2d(x, kernel_size=2, padding=(H % 2, W % 2)) on (H, W, C).

    An odd dimension gets one zero row/column at the *start* (the end padding is never
    reached), and zeros count in the average (count_include_pad=True): output size
    ceil(H/2) x ceil(W/2), out[i, j] = (sum of the 2x2 block at (2i - pH, 2j - pW)) / 4.
    """
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    if ph or pw:
        x = np.pad(x, ((ph, 0), (pw, 0), (0, 0)))
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4.0


@implements("core.ms_ssim")
def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0,
         window: np.ndarray | None = None) -> float:
    """Single-scale SSIM (pytorch_msssim ``ssim``, nonnegative_ssim=False): channel mean.

    window: 1-D filter (default :data:`MSSSIM_WINDOW`; pass ``gaussian_window()`` for the
    float64 formula that scikit-image uses)."""
    x, y = _pair(a, b, "ssim")
    g = MSSSIM_WINDOW if window is None else np.asarray(window, dtype=np.float64)
    if min(x.shape[:2]) < len(g):
        raise InputError(f"ssim: image side must be >= {len(g)}, got {x.shape[:2]}")
    s, _ = _ssim_cs(x, y, g, float(data_range))
    return float(s.mean())


@implements("core.ms_ssim", "core.C11")
def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0,
            weights: Sequence[float] = MS_SSIM_WEIGHTS, window: np.ndarray | None = None) -> float:
    """MS-SSIM, pytorch_msssim convention (what CompressAI reports).

    For scales j = 1..M (M = 5):  (ssim_j, cs_j) per channel; between scales both images
    go through :func:`avg_pool2_pytorch`.
        MS-SSIM_c = prod_{j<M} relu(cs_j,c)**w_j * relu(ssim_M,c)**w_M
        MS-SSIM   = mean over channels c
    a, b: (H, W) or (H, W, C), min(H, W) >= 161; data_range = 255 for 8-bit images.
    window: 1-D SSIM filter, default :data:`MSSSIM_WINDOW` (normative).
    """
    x, y = _pair(a, b, "ms_ssim")
    w = np.asarray(weights, dtype=np.float64)
    g = MSSSIM_WINDOW if window is None else np.asarray(window, dtype=np.float64)
    min_side = (len(g) - 1) * 2 ** (len(w) - 1) + 1
    if min(x.shape[:2]) < min_side:
        raise InputError(f"ms_ssim: min(H, W) must be >= {min_side} for {len(w)} scales, "
                         f"got {x.shape[0]}x{x.shape[1]}")
    terms = []
    for j in range(len(w)):
        s, cs = _ssim_cs(x, y, g, float(data_range))
        if j < len(w) - 1:
            terms.append(np.maximum(cs, 0.0))
            x, y = avg_pool2_pytorch(x), avg_pool2_pytorch(y)
        else:
            terms.append(np.maximum(s, 0.0))
    per_channel = np.prod(np.stack(terms) ** w[:, None], axis=0)
    return float(per_channel.mean())


# ---------------------------------------------------------------------- Bjontegaard
def _points(base: Sequence[float], metric: Sequence[float], what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(base, dtype=np.float64).ravel()
    y = np.asarray(metric, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise InputError(f"{what}: {x.size} rate points but {y.size} distortion points")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError(f"{what}: non-finite values")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if np.any(np.diff(x) <= 0):
        raise InputError(f"{what}: repeated abscissa values {x}")
    return x, y


@implements("core.C12")
def cubic_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares cubic y ~ c3 x^3 + c2 x^2 + c1 x + c0 (VCEG-M33; interpolating for 4 points).

    Solved like numpy.polyfit: Vandermonde columns [x^3, x^2, x, 1] scaled to unit
    2-norm, then SVD least squares.  Returns [c3, c2, c1, c0].
    """
    if len(x) < 4:
        raise InputError(f"cubic BD fit needs >= 4 points, got {len(x)}")
    v = np.vander(x, 4)
    scale = np.sqrt((v * v).sum(axis=0))
    c, *_ = np.linalg.lstsq(v / scale, y, rcond=len(x) * np.finfo(np.float64).eps)
    return c / scale


def _cubic_integral(c: np.ndarray, lo: float, hi: float) -> float:
    """int_lo^hi c3 x^3 + c2 x^2 + c1 x + c0 dx via the antiderivative (c3/4, c2/3, c1/2, c0, 0)."""
    p = np.array([c[0] / 4.0, c[1] / 3.0, c[2] / 2.0, c[3], 0.0])
    return float(np.polyval(p, hi) - np.polyval(p, lo))


def _pchip_edge(h0: float, h1: float, m0: float, m1: float) -> float:
    """One-sided three-point end slope, shape-preserving (Moler, pchiptx)."""
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > 3.0 * abs(m0):
        return 3.0 * m0
    return d


@implements("core.C12")
def pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PCHIP knot slopes d_k (Fritsch-Butland weighted harmonic mean; as scipy's
    PchipInterpolator):

    h_k = x_{k+1} - x_k, m_k = (y_{k+1} - y_k) / h_k
    interior: d_k = 0 if m_{k-1} m_k <= 0 (sign change or zero) else
              (w1 + w2) / (w1 / m_{k-1} + w2 / m_k),  w1 = 2h_k + h_{k-1}, w2 = h_k + 2h_{k-1}
    ends: :func:`_pchip_edge`;  2 points: d = m_0 at both ends (a straight line).
    """
    n = len(x)
    if n < 2:
        raise InputError(f"pchip BD needs >= 2 points, got {n}")
    h = np.diff(x)
    m = np.diff(y) / h
    if n == 2:
        return np.array([m[0], m[0]])
    d = np.zeros(n)
    for k in range(1, n - 1):
        if np.sign(m[k]) != np.sign(m[k - 1]) or m[k] == 0 or m[k - 1] == 0:
            d[k] = 0.0
        else:
            w1 = 2.0 * h[k] + h[k - 1]
            w2 = h[k] + 2.0 * h[k - 1]
            d[k] = 1.0 / ((w1 / m[k - 1] + w2 / m[k]) / (w1 + w2))
    d[0] = _pchip_edge(h[0], h[1], m[0], m[1])
    d[-1] = _pchip_edge(h[-1], h[-2], m[-1], m[-2])
    return d


def _pchip_integral(x: np.ndarray, y: np.ndarray, d: np.ndarray, lo: float, hi: float) -> float:
    """Exact integral over [lo, hi] (inside [x_0, x_-1]) of the cubic Hermite interpolant.

    On [x_k, x_{k+1}] with t = x - x_k:  p(t) = y_k + d_k t + a t^2 + b t^3,
    a = (3 m_k - 2 d_k - d_{k+1}) / h_k,  b = (d_k + d_{k+1} - 2 m_k) / h_k^2.
    """
    total = 0.0
    for k in range(len(x) - 1):
        left, right = max(lo, x[k]), min(hi, x[k + 1])
        if right <= left:
            continue
        h = x[k + 1] - x[k]
        m = (y[k + 1] - y[k]) / h
        a = (3.0 * m - 2.0 * d[k] - d[k + 1]) / h
        b = (d[k] + d[k + 1] - 2.0 * m) / (h * h)
        t0, t1 = left - x[k], right - x[k]

        def prim(t: float) -> float:
            return y[k] * t + d[k] * t**2 / 2.0 + a * t**3 / 3.0 + b * t**4 / 4.0

        total += prim(t1) - prim(t0)
    return total


def _bd_average(xa, ya, xt, yt, method: str, what: str) -> float:
    """Mean of (f_test - f_anchor) over the overlap of the two abscissa ranges."""
    if method not in ("cubic", "pchip"):
        raise InputError(f"{what}: unknown method {method!r} (cubic | pchip)")
    xa, ya = _points(xa, ya, what + " anchor")
    xt, yt = _points(xt, yt, what + " test")
    lo = max(xa[0], xt[0])
    hi = min(xa[-1], xt[-1])
    if not hi > lo:
        raise InputError(f"{what}: the anchor and test curves do not overlap")
    if method == "cubic":
        ia = _cubic_integral(cubic_fit(xa, ya), lo, hi)
        it = _cubic_integral(cubic_fit(xt, yt), lo, hi)
    else:
        ia = _pchip_integral(xa, ya, pchip_slopes(xa, ya), lo, hi)
        it = _pchip_integral(xt, yt, pchip_slopes(xt, yt), lo, hi)
    return (it - ia) / (hi - lo)


def _log_rates(rates: Sequence[float], what: str) -> np.ndarray:
    r = np.asarray(rates, dtype=np.float64).ravel()
    if not np.all(r > 0):
        raise InputError(f"{what}: rates must be positive")
    return np.log10(r)


@implements("core.bd_rate", "core.C12")
def bd_rate(rate_anchor: Sequence[float], psnr_anchor: Sequence[float],
            rate_test: Sequence[float], psnr_test: Sequence[float],
            method: str = "pchip") -> float:
    """BD-rate in percent (negative = test needs fewer bits for the same quality).

    r = log10(rate) as a function of D (quality, e.g. PSNR); f_a, f_t fitted by ``method``;
    over [lo, hi] = [max(min D_a, min D_t), min(max D_a, max D_t)]:
        avg = (int f_t - int f_a) / (hi - lo);   BD-rate = (10**avg - 1) * 100
    """
    avg = _bd_average(psnr_anchor, _log_rates(rate_anchor, "bd_rate anchor"),
                      psnr_test, _log_rates(rate_test, "bd_rate test"), method, "bd_rate")
    return (10.0**avg - 1.0) * 100.0


@implements("core.bd_psnr", "core.C12")
def bd_psnr(rate_anchor: Sequence[float], psnr_anchor: Sequence[float],
            rate_test: Sequence[float], psnr_test: Sequence[float],
            method: str = "pchip") -> float:
    """BD-PSNR in dB: D as a function of r = log10(rate), fitted by ``method``;
    average of (f_t - f_a) over the overlap of the log-rate ranges."""
    return _bd_average(_log_rates(rate_anchor, "bd_psnr anchor"), psnr_anchor,
                       _log_rates(rate_test, "bd_psnr test"), psnr_test, method, "bd_psnr")
