"""Golden vectors for the integer hyper-synthesis (spec/core-intnet.md).

Everything the decoder computes here is an integer: EXACT on every platform, backend, thread
count and device count.  The only float step is making the integers from a float model
([core.intnet_ptq], a checkpoint-time step): its vector allows +-1 on the integers, because
its calibration statistics come from float64 GEMMs whose summation order is not pinned.

Parameter pytrees are stored flattened: input ``"p.deconv0.w"`` is ``p["deconv0"]["w"]``.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.trees import flatten as _flat, unflatten as _unflat
from ref.conformance.golden import Vector, allclose

_P_INT_DOC = ("integer h_s parameters [core.intnet_hs]/[core.C43], flattened with '.': 'p.deconv0.w' is "
              "p['deconv0']['w'] (int32 HWIO, correlation form), '.b' int64 bias in accumulator units, '.mult'/'.shift' "
              "int64 per-channel requantisation [core.intnet_requant]; 'p.index.*' [core.intnet_index]; "
              "'p.z_max', 'p.act_max', 'p.mean_grid' int64 scalars")


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --------------------------------------------------------------------------- rounding
def _round_inputs() -> dict:
    ties = np.array([-5, -3, -1, 1, 3, 5, -7, -6, -5, -3, -2, 1, 2, 10], dtype=np.int64)
    tshift = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2], dtype=np.int64)
    r = _rng(40)
    big = np.array([(1 << 61) + (1 << 29), -((1 << 61) + (1 << 29)), (1 << 62) - 1, -(1 << 62)], dtype=np.int64)
    x = np.concatenate([ties, big, r.integers(-(1 << 40), 1 << 40, 32)])
    shift = np.concatenate([tshift, np.array([30, 30, 62, 62]), r.integers(0, 41, 32)]).astype(np.int64)
    return {"x": x, "shift": shift, "acc": r.integers(-(1 << 31) + 1, 1 << 31, (6, 4)),
            "mult": np.array([1 << 30, 3, (1 << 31) - 1, 0], dtype=np.int64),
            "mshift": np.array([31, 0, 45, 7], dtype=np.int64)}


def _round_run(inputs) -> dict:
    from ref.core.intnet import requantize, rshift_round

    return {"y": rshift_round(inputs["x"], inputs["shift"]),
            "q": requantize(inputs["acc"], inputs["mult"], inputs["mshift"])}


# --------------------------------------------------------------------------- layers
def _layer_inputs() -> dict:
    r = _rng(41)
    return {
        "x": r.integers(-1023, 1024, (1, 5, 6, 3)),
        "conv3.w": r.integers(-511, 512, (3, 3, 3, 4)).astype(np.int32), "conv3.b": r.integers(-9999, 9999, 4),
        "conv5.w": r.integers(-511, 512, (5, 5, 3, 2)).astype(np.int32), "conv5.b": r.integers(-9999, 9999, 2),
        "deconv5.w": r.integers(-511, 512, (5, 5, 3, 4)).astype(np.int32), "deconv5.b": r.integers(-9999, 9999, 4),
        "deconv3.w": r.integers(-511, 512, (3, 3, 3, 2)).astype(np.int32), "deconv3.b": r.integers(-9999, 9999, 2),
    }


def _layer_run(inputs) -> dict:
    from ref.core.intnet import int_conv, int_deconv

    p = _unflat(inputs, "")
    x = inputs["x"]
    return {"conv3_s1": int_conv(p["conv3"], x, stride=1), "conv5_s2": int_conv(p["conv5"], x, stride=2),
            "deconv5_s2": int_deconv(p["deconv5"], x, stride=2), "deconv3_s2": int_deconv(p["deconv3"], x, stride=2)}


# --------------------------------------------------------------------------- whole network
_HS = {"N": 8, "M": 8, "seed": 3}


def _hs_float_and_calib():
    from ref.core.intnet_ptq import synthetic_hyper_synthesis, synthetic_z_hat

    N, M, seed = _HS["N"], _HS["M"], _HS["seed"]
    p = synthetic_hyper_synthesis(seed, N, M)
    calib = synthetic_z_hat(seed + 1, (4, 4, 4, N), channel_seed=seed)
    return p, calib


def _hs_inputs() -> dict:
    from ref.core.intnet_ptq import quantize_hyper_synthesis, synthetic_z_hat

    p, calib = _hs_float_and_calib()
    p_int = quantize_hyper_synthesis(p, calib)
    z = synthetic_z_hat(_HS["seed"] + 2, (1, 3, 4, _HS["N"]), channel_seed=_HS["seed"])
    z[0, 0, 0, :3] = [1500, -1500, 0]                        # exercises the input clip (z_max 1023)
    return {"z_hat": z, **_flat(p_int, "p.")}


def _hs_run(inputs, backend: str) -> dict:
    from ref.core.intnet import int_hyper_synthesis_trace

    p = _unflat(inputs, "p.")
    for k in ("z_max", "act_max", "mean_grid"):
        p[k] = p[k].reshape(())
    return int_hyper_synthesis_trace(p, inputs["z_hat"], backend=backend)


# --------------------------------------------------------------------------- thresholds
def _thr_inputs() -> dict:
    r = _rng(42)
    S = np.exp(r.uniform(np.log(1e-6), np.log(1e-1), 6))
    S[0] = 0.11 / 1000                                         # s_0 / S_0 = 1000 up to float64 rounding
    return {"S": S, "S_mean": np.exp(r.uniform(np.log(1e-6), np.log(1e-1), 6))}


def _thr_run(inputs, mean_grid: int) -> dict:
    from ref.core.intnet_ptq import multiplier, scale_thresholds

    mm, ms = multiplier(inputs["S_mean"] * mean_grid)
    return {"T": scale_thresholds(inputs["S"]), "mean_mult": mm, "mean_shift": ms}


# --------------------------------------------------------------------------- PTQ
def _ptq_inputs() -> dict:
    p, calib = _hs_float_and_calib()
    return {"calib": calib, **_flat(p, "f.")}


def _ptq_run(inputs, **kw) -> dict:
    from ref.core.intnet_ptq import quantize_hyper_synthesis

    p = _unflat(inputs, "f.")
    out = _flat(quantize_hyper_synthesis(p, inputs["calib"], **kw), "")
    return {k: v.reshape(1) if v.ndim == 0 else v for k, v in out.items()}


_TRACE_DOC = {
    "z": "clip(z_hat, -z_max, z_max) [core.intnet_hs] (1,3,4,8)",
    "acc0": "[core.intnet_deconv] k=5 s=2 of z with p.deconv0.w, + p.deconv0.b (1,6,8,8)",
    "q0": "[core.intnet_requant] rshift_round(acc0 * deconv0.mult, deconv0.shift) [core.intnet_round]",
    "a0": "[core.intnet_relu] clip(q0, 0, act_max)",
    "acc1": "[core.intnet_deconv] k=5 s=2 of a0 with p.deconv1 (1,12,16,12)",
    "q1": "[core.intnet_requant] of acc1 with deconv1.mult/shift", "a1": "[core.intnet_relu] clip(q1, 0, act_max)",
    "acc2": "[core.intnet_conv] k=3 s=1 of a1 with p.conv2 (1,12,16,16); channels 0..7 scale, 8..15 mean",
    "scale_idx": "[core.intnet_index] #{k : acc2[..., c] > index.scale_thresholds[c, k]} (1,12,16,8)",
    "mean_idx": "[core.intnet_index] rshift_round(acc2[..., 8 + c] * index.mean_mult[c], index.mean_shift[c]) on grid 1/mean_grid",
}

VECTORS = [
    Vector(
        id="core.intnet.rshift_round",
        equations=("core.intnet_round", "core.C40", "core.intnet_requant"),
        function="ref.core.intnet.rshift_round",
        make_inputs=_round_inputs, run=_round_run,
        description="rounding right shift (ties up, also for negatives), 62-bit operands; per-channel requantisation",
        inputs_doc={"x": "int64 values (14 hand-worked ties first, then 4 near-62-bit values, then random)",
                    "shift": "int64 shift r per x (0..62)", "acc": "int64 (6,4) accumulators |acc| < 2**31",
                    "mult": "int64 (4,) multipliers in [0, 2**31)", "mshift": "int64 (4,) shifts"},
        outputs_doc={"y": "[core.intnet_round] floor((x + (2**r >> 1)) / 2**r) elementwise",
                     "q": "[core.intnet_requant] rshift_round(acc * mult[c], mshift[c]) per last-axis channel c"},
    ),
    Vector(
        id="core.intnet.layers",
        equations=("core.intnet_conv", "core.intnet_deconv", "core.C42"),
        function="ref.core.intnet.int_deconv",
        make_inputs=_layer_inputs, run=_layer_run,
        description="integer conv (k=3 s=1, k=5 s=2) and transposed conv (k=5 s=2, k=3 s=2) on |x| <= 1023, |w| <= 511",
        inputs_doc={"x": "(1,5,6,3) int64 NHWC activations", "conv3.*": "int32 (3,3,3,4) weight, int64 (4,) bias",
                    "conv5.*": "int32 (5,5,3,2), int64 (2,)",
                    "deconv5.*": "int32 (5,5,3,4) correlation-form weight [core.C30], int64 (4,) bias",
                    "deconv3.*": "int32 (3,3,3,2), int64 (2,)"},
        outputs_doc={"conv3_s1": "[core.intnet_conv] of x with conv3, stride 1: (1,5,6,4) int64",
                     "conv5_s2": "[core.intnet_conv] of x with conv5, stride 2: (1,3,3,2)",
                     "deconv5_s2": "[core.intnet_deconv] of x with deconv5, stride 2: (1,10,12,4)",
                     "deconv3_s2": "[core.intnet_deconv] of x with deconv3, stride 2: (1,10,12,2)"},
    ),
    Vector(
        id="core.intnet.hs_trace",
        equations=("core.intnet_hs", "core.intnet_deconv", "core.intnet_conv", "core.intnet_requant",
                   "core.intnet_relu", "core.intnet_index", "core.intnet_round", "core.C40", "core.C41",
                   "core.C42", "core.C43"),
        function="ref.core.intnet.int_hyper_synthesis_trace",
        make_inputs=_hs_inputs, run=_hs_run, params={"backend": "numpy"},
        description="every intermediate tensor of the integer h_s (N=M=8, 3M/2=12) on a fixed z_hat (1,3,4,8)",
        inputs_doc={"z_hat": "(1,3,4,8) int64 hyper-latent; z_hat[0,0,0,:2] = 1500, -1500 exceed z_max",
                    "p.*": _P_INT_DOC},
        params_doc={"backend": "reference implementation backend (float64 GEMM, [core.C42]); 'reference' and 'jax' give the same integers"},
        outputs_doc=_TRACE_DOC,
    ),
    Vector(
        id="core.intnet.thresholds",
        equations=("core.intnet_thresholds", "core.intnet_index"),
        function="ref.core.intnet_ptq.scale_thresholds",
        make_inputs=_thr_inputs, run=_thr_run, params={"mean_grid": 8},
        description="integer scale thresholds floor(s_k / S_c) (exact rationals) and 31-bit mean multipliers",
        inputs_doc={"S": "float64 (6,) real value of one accumulator unit of 6 scale channels",
                    "S_mean": "float64 (6,) accumulator units of 6 mean channels"},
        params_doc={"mean_grid": "M of [core.C5]"},
        outputs_doc={"T": "[core.intnet_thresholds] int64 (6,63): floor(s_k / S_c) exactly (scale table [core.C4])",
                     "mean_mult": "int64 (6,): f = frexp(S_mean * M) mantissa in [1/2, 1), round_half_even(f * 2**31)",
                     "mean_shift": "int64 (6,): 31 - frexp exponent"},
    ),
    Vector(
        id="core.intnet.ptq",
        equations=("core.intnet_ptq",),
        function="ref.core.intnet_ptq.quantize_hyper_synthesis",
        make_inputs=_ptq_inputs, run=_ptq_run,
        params={"w_bits": 10, "a_bits": 10, "z_max": 1023, "mean_grid": 8, "percentile": 100.0, "headroom": 2.0},
        default_rule=allclose(rtol=0, atol=1),
        description="post-training quantisation of a fixed float h_s (N=M=8) on fixed calibration z_hat (checkpoint-time; +-1)",
        inputs_doc={"calib": "(4,4,4,8) int64 calibration z_hat",
                    "f.*": "float32 h_s: f.deconv0.w (5,5,8,8), f.deconv1.w (5,5,8,12), f.conv2.w (3,3,12,16), biases"},
        params_doc={"w_bits": "weight bits", "a_bits": "activation bits (act_max = 2**a_bits - 1)",
                    "z_max": "input clip", "mean_grid": "M", "percentile": "calibration percentile",
                    "headroom": "act_max stands for headroom * percentile"},
        outputs_doc={"*": "[core.intnet_ptq] integer parameters, flattened like p.* of core.intnet.hs_trace (scalars as (1,))"},
    ),
]
