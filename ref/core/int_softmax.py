"""Integer exp and integer softmax (spec/core-int-attention.md), after I-BERT's i-exp.

Kim, Gholami, Yao, Mahoney, Keutzer, "I-BERT: Integer-only BERT Quantization" (ICML 2021):
exp of a non-positive input is range-reduced by ln 2 (exp(t) = 2^-z * 2^-r, z integer, r in
[0, 1)), 2^-r is a polynomial evaluated in integers, and 2^-z is a right shift.  Here the
polynomial is of degree 5 (relative error < 2e-7 instead of I-BERT's degree 2), the input and
output formats are fixed (Q16 in, Q30 out) and every rounding is [core.C40] half up, so the
result is the same integer on every platform.

    u   = (-max(d, -EXP_CLIP)) * INV_LN2                 Q46 of -t / ln 2       [core.int_exp]
    z   = u >> 46;   f = (u mod 2^46) >> 16              integer part, Q30 fraction
    p   = Horner(EXP_POLY, f)                             ~ 2^30 * 2^(-f / 2^30)
    e   = rshift_round(p, z)                              ~ 2^30 * exp(d / 2^16)
    P_j = (e_j * 2^16 + S // 2) // S,   S = sum of e over allowed keys        [core.int_softmax]
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.intnet import rshift_round
from ref.core.registry import implements

EXP_IN_FRAC = 16                 # [core.C50] logits are Q16: real value d / 2^16
EXP_OUT_FRAC = 30                # [core.C50] exp values are Q30: exp(0) = 2^30 exactly
EXP_CLIP = 32 << EXP_IN_FRAC     # inputs below -32 are clipped (their exp rounds to 0 anyway)
INV_LN2 = 1549082005             # round(2^30 / ln 2)
# 2^-r ~ sum_k EXP_POLY[k] (r)^k / 2^30 on r in [0, 1) (relative least squares, constant pinned to 1)
EXP_POLY = (1073741824, -744257105, 257890515, -59375932, 9888912, -1017408)
PROB_FRAC = 16                   # [core.C50] softmax outputs are Q16: a row sums to ~2^16
LOGIT_LIMIT = 1 << 61            # |logit| < 2^61 so that logit - max fits int64


@implements("core.C51")
def round_div(a, b) -> np.ndarray:
    """Rounding division floor(a / b + 1/2) = (a + b // 2) // b for b > 0 ([core.C51]; ties up,
    as [core.C40]).  a: int64 array; b: int64 array broadcastable to a, every b >= 1;
    |a| + b < 2^63.  Returns int64."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    return (a + (b >> 1)) // b


def horner_q(coeffs, t, frac: int) -> np.ndarray:
    """sum_k coeffs[k] * (t / 2^30)^k in the coefficients' units, by Horner with a rounding
    right shift by 30 after each product: acc = c_n; acc = rshift_round(acc * t, 30) + c_k.
    t: int64 array in [0, 2^30]; coeffs: python ints with sum |c| < 2^32 (so acc * t < 2^62).
    ``frac`` documents the coefficients' fixed-point format (unused in the arithmetic)."""
    t = np.asarray(t, np.int64)
    acc = np.full(t.shape, coeffs[-1], np.int64)
    for c in reversed(coeffs[:-1]):
        acc = rshift_round(acc * t, 30) + np.int64(c)
    return acc


@implements("core.int_exp", "core.C50")
def int_exp(d) -> np.ndarray:
    """Integer exp of a non-positive Q16 input ([core.int_exp]): e ~ 2^30 * exp(d / 2^16).

    d: int64 array, every d <= 0 (d >= -2^62).  Returns int64 array of d's shape, values in
    [0, 2^30]; int_exp(0) = 2^30.  Measured/derived bound (spec): |e - 2^30 exp(d/2^16)| <=
    2.5e-7 * 2^30 exp(d/2^16) + 0.5.
    """
    d = np.asarray(d)
    if d.dtype.kind not in "iu":
        raise InputError(f"int_exp: input must be integers, got {d.dtype}")
    d = d.astype(np.int64)
    if d.size and int(d.max()) > 0:
        raise InputError("int_exp: input must be <= 0 (subtract the row maximum first)")
    u = -np.maximum(d, -EXP_CLIP) * np.int64(INV_LN2)               # < 2^21 * 2^31 = 2^52
    z = u >> (EXP_IN_FRAC + 30)
    f = (u & np.int64((1 << (EXP_IN_FRAC + 30)) - 1)) >> EXP_IN_FRAC  # Q30 fraction, floor
    p = horner_q(EXP_POLY, f, 30)
    return rshift_round(p, z)


@implements("core.int_softmax", "core.C50")
def int_softmax(logits, mask=None) -> np.ndarray:
    """Integer softmax along the last axis with a key mask ([core.int_softmax]).

    logits: int64 (..., N), Q16 (real logit / 2^16), |logit| < 2^61.
    mask: bool broadcastable to logits, True = the key is allowed; None = all allowed.
    Returns int64 (..., N), Q16 probabilities: masked positions exactly 0; a row with no
    allowed key is all 0; otherwise P_j = round_div(e_j * 2^16, S) with e = int_exp(l - max)
    and S = sum of e over the row's allowed keys (S >= 2^30), so |sum_j P_j - 2^16| <= n/2
    (n = allowed keys of the row).  N < 2^32.
    """
    s = np.asarray(logits)
    if s.dtype.kind not in "iu":
        raise InputError(f"int_softmax: logits must be integers, got {s.dtype}")
    s = s.astype(np.int64)
    if s.ndim < 1 or s.shape[-1] == 0 or s.shape[-1] >= (1 << 32):
        raise InputError(f"int_softmax: need 1 <= N < 2^32 keys on the last axis, got shape {s.shape}")
    if s.size and int(np.abs(s).max()) >= LOGIT_LIMIT:
        raise InputError("int_softmax: |logit| must be < 2^61")
    allowed = np.ones(s.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), s.shape)
    neg = np.int64(-(1 << 62))
    m = np.max(np.where(allowed, s, neg), axis=-1, keepdims=True)
    d = np.where(allowed, s - m, 0)
    e = np.where(allowed, int_exp(d), 0)
    S = e.sum(axis=-1, keepdims=True)
    return np.where(S > 0, round_div(e << PROB_FRAC, np.maximum(S, 1)), 0)
