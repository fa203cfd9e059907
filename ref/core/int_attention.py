"""Integer linear layer, integer masked multi-head attention and the integer pre-norm
transformer block (spec/core-int-attention.md).

The decoder-critical context model of ecf (window attention, issue 15) decides GMM tables,
so a portable decoder must run it in integers, as the hyper-synthesis (spec/core-intnet.md).
Same conventions: exact integer accumulation, |acc| < 2^31 checked once per parameter set
([core.C41]), requantisation by a 31-bit multiplier and a rounding right shift ([core.C40]),
float64 GEMMs allowed because every partial sum is an integer below 2^53 ([core.C42]).

    a    = LN1(x)                                          [core.int_layernorm]
    q|k|v = clip(linear_qkv(a), +-act_max)                 [core.int_linear]
    l    = rshift_round(q_h k_h^T * m_l, r_l) + B_h        Q16 logits             [core.int_attention]
    P    = int_softmax(l, mask)                            Q16 probabilities      [core.int_softmax]
    o    = clip(rshift_round(P v_h, 16), +-act_max);  att = linear_proj(concat_h o)
    x1   = clip(x + att, +-RES_MAX)                                               [core.int_block]
    g    = clip(int_gelu(clip(linear_fc1(LN2(x1)), +-act_max), gelu_frac), +-act_max)
    x2   = clip(x1 + linear_fc2(g), +-RES_MAX)

Parameters are plain nested dicts of integer NumPy arrays (made by
:func:`ref.core.int_attention_ptq.quantize_block`); layouts in :func:`check_block_params`.
Backend: NumPy only (float64 GEMMs, exact by [core.C53]).
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.int_layernorm import int_gelu, int_layernorm
from ref.core.int_softmax import PROB_FRAC, int_softmax
from ref.core.intnet import ACC_LIMIT, MAX_SHIFT, MULT_LIMIT, rshift_round
from ref.core.registry import implements

RES_MAX = (1 << 15) - 1          # [core.C52] residual stream clip (= LayerNorm input limit - 1)
ACT_MAX_LIMIT = (1 << 14) - 1    # [core.C52] act_max <= 2^14 - 1 (P v accumulator < 2^31)
MAX_TOKENS = 1 << 16             # keys per row


# =========================================================================== linear
def _gemm_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer matmul through float64 ([core.C53]): valid when every partial sum < 2^53."""
    return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)


@implements("core.C53")
def linear_bound(p: dict, in_max: int) -> np.ndarray:
    """Worst-case |accumulator| per output channel: |b[o]| + in_max * sum_i |w[i, o]| (int64 (d_out,))."""
    w = np.abs(np.asarray(p["w"], np.int64))
    return np.abs(np.asarray(p["b"], np.int64)) + int(in_max) * w.sum(axis=0)


def check_linear(p: dict, in_max: int, name: str) -> None:
    """Validate one linear layer's integers against [core.C53]; InputError otherwise."""
    w, b = np.asarray(p["w"]), np.asarray(p["b"])
    if w.dtype.kind not in "iu" or b.dtype.kind not in "iu" or w.ndim != 2 or b.shape != (w.shape[1],):
        raise InputError(f"{name}: need integer w (d_in, d_out) and b (d_out,), got {w.dtype}{w.shape}, "
                         f"{b.dtype}{b.shape}")
    if int(linear_bound(p, in_max).max(initial=0)) >= ACC_LIMIT:
        raise InputError(f"{name}: accumulator bound |b| + in_max sum|w| reaches 2^31 (in_max {in_max})")
    if "mult" in p:
        m, s = np.asarray(p["mult"], np.int64), np.asarray(p["shift"], np.int64)
        if m.shape != b.shape or s.shape != b.shape:
            raise InputError(f"{name}: mult and shift must have shape {b.shape}")
        if m.min(initial=0) < 0 or m.max(initial=0) >= MULT_LIMIT or s.min(initial=0) < 0 \
                or s.max(initial=0) > MAX_SHIFT:
            raise InputError(f"{name}: need 0 <= mult < 2^31 and 0 <= shift <= 62")


@implements("core.int_linear")
def int_linear(p: dict, x) -> np.ndarray:
    """Integer linear layer ([core.int_linear]): acc = x @ w + b exactly; if p has "mult":
    q[..., o] = rshift_round(acc[..., o] * mult[o], shift[o]), else acc.

    p: {"w": int32 (d_in, d_out), "b": int64 (d_out,) in accumulator units, optional
    "mult" int64 (d_out,) in [0, 2^31), "shift" int64 (d_out,) in [0, 62]}; the caller keeps
    |b| + max|x| sum_i |w[i, o]| < 2^31 ([core.C53], :func:`check_linear`).
    x: int64 (..., d_in).  Returns int64 (..., d_out).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise InputError(f"int_linear: input must be integers, got {x.dtype}")
    w = np.asarray(p["w"])
    if x.shape[-1] != w.shape[0]:
        raise InputError(f"int_linear: input has {x.shape[-1]} features, weight expects {w.shape[0]}")
    acc = _gemm_exact(x, w) + np.asarray(p["b"], np.int64)
    if "mult" not in p:
        return acc
    return rshift_round(acc * np.asarray(p["mult"], np.int64), np.asarray(p["shift"], np.int64))


# =========================================================================== attention
@implements("core.int_attention")
def int_attention(p: dict, a, bias, mask, heads: int, act_max: int, trace: dict | None = None) -> np.ndarray:
    """Integer masked multi-head attention ([core.int_attention]) on LayerNorm outputs.

    p: {"qkv": linear d -> 3d (requantised to the q, k, v units), "proj": linear d -> d_out
        (requantised to the caller's output units), "logit_mult": int64 () in [0, 2^31),
        "logit_shift": int64 () in [0, 62]}  (m_l / 2^r_l ~ 2^16 S_q S_k / sqrt(d_k)).
    a: int64 (B, S, d), |a| <= act_max.  bias: int64 (heads, S, S) Q16 logit bias, |bias| < 2^31
    (or None).  mask: bool (B, S, S), True = query may attend the key (or None = all).
    heads: h (d mod h = 0); act_max: clip of q, k, v and of the head outputs.
    trace: optional dict that receives "qkv", "logits", "probs", "heads_out".
    Returns int64 (B, S, d_out): proj(concat_h clip(rshift_round(P_h v_h, 16), +-act_max)).
    """
    a = np.asarray(a, np.int64)
    B, S, d = a.shape
    if d % heads:
        raise InputError(f"int_attention: d = {d} not divisible by heads = {heads}")
    if S > MAX_TOKENS:
        raise InputError(f"int_attention: at most {MAX_TOKENS} tokens, got {S}")
    dk = d // heads
    qkv = np.clip(int_linear(p["qkv"], a), -act_max, act_max)
    q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(B, S, heads, dk).transpose(0, 2, 1, 3) for i in range(3))
    acc = _gemm_exact(q, k.transpose(0, 1, 3, 2))                           # |acc| <= d_k act_max^2 < 2^31
    logits = rshift_round(acc * np.int64(p["logit_mult"]), np.int64(p["logit_shift"]))
    if bias is not None:
        logits = logits + np.asarray(bias, np.int64)[None]
    probs = int_softmax(logits, None if mask is None else np.asarray(mask, bool)[:, None])
    o = rshift_round(_gemm_exact(probs, v), PROB_FRAC)                      # |P v| < 1.5 * 2^16 act_max
    o = np.clip(o, -act_max, act_max).transpose(0, 2, 1, 3).reshape(B, S, d)
    if trace is not None:
        trace.update(qkv=qkv, logits=logits, probs=probs, heads_out=o)
    return int_linear(p["proj"], o)


# =========================================================================== block
@implements("core.C52", "core.C53")
def check_block_params(p: dict, heads: int) -> None:
    """Validate a block's integers ([core.C52], [core.C53]); InputError with the reason.

    p = {"act_max": int64 (), "gelu_frac": int64 (), "ln1", "ln2": {"g", "s", "b", "eps"}
    ([core.int_layernorm]), "attn": {"qkv", "proj", "logit_mult", "logit_shift"}
    ([core.int_attention]), "fc1", "fc2": linear layers with mult/shift ([core.int_linear])}.
    """
    try:
        act_max, gf = int(p["act_max"]), int(p["gelu_frac"])
        d = np.asarray(p["attn"]["qkv"]["w"]).shape[0]
    except (KeyError, TypeError, IndexError) as e:
        raise InputError(f"integer block parameters incomplete: {e}") from None
    if not 1 <= act_max <= ACT_MAX_LIMIT:
        raise InputError(f"act_max must lie in [1, {ACT_MAX_LIMIT}], got {act_max}")
    if not 0 <= gf <= 28:
        raise InputError(f"gelu_frac must lie in [0, 28], got {gf}")
    if d % heads or (d // heads) * act_max * act_max >= ACC_LIMIT:
        raise InputError(f"d_k * act_max^2 must be < 2^31 (d = {d}, heads = {heads}, act_max = {act_max})")
    if not (0 <= int(p["attn"]["logit_mult"]) < MULT_LIMIT and 0 <= int(p["attn"]["logit_shift"]) <= MAX_SHIFT):
        raise InputError("logit multiplier / shift out of range")
    for name in ("ln1", "ln2"):
        ln = p[name]
        g, s, b = (np.asarray(ln[k], np.int64) for k in ("g", "s", "b"))
        if g.shape != (d,) or s.shape != (d,) or b.shape != (d,):
            raise InputError(f"{name}: g, s, b must have shape ({d},)")
        if np.abs(g).max() >= MULT_LIMIT or s.min() < 0 or s.max() > MAX_SHIFT or np.abs(b).max() >= ACC_LIMIT:
            raise InputError(f"{name}: need |g| < 2^31, 0 <= s <= 62, |b| < 2^31")
    for name, layer in (("qkv", p["attn"]["qkv"]), ("proj", p["attn"]["proj"]), ("fc1", p["fc1"]),
                        ("fc2", p["fc2"])):
        check_linear(layer, act_max, name)
        if "mult" not in layer:
            raise InputError(f"{name}: block layers need mult and shift")


@implements("core.int_block")
def int_block(p: dict, x, bias, mask, heads: int, trace: dict | None = None) -> np.ndarray:
    """One integer pre-norm transformer block ([core.int_block]; Swin / ecf layer order).

    p: see :func:`check_block_params` (validated here).  x: int64 (B, S, d) residual stream,
    |x| <= RES_MAX; bias int64 (heads, S, S) Q16 or None; mask bool (B, S, S) or None.
    trace: optional dict receiving every intermediate ("ln1", "attn", "x1", "ln2", "fc1",
    "gelu", "fc2" and those of :func:`int_attention`).  Returns int64 (B, S, d), |x2| <= RES_MAX.
    """
    check_block_params(p, heads)
    x = np.asarray(x)
    if x.dtype.kind not in "iu" or x.ndim != 3:
        raise InputError(f"int_block: x must be an integer (B, S, d) array, got {x.dtype}{x.shape}")
    x = x.astype(np.int64)
    if x.size and int(np.abs(x).max()) > RES_MAX:
        raise InputError("int_block: |x| must be <= 2^15 - 1")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype.kind not in "iu" or bias.shape != (heads, x.shape[1], x.shape[1]) or \
                (bias.size and int(np.abs(bias).max()) >= ACC_LIMIT):
            raise InputError(f"int_block: bias must be integer (heads, S, S) with |bias| < 2^31, got "
                             f"{bias.dtype}{bias.shape}")
    act_max, gf = int(p["act_max"]), int(p["gelu_frac"])
    t = {} if trace is None else trace
    t["ln1"] = int_layernorm(p["ln1"], x, act_max)
    t["attn"] = int_attention(p["attn"], t["ln1"], bias, mask, heads, act_max, trace=t)
    t["x1"] = np.clip(x + t["attn"], -RES_MAX, RES_MAX)
    t["ln2"] = int_layernorm(p["ln2"], t["x1"], act_max)
    t["fc1"] = np.clip(int_linear(p["fc1"], t["ln2"]), -act_max, act_max)
    t["gelu"] = np.clip(int_gelu(t["fc1"], gf), -act_max, act_max)
    t["fc2"] = int_linear(p["fc2"], t["gelu"])
    return np.clip(t["x1"] + t["fc2"], -RES_MAX, RES_MAX)
