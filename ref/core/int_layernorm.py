"""Integer square root, integer LayerNorm and integer GELU (spec/core-int-attention.md).

After I-BERT (Kim et al. 2021): LayerNorm's standard deviation by an integer square root
(Newton's iteration), GELU through a polynomial approximation of erf evaluated in integers.
Here the mean is never rounded (the centred values are scaled by d instead), the square root
is the exact floor, and erf is a degree-10 polynomial on a clipped range (abs. error ~1e-5).

    c_i = d x_i - sum_j x_j                                            [core.int_layernorm]
    r   = isqrt(sum_i c_i^2 // d + E)                                  [core.int_isqrt]
    n_i = round_div(c_i 2^16, r)                    Q16 of (x_i - mu) / sqrt(var + eps)
    y_i = clip(rshift_round(n_i g_i, s_i) + b_i, -act_max, act_max)
    gelu(x) = rshift_round(x * (2^23 + sgn(x) h(|x|)), 24),  h ~ 2^24 erf(|x|/sqrt 2)/2   [core.int_gelu]
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.int_softmax import horner_q, round_div
from ref.core.intnet import rshift_round
from ref.core.registry import implements

ISQRT_LIMIT = 1 << 62            # isqrt domain 0 <= n <= 2^62
LN_IN_LIMIT = 1 << 15            # [core.C52] LayerNorm inputs |x| < 2^15
LN_MAX_DIM = 1024                # [core.C52] d <= 1024
NORM_FRAC = 16                   # normalised values are Q16
GELU_COEF_FRAC = 24              # erf polynomial coefficients are Q24
GELU_MAX_FRAC = 28               # input format Q(frac), 0 <= frac <= 28
GELU_IN_LIMIT = 1 << 31          # |x| < 2^31
# h(4 t) = erf(4 t / sqrt 2) / 2 ~ sum_k GELU_POLY[k] t^k / 2^24 on t in [0, 1] (least squares)
GELU_POLY = (0, 26782567, -408470, -65500769, -41131860, 323894478, -282514017, -219815090, 533157307,
             -344913009, 78837110)


def _bit_length(n: np.ndarray) -> np.ndarray:
    """Exact bit length of non-negative int64 values (0 for 0), by binary search on shifts."""
    n = n.copy()
    bl = np.zeros(n.shape, np.int64)
    for s in (32, 16, 8, 4, 2, 1):
        big = n >= (np.int64(1) << s)
        bl += np.where(big, s, 0)
        n = np.where(big, n >> s, n)
    return bl + (n > 0)


@implements("core.int_isqrt")
def isqrt(n) -> np.ndarray:
    """floor(sqrt(n)) exactly, element-wise ([core.int_isqrt]), by Newton's iteration from above.

    n: integer array, 0 <= n <= 2^62.  Returns int64 of n's shape: the unique x >= 0 with
    x^2 <= n < (x + 1)^2.  Start x_0 = 2^ceil(bitlen(n) / 2) >= sqrt(n); x_{k+1} = (x_k + n // x_k) // 2
    while it decreases (at most 7 rounds for 62 bits).
    """
    n = np.asarray(n)
    if n.dtype.kind not in "iu":
        raise InputError(f"isqrt: input must be integers, got {n.dtype}")
    n = n.astype(np.int64)
    if n.size and (int(n.min()) < 0 or int(n.max()) > ISQRT_LIMIT):
        raise InputError("isqrt: input must lie in [0, 2^62]")
    zero = n == 0
    n = np.maximum(n, 1)                                      # isqrt(0) = 0 is set at the end
    x = np.left_shift(np.int64(1), (_bit_length(n) + 1) >> 1)
    while True:
        y = (x + n // x) >> 1
        done = y >= x
        if done.all():
            break
        x = np.where(done, x, y)
    return np.where(zero, 0, x)


@implements("core.int_layernorm", "core.C52")
def int_layernorm(p: dict, x, act_max: int) -> np.ndarray:
    """Integer LayerNorm over the last axis ([core.int_layernorm]).

    p: {"g": int64 (d,) signed multipliers |g| < 2^31, "s": int64 (d,) shifts in [0, 62],
        "b": int64 (d,) output-unit bias |b| < 2^31, "eps": int64 () E in [1, 2^62)}:
        g_i / 2^s_i ~ gamma_i / (2^16 S_out), b_i ~ beta_i / S_out, E ~ d^2 eps / S_in^2.
    x: int64 (..., d), |x| < 2^15, d <= 1024.  act_max: output clip (1 .. 2^15 - 1).
    Returns int64 (..., d): clip(rshift_round(n_i g_i, s_i) + b_i, +-act_max), n as in the module doc.
    Bounds: |c| < 2^26, sum c^2 < 2^62, |n| < 2^17 sqrt(d) + 1 <= 2^22 + 1, |n g| < 2^54.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise InputError(f"int_layernorm: input must be integers, got {x.dtype}")
    x = x.astype(np.int64)
    d = x.shape[-1]
    if not 1 <= d <= LN_MAX_DIM:
        raise InputError(f"int_layernorm: need 1 <= d <= {LN_MAX_DIM}, got {d}")
    if x.size and int(np.abs(x).max()) >= LN_IN_LIMIT:
        raise InputError("int_layernorm: |x| must be < 2^15")
    E = int(np.asarray(p["eps"]))
    if not 1 <= E < (1 << 62):
        raise InputError("int_layernorm: eps term E must lie in [1, 2^62)")
    c = d * x - x.sum(axis=-1, keepdims=True)
    V = (c * c).sum(axis=-1, keepdims=True)
    r = isqrt(V // d + E)
    n = round_div(c << NORM_FRAC, r)
    y = rshift_round(n * np.asarray(p["g"], np.int64), np.asarray(p["s"], np.int64)) + np.asarray(p["b"], np.int64)
    return np.clip(y, -int(act_max), int(act_max))


@implements("core.int_gelu")
def int_gelu(x, frac: int) -> np.ndarray:
    """Integer GELU ([core.int_gelu]): y ~ 2^frac GELU(x / 2^frac), same Q(frac) format.

    x: int64 array, |x| < 2^31; frac: fractional bits of x, 0 <= frac <= 28.
    t = min(|x| 2^(28 - frac), 2^30) (Q30 of min(|x|/2^frac, 4) / 4);
    h = 2^23 where t = 2^30, else Horner(GELU_POLY, t) (Q24 of erf(|x_real|/sqrt 2)/2);
    y = rshift_round(x (2^23 + sgn(x) h), 24).
    Bound (spec): |y - 2^frac GELU(x/2^frac)| <= 1.3e-4 2^frac + 0.5.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise InputError(f"int_gelu: input must be integers, got {x.dtype}")
    x = x.astype(np.int64)
    if not 0 <= int(frac) <= GELU_MAX_FRAC:
        raise InputError(f"int_gelu: frac must lie in [0, {GELU_MAX_FRAC}], got {frac}")
    if x.size and int(np.abs(x).max()) >= GELU_IN_LIMIT:
        raise InputError("int_gelu: |x| must be < 2^31")
    t = np.minimum(np.abs(x) << (GELU_MAX_FRAC - int(frac)), np.int64(1 << 30))
    h = np.where(t == (1 << 30), np.int64(1 << 23), horner_q(GELU_POLY, t, GELU_COEF_FRAC))
    phi = np.int64(1 << 23) + np.sign(x) * h
    return rshift_round(x * phi, GELU_COEF_FRAC)
