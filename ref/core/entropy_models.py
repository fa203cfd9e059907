"""Entropy models: float likelihoods for training, the float -> integer-index seam, coding glue.

Three layers (DESIGN "Determinism"):

1. **Training likelihoods** (JAX, float): :func:`factorized_likelihood`,
   :func:`gaussian_likelihood`, :func:`laplace_likelihood`, :func:`gmm_likelihood`.  They
   return P(y_hat) of the quantised/noisy latent; the rate term is -log2 of it.
2. **The seam** (NumPy, float -> int): :func:`scale_index`, :func:`mean_index`,
   :func:`conditional_indices`, :func:`gmm_indices`.  Whatever network produces the entropy
   parameters ends here; from this point on everything is integer.  A float network in front
   of the seam is not portable (one ulp at a bin boundary flips an index, [core.C32]); the
   integer hyper-synthesis (spec/core-intnet.md) outputs these indices directly.
3. **Coding** (integers only): tables from :mod:`ref.core.tables`, escape from
   :mod:`ref.core.escape`, the ANS coder from :mod:`ref.core.ans`.

Factorized density tables are made once per checkpoint from the float model
(:func:`factorized_tables`, [core.C9]) and stored as integers in the checkpoint.

Typical use in a mean-scale hyperprior codec (``ref.core.hyperprior`` does exactly this)::

    z_hat = to_symbols(z)                                        # (..., Cz) int64
    g_z, esc_z = E.encode_factorized(z_hat, z_tables, z_offsets) # tables from the checkpoint
    idx = indices_fn(z_hat)          # ConditionalIndices: integer path (spec/core-intnet.md)
    r = E.quantize_conditional(y, idx)                           # r = round(y - mean_idx/M)
    g_y, esc_y = E.encode_conditional(r, idx)                    # zero-mean table of scale_idx
    # decoder: r = E.decode_conditional(dec, idx, esc_y); y_hat = E.dequantize_conditional(r, idx)
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple, Sequence

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 + highest matmul precision even if jax was imported first

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core import tables as T
from ref.core.errors import InputError
from ref.core.escape import decode_values, encode_values
from ref.core.gdn import lower_bound
from ref.core.registry import implements

SCALE_BOUND = 0.11          # CompressAI GaussianConditional scale_bound (= scale_table[0])
LIKELIHOOD_BOUND = 1e-9     # CompressAI likelihood_lower_bound
DEFAULT_RADIUS = 1024       # default support [-R, R] of the Gaussian/Laplace table sets
DEFAULT_MEAN_GRID = 8       # [core.C5]: M = 8 costs +0.06% rate vs an exact mean, M = 1 +7.4% (spec)
MAX_MEAN_GRID = 1024


# =========================================================================== 1. likelihoods
def init_factorized(key, channels: int, filters: Sequence[int] = (3, 3, 3), init_scale: float = 10.0,
                    dtype=jnp.float32) -> dict:
    """Parameters of the factorized density (CompressAI EntropyBottleneck init).

    Returns {"matrices": [H_k (C, f_{k+1}, f_k)], "biases": [b_k (C, f_{k+1}, 1)],
    "factors": [a_k (C, f_{k+1}, 1)] (one fewer)} with f = (1, *filters, 1),
    H_k = log(expm1(1 / s / f_{k+1})), s = init_scale ** (1 / (len(filters) + 1)),
    b_k ~ U(-1/2, 1/2) (jax.random.uniform with split keys), a_k = 0.
    """
    f = (1, *filters, 1)
    s = init_scale ** (1.0 / (len(filters) + 1))
    keys = jax.random.split(key, len(f) - 1)
    mats, biases, factors = [], [], []
    for k in range(len(f) - 1):
        init = float(np.log(np.expm1(1.0 / s / f[k + 1])))
        mats.append(jnp.full((channels, f[k + 1], f[k]), init, dtype))
        biases.append(jax.random.uniform(keys[k], (channels, f[k + 1], 1), dtype, -0.5, 0.5))
        if k < len(f) - 2:
            factors.append(jnp.zeros((channels, f[k + 1], 1), dtype))
    return {"matrices": mats, "biases": biases, "factors": factors}


def factorized_logits(params: dict, x):
    """Logit of the cumulative c(x) of the factorized density (Balle 2018, appendix 6.1).

    x: (C, N) per-channel points.  For k = 0..K-1 (K = len(matrices)), z_0 = x:
        z <- softplus(H_k) @ z + b_k
        z <- z + tanh(a_k) * tanh(z)            (k < K-1)
    Returns (C, N) logits; c(x) = sigmoid(logits).
    """
    z = x[:, None, :]
    n = len(params["matrices"])
    for k in range(n):
        z = jnp.matmul(jax.nn.softplus(params["matrices"][k]), z) + params["biases"][k]
        if k < n - 1:
            z = z + jnp.tanh(params["factors"][k]) * jnp.tanh(z)
    return z[:, 0, :]


@implements("core.lik_factorized")
def factorized_likelihood(params: dict, y):
    """P(y) = c(y + 1/2) - c(y - 1/2), computed with the sign trick:

        l = logits(y - 1/2), u = logits(y + 1/2), s = -1 if l + u > 0 else +1
        P = |sigmoid(s u) - sigmoid(s l)|,   then max(P, 1e-9)

    (CompressAI/tfc use s = -sign(l + u), which gives 0 at l + u == 0 exactly; the rule
    above agrees everywhere else and is correct there.)
    y: (..., C) channels last.  Returns (..., C).
    """
    return _factorized_likelihood_jit(params, jnp.asarray(y))


@jax.jit
def _factorized_likelihood_jit(params: dict, y):
    shape = y.shape
    flat = jnp.moveaxis(y, -1, 0).reshape(shape[-1], -1)
    lo = factorized_logits(params, flat - 0.5)
    up = factorized_logits(params, flat + 0.5)
    s = jnp.where(lo + up > 0, -1.0, 1.0).astype(lo.dtype)
    p = jnp.abs(jax.nn.sigmoid(s * up) - jax.nn.sigmoid(s * lo))
    p = lower_bound(p, LIKELIHOOD_BOUND)
    return jnp.moveaxis(p.reshape((shape[-1],) + shape[:-1]), 0, -1)


def _std_normal_cdf(t):
    return 0.5 * jax.scipy.special.erfc(-t / jnp.sqrt(2.0).astype(t.dtype))


@implements("core.lik_gaussian")
def gaussian_likelihood(y, mean, scale, *, scale_bound: float = SCALE_BOUND):
    """P(y) = Phi((1/2 - v)/s) - Phi((-1/2 - v)/s),  v = |y - mean|,  s = max(scale, 0.11)
    (LowerBound gradient), Phi(t) = erfc(-t/sqrt 2)/2; then max(P, 1e-9).  CompressAI
    GaussianConditional._likelihood.  y, mean, scale broadcast together."""
    return _interval_likelihood(_std_normal_cdf, y, mean, scale, scale_bound)


@partial(jax.jit, static_argnums=(0, 4))
def _interval_likelihood(cdf, y, mean, scale, scale_bound):
    """max(F((1/2 - v)/s) - F((-1/2 - v)/s), 1e-9),  v = |y - mean|,  s = max(scale, bound):
    the shared body of the Gaussian (F = Phi) and Laplace likelihoods."""
    v = jnp.abs(y - mean)
    s = lower_bound(scale, scale_bound)
    p = cdf((0.5 - v) / s) - cdf((-0.5 - v) / s)
    return lower_bound(p, LIKELIHOOD_BOUND)


def _laplace_cdf(t):
    return jnp.where(t < 0, 0.5 * jnp.exp(jnp.minimum(t, 0)), 1.0 - 0.5 * jnp.exp(-jnp.maximum(t, 0)))


@implements("core.lik_laplace")
def laplace_likelihood(y, mean, scale, *, scale_bound: float = SCALE_BOUND):
    """P(y) = F((1/2 - v)/b) - F((-1/2 - v)/b),  v = |y - mean|,  b = max(scale, 0.11),
    F(t) = exp(t)/2 (t < 0), 1 - exp(-t)/2 (t >= 0); then max(P, 1e-9)."""
    return _interval_likelihood(_laplace_cdf, y, mean, scale, scale_bound)


@implements("core.lik_gmm")
def gmm_likelihood(y, logits, means, scales, *, scale_bound: float = SCALE_BOUND):
    """P(y) = sum_k w_k [Phi((y - mu_k + 1/2)/s_k) - Phi((y - mu_k - 1/2)/s_k)],
    w = softmax(logits) over the last axis, s_k = max(scales_k, 0.11); then max(P, 1e-9).

    y: (...); logits, means, scales: (..., k).  Returns (...).
    """
    return _gmm_jit(y, logits, means, scales, scale_bound)


@partial(jax.jit, static_argnums=4)
def _gmm_jit(y, logits, means, scales, scale_bound):
    w = jax.nn.softmax(logits, axis=-1)
    v = jnp.abs(y[..., None] - means)
    s = lower_bound(scales, scale_bound)
    comp = _std_normal_cdf((0.5 - v) / s) - _std_normal_cdf((-0.5 - v) / s)
    return lower_bound(jnp.sum(w * comp, axis=-1), LIKELIHOOD_BOUND)


# =========================================================================== 2. the seam
def _finite(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or infinity")
    return a


def _int_array(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise InputError(f"{name} must be an integer array, got {a.dtype}")
    return a.astype(np.int64)


@implements("core.C4")
def scale_index(scale) -> np.ndarray:
    """Scale index ([core.C4]): the smallest k with scale <= s_k, capped at 63.

        idx = #{ k in 0..62 : s_k < scale }      (s = shipped scale_table, float64 bits)

    i.e. scales are rounded *up* to the next table entry (CompressAI build_indexes); scales
    below 0.11 map to 0, above 256 to 63.  scale: float array (cast to float64 exactly).
    Returns int64, same shape.  NaN/inf -> InputError.
    """
    s = _finite(scale, "scale")
    return np.searchsorted(T.scale_table()[:-1], s, side="left").astype(np.int64)


@implements("core.C5")
def mean_index(mean, mean_grid: int = DEFAULT_MEAN_GRID) -> np.ndarray:
    """Mean index ([core.C5]): mean_idx = round_half_even(mean * M) (int64), M = mean_grid.

    (mean * M is computed in float64; exact for M a power of two.)  |mean_idx| < 2**40.
    """
    if not 1 <= int(mean_grid) <= MAX_MEAN_GRID:
        raise InputError(f"mean grid {mean_grid} outside 1..{MAX_MEAN_GRID}")
    mu = _finite(mean, "mean") * float(mean_grid)
    if mu.size and np.abs(mu).max() >= 2.0**40:
        raise InputError("mean too large for the mean grid (|mean * M| >= 2**40)")
    return np.rint(mu).astype(np.int64)


@implements("core.C5")
def split_mean(mean_idx, mean_grid: int) -> tuple[np.ndarray, np.ndarray]:
    """mean_idx -> (q, m): q = floor(mean_idx / M), m = mean_idx - M q in [0, M) ([core.C5])."""
    mi = _int_array(mean_idx, "mean_idx")
    q = np.floor_divide(mi, mean_grid)
    return q, mi - mean_grid * q


class ConditionalIndices(NamedTuple):
    """Integer entropy parameters of a Gaussian/Laplace conditional, carrying their mean grid.

    scale_idx: int64 (...), index into the [core.C4] scale table (0..63).
    mean_idx:  int64 (...), mean on the grid 1/mean_grid ([core.C5]): mu_g = mean_idx / M.
    mean_grid: M (1..1024).  Every function that takes these checks M; an index computed on
               one grid and used on another is an InputError, never a silent round trip.
    Produced by :func:`conditional_indices` (float path) or an integer network
    (``ConditionalIndices(scale_idx, mean_idx, int(p_int["mean_grid"]))``).
    """

    scale_idx: np.ndarray
    mean_idx: np.ndarray
    mean_grid: int

    def checked(self, mean_grid: int | None = None) -> "ConditionalIndices":
        """Validated copy (int64 arrays of one shape, scale_idx in 0..63, M in 1..1024);
        ``mean_grid``, when given, must equal self.mean_grid."""
        M = int(self.mean_grid)
        if not 1 <= M <= MAX_MEAN_GRID:
            raise InputError(f"mean grid {M} outside 1..{MAX_MEAN_GRID}")
        if mean_grid is not None and int(mean_grid) != M:
            raise InputError(f"indices are on mean grid {M}, expected grid {int(mean_grid)}")
        s, m = _int_array(self.scale_idx, "scale_idx"), _int_array(self.mean_idx, "mean_idx")
        if s.shape != m.shape:
            raise InputError(f"scale_idx shape {s.shape} != mean_idx shape {m.shape}")
        if s.size and (s.min() < 0 or s.max() >= T.n_scales()):
            raise InputError(f"scale index out of range [0, {T.n_scales() - 1}]")
        if m.size and np.abs(m).max() >= 2**40:
            raise InputError("mean index out of range (|mean_idx| >= 2**40)")
        return ConditionalIndices(s, m, M)

    def crop(self, shape) -> "ConditionalIndices":
        """The leading block of ``shape`` (e.g. h_s output cropped to y's (N, H, W, C))."""
        sl = tuple(slice(0, int(n)) for n in shape)
        if len(shape) != np.ndim(self.scale_idx) or any(int(n) > d for n, d in zip(shape, np.shape(self.scale_idx))):
            raise InputError(f"cannot crop indices of shape {np.shape(self.scale_idx)} to {tuple(shape)}")
        return ConditionalIndices(np.asarray(self.scale_idx)[sl], np.asarray(self.mean_idx)[sl], self.mean_grid)


def conditional_indices(mean, scale, mean_grid: int = DEFAULT_MEAN_GRID) -> ConditionalIndices:
    """Float (mean, scale) -> ConditionalIndices(scale_index(scale), mean_index(mean, M), M):
    the float path of the decoder-side seam ([core.C4], [core.C5]).  Decoders of shipped
    codecs use the integer path instead (spec/core-intnet.md), see [core.C32]."""
    return ConditionalIndices(scale_index(scale), mean_index(mean, mean_grid), int(mean_grid)).checked()


@implements("core.C31")
def quantize_conditional(y, indices: ConditionalIndices) -> np.ndarray:
    """The quantiser of a mean-scale conditional ([core.C31]), encoder side:

        mu_g = mean_idx / M,   r = round_half_even(y - mu_g)      (int64, the coded integer)

    y: float latent (any shape = indices' shape), evaluated in float64 (y widened exactly,
    mean_idx / M exact for M a power of two).  Returns int64 r.  Non-finite y -> InputError.
    """
    idx = indices.checked()
    y = _finite(y, "y")
    if y.shape != idx.mean_idx.shape:
        raise InputError(f"y shape {y.shape} != indices shape {idx.mean_idx.shape}")
    return np.rint(y - idx.mean_idx / float(idx.mean_grid)).astype(np.int64)


@implements("core.C31")
def dequantize_conditional(r, indices: ConditionalIndices, dtype=np.float32) -> np.ndarray:
    """Decoder reconstruction ([core.C31]): y_hat = (M * r + mean_idx) / M, evaluated exactly
    as an int64 numerator, divided in float64 (correctly rounded) and cast to ``dtype``.

    r: int64 (the decoded integers); returns ``dtype`` array of the same shape.
    """
    idx = indices.checked()
    r = _int_array(r, "r")
    num = r * idx.mean_grid + idx.mean_idx
    return (num.astype(np.float64) / float(idx.mean_grid)).astype(dtype)


@implements("core.C5")
def table_index(scale_idx, mean_idx, mean_grid: int) -> tuple[np.ndarray, np.ndarray]:
    """(scale_idx, mean_idx) -> (table index s*M + m into ``tables.table_set``, centre q)."""
    q, m = split_mean(mean_idx, mean_grid)
    s = _int_array(scale_idx, "scale_idx")
    if s.size and (s.min() < 0 or s.max() >= T.n_scales()):
        raise InputError(f"scale index out of range [0, {T.n_scales() - 1}]")
    return s * mean_grid + m, q


@implements("core.C8")
def quantize_weights(weights) -> np.ndarray:
    """Mixture weights (..., k) float >= 0 -> integers (..., k) >= 0 summing to 2**16 ([core.C8]).

        t_j = w_j / sum_i w_i * 2**16  (float64),  b_j = floor(t_j)
        d = 2**16 - sum_j b_j; if d > 0 the d components with the largest t_j - b_j get +1
        (ties: lower j); if d < 0 the |d| components with the largest b_j lose 1 (ties: lower j).
    """
    w = _finite(weights, "weights")
    if np.any(w < 0) or np.any(w.sum(axis=-1) <= 0):
        raise InputError("weights must be >= 0 with a positive sum")
    t = w / w.sum(axis=-1, keepdims=True) * T.WEIGHT_TOTAL
    b = np.floor(t).astype(np.int64)
    d = T.WEIGHT_TOTAL - b.sum(axis=-1, keepdims=True)
    k = w.shape[-1]
    rank_up = np.empty_like(b)
    np.put_along_axis(rank_up, np.argsort(-(t - b), axis=-1, kind="stable"),
                      np.broadcast_to(np.arange(k), b.shape), axis=-1)
    rank_dn = np.empty_like(b)
    np.put_along_axis(rank_dn, np.argsort(-b, axis=-1, kind="stable"),
                      np.broadcast_to(np.arange(k), b.shape), axis=-1)
    b = b + (rank_up < d) - ((rank_dn < -d) & (b > 0))
    return b


def gmm_indices(weights, means, scales, mean_grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float mixture parameters (N, k) -> (scale_idx, mean_idx, weight_int), each int64 (N, k).

    weights are probabilities (e.g. softmax of the network's logits, computed by the caller).
    """
    return scale_index(scales), mean_index(means, mean_grid), quantize_weights(weights)


# =========================================================================== 3. coding glue
@implements("core.C31")
def encode_conditional(r, indices: ConditionalIndices, *, radius: int = DEFAULT_RADIUS, family: str = "gaussian",
                       mean_grid: int | None = None) -> tuple[list, bytes]:
    """Coded integers r (from :func:`quantize_conditional`) -> (ANS groups, escape payload).

    r[e] is coded with the zero-mean table scale_idx[e] of ``tables.table_set(family, R, 1)``
    ([core.C31]: the mean went into the quantiser, r is centred on 0), escapes per [core.C7].
    r: int array, shape = indices' shape.  mean_grid: if given, must equal indices.mean_grid.
    Feed the groups to ans.encode_groups.
    """
    r = np.asarray(r)
    if r.dtype.kind not in "iu":
        raise InputError(f"r must be integers (quantised residuals), got {r.dtype}")
    idx = indices.checked(mean_grid)
    if idx.scale_idx.shape != r.shape:
        raise InputError(f"index shape {idx.scale_idx.shape} != r shape {r.shape}")
    return encode_values(r.astype(np.int64), idx.scale_idx, T.table_set(family, int(radius), 1))


@implements("core.C31")
def decode_conditional(decoder, indices: ConditionalIndices, payload: bytes, *, radius: int = DEFAULT_RADIUS,
                       family: str = "gaussian", mean_grid: int | None = None) -> np.ndarray:
    """Inverse of :func:`encode_conditional`: pop r (int64, indices' shape) from an
    ans.AnsDecoder; :func:`dequantize_conditional` turns it into y_hat."""
    idx = indices.checked(mean_grid)
    return decode_values(decoder, idx.scale_idx, T.table_set(family, int(radius), 1), payload)


def conditional_bits(r, indices: ConditionalIndices, *, radius: int = DEFAULT_RADIUS, family: str = "gaussian") -> float:
    """Ideal code length in bits of r under the [core.C31] tables: sum -log2(f / 2**24) over
    the ANS symbols (escape symbol for |r| > R; the escape payload bits are not counted)."""
    idx = indices.checked()
    r = _int_array(r, "r")
    ts = T.table_set(family, int(radius), 1)
    R = ts.radius
    sym = np.where(np.abs(r) <= R, r + R, 2 * R + 1)
    f = ts.freqs[idx.scale_idx, sym].astype(np.float64)
    return float(-np.log2(f / T.PROB_TOTAL).sum())


def encode_mixture(y, scale_idx, mean_idx, weight_int, *, radius: int, mean_grid: int,
                   family: str = "gaussian") -> tuple[list, bytes]:
    """Integer latents y (N,) with per-element mixture indices (N, k) -> (groups, payload)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise InputError("y must be a 1-D integer array")
    ts, centre = T.mixture_tables(scale_idx, mean_idx, weight_int, radius=radius, mean_grid=mean_grid, family=family)
    if centre.shape != y.shape:
        raise InputError(f"{centre.shape[0]} mixtures for {y.shape[0]} values")
    return encode_values(y.astype(np.int64) - centre, np.arange(y.shape[0], dtype=np.int32), ts)


def decode_mixture(decoder, scale_idx, mean_idx, weight_int, payload: bytes, *, radius: int, mean_grid: int,
                   family: str = "gaussian") -> np.ndarray:
    """Inverse of :func:`encode_mixture`."""
    ts, centre = T.mixture_tables(scale_idx, mean_idx, weight_int, radius=radius, mean_grid=mean_grid, family=family)
    return decode_values(decoder, np.arange(centre.shape[0], dtype=np.int32), ts, payload) + centre


# --------------------------------------------------------------------------- factorized tables
@jax.jit
def _median(params64: dict):
    """Per-channel x with logits(x) = 0 (c(x) = 1/2): 80 bisection steps on [-1e6, 1e6], float64."""
    channels = params64["matrices"][0].shape[0]

    def step(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        pos = factorized_logits(params64, mid) > 0
        return jnp.where(pos, lo, mid), jnp.where(pos, mid, hi)

    lo = jnp.full((channels, 1), -1e6, jnp.float64)
    lo, hi = jax.lax.fori_loop(0, 80, step, (lo, -lo))
    return (0.5 * (lo + hi))[:, 0]


_cdf_jit = jax.jit(lambda p, x: jax.nn.sigmoid(factorized_logits(p, x)))


@implements("core.table_factorized", "core.C9")
def factorized_tables(params: dict, radius: int) -> tuple[T.TableSet, np.ndarray]:
    """Integer tables of a trained factorized density, made once per checkpoint ([core.C9]).

    For channel c:  o_c = round_half_even(median_c), median_c: c(median) = 1/2 (bisection,
    float64);  edges x_i = o_c + i - R - 1/2, i = 0..2R+1;
        C_i = clip(round_half_even(sigmoid(logits(x_i)) * 2**32), 0, 2**32), made
        non-decreasing by a running maximum; masses and escape as for the parametric tables;
        freqs = quantize_masses(masses).
    Float evaluation happens here only; the (freqs, offsets) it returns are what a checkpoint
    stores and what every decoder uses (bit-exact from then on).  Symbol of y_c: r = y_c - o_c.
    Returns (TableSet(freqs uint32 (C, 2R+2), R), offsets int64 (C,)).
    """
    R = int(radius)
    p64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), params)
    C = int(p64["matrices"][0].shape[0])
    off = np.rint(np.asarray(_median(p64))).astype(np.int64)
    edges = off[:, None] + np.arange(2 * R + 2)[None, :] - R - 0.5
    cdf = np.asarray(_cdf_jit(p64, jnp.asarray(edges)), dtype=np.float64)
    Ci = np.clip(np.rint(cdf * T.CDF_ONE), 0, T.CDF_ONE).astype(np.int64)
    Ci = np.maximum.accumulate(Ci, axis=-1)
    masses = np.empty((C, 2 * R + 2), dtype=np.int64)
    masses[:, :-1] = np.diff(Ci, axis=-1)
    masses[:, -1] = Ci[:, 0] + T.CDF_ONE - Ci[:, -1]
    return T.TableSet(T.quantize_masses(masses), R), off


def factorized_to_checkpoint(params: dict, radius: int, prefix: str = "entropy_bottleneck") -> dict:
    """Integer arrays to store in a .safetensors checkpoint: {prefix.freqs, prefix.offsets, prefix.radius}."""
    ts, off = factorized_tables(params, radius)
    return {f"{prefix}.freqs": ts.freqs, f"{prefix}.offsets": off,
            f"{prefix}.radius": np.array([ts.radius], dtype=np.int64)}


def factorized_from_checkpoint(tensors: dict, prefix: str = "entropy_bottleneck") -> tuple[T.TableSet, np.ndarray]:
    """Load and validate what :func:`factorized_to_checkpoint` stored."""
    try:
        f = np.asarray(tensors[f"{prefix}.freqs"])
        off = np.asarray(tensors[f"{prefix}.offsets"]).astype(np.int64)
        R = int(np.asarray(tensors[f"{prefix}.radius"]).reshape(-1)[0])
    except KeyError as exc:
        raise InputError(f"checkpoint lacks {exc.args[0]}") from None
    if f.dtype != np.uint32 or f.ndim != 2 or f.shape[1] != 2 * R + 2 or off.shape != (f.shape[0],) \
            or np.any(f == 0) or np.any(f.astype(np.int64).sum(axis=1) != T.PROB_TOTAL):
        raise InputError("checkpoint factorized tables are malformed")
    return T.TableSet(f, R), off


def encode_factorized(y, tables: T.TableSet, offsets) -> tuple[list, bytes]:
    """Integer latents y (..., C) -> (groups, payload); channel c uses table c, r = y - o_c."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.shape[-1] != tables.n_tables:
        raise InputError("y must be integers with last axis = number of channels")
    tidx = np.broadcast_to(np.arange(y.shape[-1], dtype=np.int32), y.shape)
    return encode_values(y.astype(np.int64) - offsets, tidx, tables)


def decode_factorized(decoder, shape, tables: T.TableSet, offsets, payload: bytes) -> np.ndarray:
    """Inverse of :func:`encode_factorized` for latents of ``shape`` (..., C)."""
    tidx = np.broadcast_to(np.arange(shape[-1], dtype=np.int32), tuple(shape))
    return decode_values(decoder, tidx, tables, payload) + np.asarray(offsets, dtype=np.int64)
