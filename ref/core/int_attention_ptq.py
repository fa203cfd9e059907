"""Making the integer transformer block from a float one: post-training quantisation
(spec/core-int-attention.md [core.int_ptq]; informative -- only the integers are normative).

Float layout (as ref/ecf's context-model layers): {"ln1": {"g", "b"}, "qkv": {"w" (d, 3d), "b"},
"proj": {"w" (d, d), "b"}, "ln2": {"g", "b"}, "fc1": {"w" (d, m), "b"}, "fc2": {"w" (m, d), "b"}};
LayerNorm eps 1e-5, biased variance, GELU exact (erf), relative bias (heads, S, S) float added
to the logits, boolean mask (B, S, S) with True = allowed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from ref.core.errors import InputError
from ref.core.int_attention import RES_MAX, check_block_params, int_block
from ref.core.int_softmax import PROB_FRAC
from ref.core.registry import implements

LN_EPS = 1e-5


# =========================================================================== float64 reference
def _ln(p, x):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * np.asarray(p["g"], np.float64) + np.asarray(p["b"], np.float64)


def _dense(p, x):
    return x @ np.asarray(p["w"], np.float64) + np.asarray(p["b"], np.float64)


def float_block_f64(p: dict, x, bias, mask, heads: int) -> dict:
    """The float block in float64 NumPy, every intermediate: {"ln1", "q", "k", "v", "heads_out",
    "x1", "ln2", "fc1", "x2"}.  x float (B, S, d); bias float (heads, S, S) or None; mask bool
    (B, S, S) or None (a fully masked row gives zero attention output)."""
    x = np.asarray(x, np.float64)
    B, S, d = x.shape
    dk = d // heads
    t = {"ln1": _ln(p["ln1"], x)}
    qkv = _dense(p["qkv"], t["ln1"])
    t["q"], t["k"], t["v"] = (qkv[..., i * d:(i + 1) * d] for i in range(3))
    q, k, v = (t[n].reshape(B, S, heads, dk).transpose(0, 2, 1, 3) for n in ("q", "k", "v"))
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dk)
    if bias is not None:
        s = s + np.asarray(bias, np.float64)[None]
    allowed = np.ones(s.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool)[:, None], s.shape)
    s = np.where(allowed, s, -np.inf)
    m = np.max(s, -1, keepdims=True)
    e = np.where(allowed, np.exp(s - np.where(np.isfinite(m), m, 0)), 0.0)
    tot = e.sum(-1, keepdims=True)
    probs = np.where(tot > 0, e / np.where(tot > 0, tot, 1), 0.0)
    t["heads_out"] = (probs @ v).transpose(0, 2, 1, 3).reshape(B, S, d)
    t["x1"] = x + _dense(p["proj"], t["heads_out"])
    t["ln2"] = _ln(p["ln2"], t["x1"])
    t["fc1"] = _dense(p["fc1"], t["ln2"])
    g = t["fc1"] * 0.5 * (1.0 + erf(t["fc1"] / math.sqrt(2.0)))
    t["x2"] = t["x1"] + _dense(p["fc2"], g)
    return t


# =========================================================================== fixed point
def fixed_point(ratio: float) -> tuple[int, int]:
    """(m, r) with m / 2^r ~ ratio >= 0, 0 <= m < 2^31, 0 <= r <= 62 (31-bit mantissa as
    [core.intnet_ptq]); InputError if ratio >= 2^31."""
    ratio = float(ratio)
    if not (ratio >= 0 and math.isfinite(ratio)):
        raise InputError(f"fixed_point: ratio must be finite and >= 0, got {ratio}")
    if ratio == 0:
        return 0, 0
    f, e = math.frexp(ratio)
    m, r = int(round(f * 2 ** 31)), 31 - e
    if m == 1 << 31:
        m, r = 1 << 30, r - 1
    if r < 0:
        raise InputError(f"fixed_point: ratio {ratio} too large for a 31-bit multiplier")
    if r > 62:
        m, r = int(round(ratio * 2.0 ** 62)), 62
    return m, r


def _fixed_points(ratios, signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    ms, rs = [], []
    for v in np.asarray(ratios, np.float64).ravel():
        m, r = fixed_point(abs(v) if signed else v)
        ms.append(-m if (signed and v < 0) else m)
        rs.append(r)
    return np.array(ms, np.int64), np.array(rs, np.int64)


def _quant_linear(p: dict, s_in: float, s_out, w_bits: int) -> dict:
    W = np.asarray(p["w"], np.float64)
    s_w = np.max(np.abs(W), axis=0) / (2 ** (w_bits - 1) - 1)
    s_w = np.where(s_w > 0, s_w, 1.0)
    mult, shift = _fixed_points(s_w * s_in / np.broadcast_to(np.asarray(s_out, np.float64), s_w.shape))
    return {"w": np.round(W / s_w).astype(np.int32),
            "b": np.round(np.asarray(p["b"], np.float64) / (s_w * s_in)).astype(np.int64),
            "mult": mult, "shift": shift}


def _quant_ln(p: dict, s_in: float, s_out: float, d: int) -> dict:
    g, s = _fixed_points(np.asarray(p["g"], np.float64) / (2.0 ** 16 * s_out), signed=True)
    return {"g": g, "s": s, "b": np.round(np.asarray(p["b"], np.float64) / s_out).astype(np.int64),
            "eps": np.int64(max(1, round(d * d * LN_EPS / s_in ** 2)))}


@implements("core.int_ptq")
def quantize_block(p: dict, calib_x, bias, mask, heads: int, *, w_bits: int = 8, act_max: int = 2047,
                   headroom: float = 1.25, scales: dict | None = None) -> tuple[dict, float, np.ndarray | None]:
    """Integer block parameters from a float block ([core.int_ptq]).

    p: float block (module doc); calib_x float (B, S, d) calibration residual-stream tokens;
    bias float (heads, S, S) or None; mask bool (B, S, S) or None; w_bits: weight bits
    (symmetric, per output channel); act_max: activation clip; headroom: the calibration
    maximum of each tensor maps to act_max / headroom.
    Returns (p_int, S_x, bias_int): S_x the real value of one residual-stream unit
    (x_int = clip(round(x / S_x), +-RES_MAX)), bias_int int64 (heads, S, S) = round(bias 2^16).
    """
    t = float_block_f64(p, calib_x, bias, mask, heads)
    d = np.asarray(calib_x).shape[-1]
    dk = d // heads

    def scale(*arrs, top):
        mx = max(float(np.max(np.abs(a))) for a in arrs)
        return headroom * mx / top if mx > 0 else 1.0

    S_x = scale(calib_x, t["x1"], t["x2"], top=RES_MAX)
    S_ln1, S_ln2 = scale(t["ln1"], top=act_max), scale(t["ln2"], top=act_max)
    S_q, S_k, S_v = (scale(t[n], top=act_max) for n in ("q", "k", "v"))
    mx1 = float(np.max(np.abs(t["fc1"])))
    gf = int(np.clip(math.floor(math.log2(act_max / (headroom * mx1))) if mx1 > 0 else 28, 0, 28))
    lm, ls = fixed_point(2.0 ** PROB_FRAC * S_q * S_k / math.sqrt(dk))
    p_int = {
        "act_max": np.int64(act_max), "gelu_frac": np.int64(gf),
        "ln1": _quant_ln(p["ln1"], S_x, S_ln1, d),
        "attn": {"qkv": _quant_linear(p["qkv"], S_ln1, np.repeat([S_q, S_k, S_v], d), w_bits),
                 "proj": _quant_linear(p["proj"], S_v, S_x, w_bits),
                 "logit_mult": np.int64(lm), "logit_shift": np.int64(ls)},
        "ln2": _quant_ln(p["ln2"], S_x, S_ln2, d),
        "fc1": _quant_linear(p["fc1"], S_ln2, 2.0 ** -gf, w_bits),
        "fc2": _quant_linear(p["fc2"], 2.0 ** -gf, S_x, w_bits),
    }
    check_block_params(p_int, heads)
    if scales is not None:
        scales.update(S_x=S_x, S_ln1=S_ln1, S_q=S_q, S_k=S_k, S_v=S_v, S_ln2=S_ln2)
    bias_int = None if bias is None else np.round(np.asarray(bias, np.float64) * 2.0 ** PROB_FRAC).astype(np.int64)
    return p_int, S_x, bias_int


def quantize_input(x, S_x: float) -> np.ndarray:
    """x_int = clip(round_half_even(x / S_x), +-RES_MAX) (int64)."""
    return np.clip(np.round(np.asarray(x, np.float64) / S_x), -RES_MAX, RES_MAX).astype(np.int64)


def agreement(p: dict, p_int: dict, S_x: float, bias, bias_int, x, mask, heads: int) -> dict:
    """Integer block vs float64 block on inputs x (float (B, S, d)): max / mean absolute error of
    the block output (real units), and the float output's RMS for scale."""
    want = float_block_f64(p, x, bias, mask, heads)["x2"]
    got = int_block(p_int, quantize_input(x, S_x), bias_int, mask, heads).astype(np.float64) * S_x
    err = np.abs(got - want)
    return {"max_abs": float(err.max()), "mean_abs": float(err.mean()), "rms_out": float(np.sqrt(np.mean(want ** 2))),
            "max_abs_attn_delta": float(np.max(np.abs(want - np.asarray(x, np.float64))))}


def synthetic_block(seed: int, d: int, heads: int, mlp_ratio: int = 4, S: int = 16) -> tuple[dict, np.ndarray]:
    """A float block with random weights (not a trained model): weights ~ N(0, 1/d_in), LN gamma ~ 1 + N(0, 0.1^2), beta ~ N(0, 0.05^2),
    biases ~ N(0, 0.02^2); and a relative bias (heads, S, S) ~ N(0, 0.5^2).  Returns (p, bias)."""
    r = np.random.Generator(np.random.PCG64(seed))
    m = mlp_ratio * d

    def dense(n_in, n_out):
        return {"w": r.normal(0, 1 / math.sqrt(n_in), (n_in, n_out)), "b": r.normal(0, 0.02, n_out)}

    def ln():
        return {"g": 1 + r.normal(0, 0.1, d), "b": r.normal(0, 0.05, d)}

    p = {"ln1": ln(), "qkv": dense(d, 3 * d), "proj": dense(d, d), "ln2": ln(), "fc1": dense(d, m),
         "fc2": dense(m, d)}
    return p, r.normal(0, 0.5, (heads, S, S))


def causal_mask(B: int, S: int) -> np.ndarray:
    """bool (B, S, S): query i may attend keys j <= i (a mask with every kind of row length)."""
    return np.broadcast_to(np.tril(np.ones((S, S), bool)), (B, S, S)).copy()


def bench_block(d: int, heads: int, S: int, B: int, repeats: int = 3, seed: int = 0) -> dict:
    """Speed and agreement of one block (informative): median seconds of the integer block (NumPy
    and jitted JAX, after one warm-up call) and of the float64 NumPy block on B windows of S tokens (causal mask), and the agreement report on
    those inputs (calibration: 16 other windows).  Synthetic weights (:func:`synthetic_block`)."""
    import time

    p, bias = synthetic_block(seed, d, heads, S=S)
    r = np.random.Generator(np.random.PCG64(seed + 1))
    p_int, S_x, bias_int = quantize_block(p, r.normal(0, 1, (16, S, d)), bias, causal_mask(16, S), heads)
    x = r.normal(0, 1, (B, S, d))
    mask = causal_mask(B, S)
    xi = quantize_input(x, S_x)

    def med(fn):
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    from ref.core.int_attention_jax import make_int_block_jax

    run_jax = make_int_block_jax(p_int, heads)
    same = bool(np.array_equal(run_jax(xi, bias_int, mask), int_block(p_int, xi, bias_int, mask, heads)))  # + compile
    rep = agreement(p, p_int, S_x, bias, bias_int, x, mask, heads)
    return {"int_numpy_s": med(lambda: int_block(p_int, xi, bias_int, mask, heads)),
            "int_jax_s": med(lambda: run_jax(xi, bias_int, mask)), "jax_equal_numpy": same,
            "float64_numpy_s": med(lambda: float_block_f64(p, x, bias, mask, heads)), **rep}
