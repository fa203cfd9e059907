"""Golden vectors for the integer attention kernels (spec/core-int-attention.md).

Every decoder-side output here is an integer: EXACT.  Only the post-training quantisation
([core.int_ptq], a checkpoint-time step whose calibration uses float64 GEMMs) allows +-1.
Parameter pytrees are stored flattened: input ``"p.attn.qkv.w"`` is ``p["attn"]["qkv"]["w"]``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ref.conformance.trees import flatten, unflatten
from ref.conformance.golden import Vector, allclose


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


_SCALARS = ("act_max", "gelu_frac", "logit_mult", "logit_shift", "eps")
_flat = partial(flatten, scalars_1d=True)
_unflat = partial(unflatten, leaf=lambda key, v: np.asarray(v).reshape(()) if np.size(v) == 1 and key in _SCALARS
                  else np.asarray(v))


# --------------------------------------------------------------------------- exp, softmax, round_div
def _sm_inputs() -> dict:
    from ref.core.int_softmax import EXP_CLIP

    r = _rng(50)
    d = np.concatenate([[0, -1, -2, -45426, -45427, -65536, -(1 << 16) * 10, -EXP_CLIP + 1, -EXP_CLIP,
                         -EXP_CLIP - 1, -(1 << 40)], -r.integers(0, 20 << 16, 40)]).astype(np.int64)
    logits = r.integers(-6 << 16, 6 << 16, (4, 9))
    mask = r.random((4, 9)) < 0.6
    mask[0] = False                     # fully masked row
    mask[1] = True
    mask[2, :] = False
    mask[2, 3] = True                   # a single allowed key
    return {"d": d, "logits": logits, "mask": mask,
            "a": np.array([5, -5, 7, -7, 8, -8, 3, -3, 0, 1 << 40, -(1 << 40)], np.int64),
            "b": np.array([2, 2, 3, 3, 3, 3, 6, 6, 4, 3, 7], np.int64)}


def _sm_run(inputs) -> dict:
    from ref.core.int_softmax import int_exp, int_softmax, round_div

    return {"e": int_exp(inputs["d"]), "probs": int_softmax(inputs["logits"], inputs["mask"]),
            "q": round_div(inputs["a"], inputs["b"])}


# --------------------------------------------------------------------------- isqrt, layernorm, gelu
def _ln_inputs() -> dict:
    r = _rng(51)
    d = 12
    x = r.integers(-(1 << 15) + 1, 1 << 15, (5, d)) >> np.array([[0], [3], [8], [12], [0]])
    x[4] = -77                          # constant row: y = clip(b)
    return {"n": np.array([0, 1, 2, 3, 4, 15, 16, 17, 1 << 62,
                           (1 << 62) - 1, ((1 << 31) - 1) ** 2, ((1 << 31) - 1) ** 2 - 1, 999999999999], np.int64),
            "x": x, "ln.g": r.integers(-(1 << 30), 1 << 30, d), "ln.s": r.integers(24, 32, d),
            "ln.b": r.integers(-300, 300, d), "ln.eps": np.array([37], np.int64),
            "g_in": np.concatenate([np.arange(-5 << 12, (5 << 12) + 1, 1111), [0, 4 << 12, -(4 << 12), (1 << 31) - 1,
                                                                              -(1 << 31) + 1]]).astype(np.int64)}


def _ln_run(inputs, act_max: int, gelu_frac: int) -> dict:
    from ref.core.int_layernorm import int_gelu, int_layernorm, isqrt

    p = _unflat(inputs, "ln.")
    return {"isqrt": isqrt(inputs["n"]), "ln": int_layernorm(p, inputs["x"], act_max),
            "gelu": int_gelu(inputs["g_in"], gelu_frac)}


# --------------------------------------------------------------------------- linear
def _lin_inputs() -> dict:
    r = _rng(52)
    return {"x": r.integers(-2047, 2048, (3, 4, 10)), "w": r.integers(-127, 128, (10, 6)).astype(np.int32),
            "b": r.integers(-5000, 5000, 6), "mult": np.array([1 << 30, 3, (1 << 31) - 1, 0, 12345, 987654321]),
            "shift": np.array([31, 0, 40, 5, 20, 38])}


def _lin_run(inputs) -> dict:
    from ref.core.int_attention import int_linear

    p = {k: inputs[k] for k in ("w", "b", "mult", "shift")}
    return {"acc": int_linear({"w": inputs["w"], "b": inputs["b"]}, inputs["x"]), "q": int_linear(p, inputs["x"])}


# --------------------------------------------------------------------------- block
_BLK = {"d": 16, "heads": 2, "S": 8, "seed": 7}


def _blk_float():
    from ref.core.int_attention_ptq import causal_mask, synthetic_block

    p, bias = synthetic_block(_BLK["seed"], _BLK["d"], _BLK["heads"], S=_BLK["S"])
    calib = _rng(53).normal(0, 1, (6, _BLK["S"], _BLK["d"]))
    return p, bias, calib, causal_mask(6, _BLK["S"])


def _blk_inputs() -> dict:
    from ref.core.int_attention_ptq import causal_mask, quantize_block, quantize_input

    p, bias, calib, cmask = _blk_float()
    p_int, S_x, bias_int = quantize_block(p, calib, bias, cmask, _BLK["heads"])
    x = quantize_input(_rng(54).normal(0, 1, (2, _BLK["S"], _BLK["d"])), S_x)
    mask = causal_mask(2, _BLK["S"])
    mask[1, 3] = False                  # a fully masked query row
    return {"x": x, "bias": bias_int, "mask": mask, **_flat(p_int, "p.")}


_BLK_TRACE = ("ln1", "qkv", "logits", "probs", "heads_out", "attn", "x1", "ln2", "fc1", "gelu", "fc2", "y")


def _blk_run(inputs, heads: int) -> dict:
    from ref.core.int_attention import int_block

    t: dict = {}
    y = int_block(_unflat(inputs, "p."), inputs["x"], inputs["bias"], inputs["mask"], heads, trace=t)
    t["y"] = y
    return {k: t[k] for k in _BLK_TRACE}


def _ptq_inputs() -> dict:
    p, bias, calib, cmask = _blk_float()
    return {"calib": calib, "bias": bias, "mask": cmask, **_flat(p, "f.")}


def _ptq_run(inputs, heads: int, w_bits: int, act_max: int, headroom: float) -> dict:
    from ref.core.int_attention_ptq import quantize_block

    p_int, _, bias_int = quantize_block(_unflat(inputs, "f."), inputs["calib"], inputs["bias"], inputs["mask"], heads,
                                        w_bits=w_bits, act_max=act_max, headroom=headroom)
    return {**_flat(p_int, ""), "bias_int": bias_int}


_P_DOC = ("integer block parameters [core.int_block], flattened with '.': p.ln1.{g,s,b,eps} [core.int_layernorm]; "
          "p.attn.qkv / p.attn.proj / p.fc1 / p.fc2 .{w int32 (d_in,d_out), b, mult, shift} [core.int_linear]; "
          "p.attn.logit_mult/logit_shift, p.act_max, p.gelu_frac int64 (1,) scalars")

VECTORS = [
    Vector(
        id="core.int_attention.exp_softmax",
        equations=("core.int_exp", "core.int_softmax", "core.C50", "core.C51"),
        function="ref.core.int_softmax.int_softmax",
        make_inputs=_sm_inputs, run=_sm_run,
        description="integer exp on edge and random Q16 inputs, masked integer softmax (fully masked / single-key rows), "
                    "rounding division ties",
        inputs_doc={"d": "int64 (51,) Q16 exponents <= 0: 0, -1, -2, ~-ln2, -1, -10, the clip edge -32*2^16 +-1, -2^40, random",
                    "logits": "int64 (4,9) Q16 logits", "mask": "bool (4,9), True = allowed; row 0 fully masked, "
                    "row 1 all allowed, row 2 one key", "a": "int64 (11,) numerators", "b": "int64 (11,) divisors >= 1"},
        outputs_doc={"e": "[core.int_exp] int64 (51,): Q30 exp(d/2^16) by range reduction, degree-5 Horner, rounding shift",
                     "probs": "[core.int_softmax] int64 (4,9) Q16: masked 0, fully masked row 0, else round_div(e*2^16, S)",
                     "q": "[core.C51] int64 (11,): (a + b//2) // b"},
    ),
    Vector(
        id="core.int_attention.isqrt_ln_gelu",
        equations=("core.int_isqrt", "core.int_layernorm", "core.int_gelu", "core.C52"),
        function="ref.core.int_layernorm.int_layernorm",
        make_inputs=_ln_inputs, run=_ln_run, params={"act_max": 2047, "gelu_frac": 12},
        description="floor square roots at the edges of [0, 2^62], integer LayerNorm (d = 12, spreads 2^15..2^3, a "
                    "constant row), integer GELU on Q12 inputs incl. the +-4 clip and |x| = 2^31 - 1",
        inputs_doc={"n": "int64 (13,) in [0, 2^62]", "x": "int64 (5,12) LayerNorm input, |x| < 2^15",
                    "ln.g": "int64 (12,) signed multipliers", "ln.s": "int64 (12,) shifts", "ln.b": "int64 (12,) bias",
                    "ln.eps": "int64 (1,) E", "g_in": "int64 GELU inputs, Q(gelu_frac)"},
        params_doc={"act_max": "LayerNorm output clip", "gelu_frac": "fractional bits of the GELU input/output"},
        outputs_doc={"isqrt": "[core.int_isqrt] floor(sqrt(n))",
                     "ln": "[core.int_layernorm] clip(rshift_round(round_div(c*2^16, isqrt(sum c^2 // d + E)) * g, s) + b)",
                     "gelu": "[core.int_gelu] rshift_round(x * (2^23 + sgn(x) h), 24), h Horner of GELU_POLY at min(|x|<<16, 2^30)"},
    ),
    Vector(
        id="core.int_attention.linear",
        equations=("core.int_linear", "core.C53"),
        function="ref.core.int_attention.int_linear",
        make_inputs=_lin_inputs, run=_lin_run,
        description="integer linear layer: exact accumulator and per-channel requantisation",
        inputs_doc={"x": "int64 (3,4,10) activations |x| <= 2047", "w": "int32 (10,6) weights", "b": "int64 (6,) bias "
                    "(accumulator units)", "mult": "int64 (6,) multipliers in [0, 2^31)", "shift": "int64 (6,) shifts"},
        outputs_doc={"acc": "[core.int_linear] x @ w + b exactly (int64; |acc| < 2^31 by [core.C53])",
                     "q": "[core.int_linear] rshift_round(acc * mult, shift) per channel [core.C40]"},
    ),
    Vector(
        id="core.int_attention.block",
        equations=("core.int_block", "core.int_attention", "core.int_linear", "core.int_layernorm", "core.int_gelu",
                   "core.int_softmax", "core.int_exp", "core.int_isqrt", "core.C50", "core.C52", "core.C53"),
        function="ref.core.int_attention.int_block",
        make_inputs=_blk_inputs, run=_blk_run, params={"heads": 2},
        description="every intermediate of one integer pre-norm transformer block (d = 16, 2 heads, 8 tokens, causal "
                    "mask with one fully masked query row)",
        inputs_doc={"x": "int64 (2,8,16) residual stream", "bias": "int64 (2,8,8) Q16 logit bias per head",
                    "mask": "bool (2,8,8) True = allowed; causal, row [1,3] fully masked", "p.*": _P_DOC},
        params_doc={"heads": "number of heads h (d_k = 8)"},
        outputs_doc={"ln1": "[core.int_layernorm](p.ln1, x)", "qkv": "clip(int_linear(p.attn.qkv, ln1), +-act_max)",
                     "logits": "rshift_round(q_h k_h^T * logit_mult, logit_shift) + bias, (2,2,8,8)",
                     "probs": "[core.int_softmax](logits, mask)", "heads_out": "clip(rshift_round(probs v_h, 16)) merged",
                     "attn": "int_linear(p.attn.proj, heads_out)", "x1": "clip(x + attn, +-(2^15-1))",
                     "ln2": "[core.int_layernorm](p.ln2, x1)", "fc1": "clip(int_linear(p.fc1, ln2), +-act_max)",
                     "gelu": "clip([core.int_gelu](fc1, gelu_frac), +-act_max)", "fc2": "int_linear(p.fc2, gelu)",
                     "y": "clip(x1 + fc2, +-(2^15-1))"},
    ),
    Vector(
        id="core.int_attention.ptq",
        equations=("core.int_ptq",),
        function="ref.core.int_attention_ptq.quantize_block",
        make_inputs=_ptq_inputs, run=_ptq_run, params={"heads": 2, "w_bits": 8, "act_max": 2047, "headroom": 1.25},
        default_rule=allclose(rtol=0, atol=1),
        description="post-training quantisation of a fixed float block (d = 16) on fixed calibration tokens "
                    "(checkpoint-time; integers +-1)",
        inputs_doc={"calib": "float64 (6,8,16) calibration residual-stream tokens", "bias": "float64 (2,8,8) logit bias",
                    "mask": "bool (6,8,8) causal", "f.*": "float64 block: f.ln1.g/b, f.qkv.w (16,48)/b, f.proj, f.ln2, "
                    "f.fc1.w (16,64)/b, f.fc2"},
        params_doc={"heads": "h", "w_bits": "weight bits (per output channel)", "act_max": "activation clip",
                    "headroom": "calibration max maps to act_max / headroom"},
        outputs_doc={"*": "[core.int_ptq] integer parameters flattened like p.* of core.int_attention.block",
                     "bias_int": "round(bias * 2^16)"},
    ),
]
