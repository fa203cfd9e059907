"""JAX twin of the integer transformer block (spec/core-int-attention.md), for jitted callers
(ecf's context model is JAX).  Same integers as :func:`ref.core.int_attention.int_block`
(tests/core/test_int_attention.py proves them equal): int64 element-wise arithmetic, GEMMs in
float64 with precision "highest" (exact by [core.C53]), the isqrt Newton loop run until no
element changes (its fixed point is the floor, so extra rounds are harmless).

Parameters are validated by the NumPy :func:`ref.core.int_attention.check_block_params` when
the block function is made (:func:`make_int_block_jax`), not per call.
"""

from __future__ import annotations

from functools import partial

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 on

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.int_attention import RES_MAX, check_block_params
from ref.core.int_layernorm import GELU_POLY, NORM_FRAC
from ref.core.int_softmax import EXP_CLIP, EXP_IN_FRAC, EXP_POLY, INV_LN2, PROB_FRAC
from ref.core.registry import implements


def _rsr(x, s):
    return (x + (jnp.left_shift(jnp.int64(1), s) >> 1)) >> s


def _round_div(a, b):
    return jnp.floor_divide(a + (b >> 1), b)


def _horner(coeffs, t):
    acc = jnp.full(t.shape, coeffs[-1], jnp.int64)
    for c in reversed(coeffs[:-1]):
        acc = _rsr(acc * t, 30) + jnp.int64(c)
    return acc


def _gemm(a, b):
    return jnp.matmul(a.astype(jnp.float64), b.astype(jnp.float64), precision="highest").astype(jnp.int64)


def _exp(d):
    u = -jnp.maximum(d, -EXP_CLIP) * jnp.int64(INV_LN2)
    z = u >> (EXP_IN_FRAC + 30)
    f = (u & jnp.int64((1 << (EXP_IN_FRAC + 30)) - 1)) >> EXP_IN_FRAC
    return _rsr(_horner(EXP_POLY, f), z)


def _softmax(s, allowed):
    m = jnp.max(jnp.where(allowed, s, jnp.int64(-(1 << 62))), axis=-1, keepdims=True)
    e = jnp.where(allowed, _exp(jnp.where(allowed, s - m, 0)), 0)
    S = e.sum(axis=-1, keepdims=True)
    return jnp.where(S > 0, _round_div(e << PROB_FRAC, jnp.maximum(S, 1)), 0)


def _isqrt(n):
    zero = n == 0
    n = jnp.maximum(n, 1)
    bl = jnp.zeros(n.shape, jnp.int64)
    m = n
    for s in (32, 16, 8, 4, 2, 1):
        big = m >= (jnp.int64(1) << s)
        bl = bl + jnp.where(big, s, 0)
        m = jnp.where(big, m >> s, m)
    bl = bl + (m > 0)
    x0 = jnp.left_shift(jnp.int64(1), (bl + 1) >> 1)

    def body(state):
        x, _ = state
        y = (x + n // x) >> 1
        return jnp.where(y < x, y, x), jnp.any(y < x)

    x, _ = jax.lax.while_loop(lambda st: st[1], body, (x0, jnp.bool_(True)))
    return jnp.where(zero, 0, x)


def _layernorm(p, x, act_max):
    d = x.shape[-1]
    c = d * x - x.sum(axis=-1, keepdims=True)
    r = _isqrt((c * c).sum(axis=-1, keepdims=True) // d + p["eps"])
    n = _round_div(c << NORM_FRAC, r)
    return jnp.clip(_rsr(n * p["g"], p["s"]) + p["b"], -act_max, act_max)


def _gelu(x, frac):
    t = jnp.minimum(jnp.abs(x) << (28 - frac), jnp.int64(1 << 30))
    h = jnp.where(t == (1 << 30), jnp.int64(1 << 23), _horner(GELU_POLY, t))
    return _rsr(x * (jnp.int64(1 << 23) + jnp.sign(x) * h), 24)


def _linear(p, x):
    return _rsr((_gemm(x, p["w"]) + p["b"]) * p["mult"], p["shift"])


@partial(jax.jit, static_argnums=(4, 5, 6))
def _block(p, x, bias, allowed, heads, act_max, gelu_frac):
    B, S, d = x.shape
    dk = d // heads
    a = _layernorm(p["ln1"], x, act_max)
    qkv = jnp.clip(_linear(p["qkv"], a), -act_max, act_max)
    q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(B, S, heads, dk).transpose(0, 2, 1, 3) for i in range(3))
    logits = _rsr(_gemm(q, k.transpose(0, 1, 3, 2)) * p["logit_mult"], p["logit_shift"]) + bias[None]
    probs = _softmax(logits, allowed[:, None])
    o = jnp.clip(_rsr(_gemm(probs, v), PROB_FRAC), -act_max, act_max).transpose(0, 2, 1, 3).reshape(B, S, d)
    x1 = jnp.clip(x + _linear(p["proj"], o), -RES_MAX, RES_MAX)
    h = jnp.clip(_linear(p["fc1"], _layernorm(p["ln2"], x1, act_max)), -act_max, act_max)
    g = jnp.clip(_gelu(h, gelu_frac), -act_max, act_max)
    return jnp.clip(x1 + _linear(p["fc2"], g), -RES_MAX, RES_MAX)


@implements("core.int_block", "core.C53")
def make_int_block_jax(p_int: dict, heads: int):
    """Validate integer block parameters ([core.C52], [core.C53]) once and return
    ``run(x, bias, mask) -> np.ndarray``: the jitted JAX twin of
    :func:`ref.core.int_attention.int_block` (x int (B, S, d); bias int64 (heads, S, S) Q16 or
    None; mask bool (B, S, S) or None; returns int64 (B, S, d), the same integers)."""
    check_block_params(p_int, heads)
    act_max, gf = int(p_int["act_max"]), int(p_int["gelu_frac"])
    i64 = lambda v: jnp.asarray(np.asarray(v, np.int64))  # noqa: E731
    lin = lambda q: {k: i64(q[k]) for k in ("w", "b", "mult", "shift")}  # noqa: E731
    ln = lambda q: {k: i64(q[k]) for k in ("g", "s", "b", "eps")}  # noqa: E731
    p = {"ln1": ln(p_int["ln1"]), "ln2": ln(p_int["ln2"]), "qkv": lin(p_int["attn"]["qkv"]),
         "proj": lin(p_int["attn"]["proj"]), "fc1": lin(p_int["fc1"]), "fc2": lin(p_int["fc2"]),
         "logit_mult": i64(p_int["attn"]["logit_mult"]), "logit_shift": i64(p_int["attn"]["logit_shift"])}

    def run(x, bias=None, mask=None):
        x = np.asarray(x)
        if x.dtype.kind not in "iu" or x.ndim != 3 or (x.size and int(np.abs(x).max()) > RES_MAX):
            raise InputError(f"int_block_jax: x must be an integer (B, S, d) array with |x| <= 2^15 - 1, got "
                             f"{x.dtype}{x.shape}")
        x = x.astype(np.int64)
        B, S, _ = x.shape
        b = np.zeros((heads, S, S), np.int64) if bias is None else np.asarray(bias)
        if b.dtype.kind not in "iu" or b.shape != (heads, S, S) or (b.size and int(np.abs(b).max()) >= 1 << 31):
            raise InputError(f"int_block_jax: bias must be integer (heads, S, S) with |bias| < 2^31, got "
                             f"{b.dtype}{b.shape}")
        b = b.astype(np.int64)
        m = np.ones((B, S, S), bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), (B, S, S))
        return np.asarray(_block(p, jnp.asarray(x), jnp.asarray(b), jnp.asarray(m), heads, act_max, gf))

    return run
