"""Kozachenko-Leonenko differential-entropy estimator ([core.kl_entropy], spec/core-knn.md).

    H^ = psi(N) - psi(k) + log c_d + (d / N) * sum_i log(2 rho_k(i))          (nats)

N samples x_i in R^d; rho_k(i) is the distance from x_i to its k-th nearest other sample
([core.knn_search]); psi is the digamma function; c_d is the volume of the norm's ball of
*diameter* 1 (radius 1/2):  max-norm c_d = 1;  Euclidean c_d = pi^(d/2) / (2^d Gamma(d/2 + 1)).
(Kozachenko & Leonenko 1987; the form of Kraskov, Stoegbauer & Grassberger 2004, eq. 20,
which HCF, paper 001, Fig. 3, uses for its latents.)  Bits: H^ / ln 2 ([core.C23]).

Normative choices around it (spec/core-knn.md):

* [core.C20] rho_k(i) = 0 for some i (duplicates / ties): the estimate is -inf and
  undefined; :func:`kl_entropy` raises InputError (count given, dithering suggested).
* [core.C21] a latent (B, H, W, C) gives N = B*H*W samples of d = C (one per position).
* [core.C22] quantised values are dithered by U(-1/2, 1/2) from PCG32 before estimating.
"""

from __future__ import annotations

import math

import numpy as np

from ref.core.errors import InputError
from ref.core.knn import knn_distances, validate_samples
from ref.core.prng import Pcg32, derive_seed
from ref.core.registry import implements

UNITS = ("nats", "bits")


def log_unit_ball_volume(d: int, norm: str) -> float:
    """log c_d: log volume of the d-dimensional ball of diameter 1 in the given norm.

    max-norm: the cube [-1/2, 1/2]^d, c_d = 1.
    euclidean: c_d = pi^(d/2) / (2^d Gamma(d/2 + 1)).
    """
    if norm == "max":
        return 0.0
    if norm == "euclidean":
        return 0.5 * d * math.log(math.pi) - d * math.log(2.0) - math.lgamma(0.5 * d + 1.0)
    raise InputError(f"norm must be max or euclidean, got {norm!r}")


@implements("core.C20")
def check_positive(rho_k: np.ndarray) -> None:
    """[core.C20]: every k-th neighbour distance must be > 0, else InputError.

    rho_k: (N,) float64.  A zero means at least k other samples coincide with x_i; log 0
    makes the estimate -inf, which is refused rather than returned.
    """
    zeros = int(np.count_nonzero(rho_k == 0.0))
    if zeros:
        raise InputError(
            f"{zeros} of {rho_k.size} samples have k-th neighbour distance 0 (duplicates or ties): "
            "the estimate would be -inf; dither quantised values (dither_seed / --dither-seed) or raise k")


@implements("core.kl_entropy", "core.C23")
def kl_entropy_from_distances(rho_k, d: int, k: int, norm: str = "max", unit: str = "nats") -> float:
    """H^ from the k-th neighbour distances ([core.kl_entropy]); float in ``unit``.

    rho_k: (N,) float64, rho_k(i) = distance from sample i to its k-th nearest other sample.
    d: dimension; k: the neighbour rank used; norm: "max" | "euclidean"; unit: "nats" | "bits".

        H^ = psi(N) - psi(k) + log c_d + d * mean(log(2 rho_k))   [nats];  bits = nats / ln 2
    """
    from scipy.special import digamma

    if unit not in UNITS:
        raise InputError(f"unit must be nats or bits, got {unit!r}")
    rho_k = np.asarray(rho_k, dtype=np.float64).reshape(-1)
    check_positive(rho_k)
    n = rho_k.size
    h = float(digamma(n) - digamma(k) + log_unit_ball_volume(d, norm) + d * np.mean(np.log(2.0 * rho_k)))
    return h if unit == "nats" else h / math.log(2.0)


@implements("core.kl_entropy")
def kl_entropy(samples, k: int = 4, norm: str = "max", unit: str = "nats", *,
               dither_seed: int | None = None, **knn_options) -> float:
    """Kozachenko-Leonenko entropy of (N, d) samples ([core.kl_entropy]).

    samples:     (N, d) real array, one sample per row (latents: :func:`latent_samples`).
    k:           neighbour rank, 1 <= k <= N - 1 (KSG's default 4).
    norm:        "max" (c_d = 1) or "euclidean".
    unit:        "nats" or "bits" ([core.C23]).
    dither_seed: if given, samples are quantised values: add U(-1/2, 1/2) dither from
                 :func:`dither_quantised` with this seed first ([core.C22]).
    knn_options: passed to :func:`ref.core.knn.knn_distances` (plan, devices, progress).

    Raises InputError for bad shapes, NaN/inf, N < k + 1 and zero distances ([core.C20]).
    """
    x = validate_samples(samples, k, norm)
    if unit not in UNITS:
        raise InputError(f"unit must be nats or bits, got {unit!r}")
    if dither_seed is not None:
        x = dither_quantised(x, dither_seed)
    rho = knn_distances(x, k, norm, **knn_options)[:, k - 1]
    return kl_entropy_from_distances(rho, x.shape[1], k, norm, unit)


@implements("core.C21")
def latent_samples(latent) -> np.ndarray:
    """[core.C21]: a latent (B, H, W, C) (NHWC) as N = B*H*W samples of d = C.

    Row r = (b*H + h)*W + w holds latent[b, h, w, :] (C-order reshape to (B*H*W, C)).
    A 3-D latent (H, W, C) is taken as B = 1.
    """
    y = np.asarray(latent)
    if y.ndim == 3:
        y = y[None]
    if y.ndim != 4:
        raise InputError(f"latent must be (B, H, W, C) or (H, W, C), got shape {y.shape}")
    return y.reshape(-1, y.shape[-1])


@implements("core.C22")
def dither_noise(seed: int, count: int) -> np.ndarray:
    """[core.C22]: ``count`` float64 values in (-1/2, 1/2), exact on every platform.

    rng = Pcg32(derive_seed(seed, "core", "kl_dither"), stream 0);  for each draw
    u = next_u32() >> 8 (24 bits):  v = (u + 1/2) * 2^-24 - 1/2   (exact in float64).
    """
    rng = Pcg32(derive_seed(seed, "core", "kl_dither"), 0)
    u = (rng.u32_array(count) >> np.uint32(8)).astype(np.float64)
    return (u + 0.5) * 2.0 ** -24 - 0.5


@implements("core.C22")
def dither_quantised(x, seed: int) -> np.ndarray:
    """[core.C22]: x + dither for quantised (integer-valued) samples, float64 (N, d).

    x: (N, d) real array (each value is expected to be an integer: a quantised latent).
    The draw for x[i, j] is number i*d + j of :func:`dither_noise` (row-major order).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"samples must be a 2-D array (N, d), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("samples contain NaN or inf")
    return x + dither_noise(seed, x.size).reshape(x.shape)
