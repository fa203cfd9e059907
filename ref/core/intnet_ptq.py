"""Post-training quantisation of a float h_s into the integer network of :mod:`ref.core.intnet`.

Informative (spec/core-intnet.md [core.intnet_ptq]): how codecref *makes* the integer
parameters from a trained float h_s.  Only the integers it returns are normative; a codec
stores them in its checkpoint and every encoder and decoder uses them from then on.

Float h_s (contract, spec/core-hyperprior.md): deconv0 (5x5 s2, N->M), ReLU, deconv1
(5x5 s2, M->3M/2), ReLU, conv2 (3x3 s1, 3M/2->2M); output channels [:M] = scale, [M:] = mean.

Procedure, per layer l = 0, 1, 2 with input activation scale s_in (s_in = 1 for z_hat, an
integer already; s_in[ci] = s_{l-1}[ci] after a ReLU):

    W_eff[a,c,ci,co] = W[a,c,ci,co] * s_in[ci]                (input scale folded into weights)
    S[co]     = max |W_eff[..., co]| / w_max                   (per-output-channel, w_max = 2**(w_bits-1) - 1)
    W_int     = round_half_even(W_eff / S[co]),  B_int = round_half_even(b[co] / S[co])   (bias folded)
    acc * S[co] ~ the float pre-activation
    l < 2:  s_l[co] = P_pct(relu(pre-activation)[..., co]) / act_max     (calibrated on z_hat samples)
            mult/2**shift ~ S[co] / s_l[co]                              (31-bit multiplier)
    l = 2:  scale channels: T[c, k] = floor(s_k / S[c])                  (thresholds, [core.C4] table)
            mean channels:  mm/2**ms ~ S[M+c] * mean_grid

Also here: the float64 NumPy twin of the float h_s (calibration), both paths' indices
(:func:`path_indices`, what the HCF helper's rate comparison calls), the agreement report and
the speed benchmark.
"""

from __future__ import annotations

import math
import time
from typing import Iterable

import numpy as np

from ref.core import intnet as I
from ref.core import tables as T
from ref.core.errors import InputError
from ref.core.registry import implements

DEFAULTS = {"w_bits": 10, "a_bits": 10, "z_max": 1023, "mean_grid": 8, "percentile": 100.0, "headroom": 2.0}


# =========================================================================== float twin (float64 NumPy)
def float_hyper_synthesis_f64(p_float: dict, z_hat) -> dict[str, np.ndarray]:
    """The float h_s in float64 NumPy (GEMM form): {"h0", "h1", "out"} pre-activations.

    h0 = deconv0(z), h1 = deconv1(relu(h0)), out = conv2(relu(h1)), as [core.deconv]/[core.conv]
    (tested equal to ref.core.layers within float tolerance).  p_float: {"deconv0", "deconv1",
    "conv2"} conv dicts (any float dtype); z_hat: (B, h, w, N) numbers.
    """
    def deconv(p, x):
        mats, dlo, dhi = I.deconv_phase_mats(np.asarray(p["w"], np.float64), 2)
        return I.deconv_by_phases(x, mats, dlo, dhi, 2) + np.asarray(p["b"], np.float64)

    def conv(p, x):
        w = np.asarray(p["w"], np.float64)
        k = w.shape[0]
        cols = I.im2col(x, k, 1, k // 2, k // 2, x.shape[1], x.shape[2])
        return (cols @ w.reshape(-1, w.shape[-1])) + np.asarray(p["b"], np.float64)

    z = np.asarray(z_hat, np.float64)
    h0 = deconv(p_float["deconv0"], z)
    h1 = deconv(p_float["deconv1"], np.maximum(h0, 0))
    return {"h0": h0, "h1": h1, "out": conv(p_float["conv2"], np.maximum(h1, 0))}


def float_indices(p_float: dict, z_hat, mean_grid: int, *, f64: bool = False):
    """The float path's indices: conditional_indices(mean, scale) of the float h_s output.

    f64=False: the codec's float path (``ref.core.hyperprior.hyper_synthesis``, JAX, float32
    input); f64=True: :func:`float_hyper_synthesis_f64`.  Returns ConditionalIndices of shape
    (B, 4h, 4w, M) on grid ``mean_grid``.  This is what an encoder without the integer network
    would use -- bit-exact only on the machine that computed it.
    """
    from ref.core.entropy_models import conditional_indices

    if f64:
        out = float_hyper_synthesis_f64(p_float, z_hat)["out"]
        M = out.shape[-1] // 2
        scale, mean = out[..., :M], out[..., M:]
    else:
        from ref.core.hyperprior import hyper_synthesis

        scale, mean = hyper_synthesis(p_float, np.asarray(z_hat))
    return conditional_indices(np.asarray(mean, np.float64), np.asarray(scale, np.float64), mean_grid=mean_grid)


def path_indices(p_float: dict, p_int: dict, z_hat, *, backend: str = "numpy") -> dict:
    """Both paths' indices on one z_hat: {"float": ConditionalIndices, "int": ConditionalIndices}.

    The float path is ref.core.hyperprior.hyper_synthesis (float32) on the mean grid
    p_int["mean_grid"]; the integer path is :func:`ref.core.intnet.int_conditional_indices`.
    For rate comparisons (integer vs float path) on trained models: code the same y with each
    (entropy_models.quantize_conditional / conditional_bits) and compare.
    """
    mg = int(p_int["mean_grid"])
    return {"float": float_indices(p_float, z_hat, mg),
            "int": I.int_conditional_indices(p_int, z_hat, backend=backend)}


# =========================================================================== quantisation pieces
def _check_float_params(p_float: dict) -> tuple[int, int]:
    try:
        shapes = [np.asarray(p_float[n]["w"]).shape for n in ("deconv0", "deconv1", "conv2")]
        bshapes = [np.asarray(p_float[n]["b"]).shape for n in ("deconv0", "deconv1", "conv2")]
    except (KeyError, TypeError):
        raise InputError("float h_s parameters must be {'deconv0','deconv1','conv2'} conv dicts {'w','b'}") from None
    if any(len(s) != 4 for s in shapes) or [b[0] if len(b) == 1 else -1 for b in bshapes] != [s[3] for s in shapes]:
        raise InputError(f"float h_s weights must be HWIO with matching biases, got {shapes}, {bshapes}")
    N, M = shapes[0][2], shapes[0][3]
    if shapes[1][2] != M or shapes[2][2] != shapes[1][3] or shapes[2][3] != 2 * M:
        raise InputError(f"float h_s shapes do not chain N -> M -> C1 -> 2M: {shapes}")
    for n in ("deconv0", "deconv1", "conv2"):
        for k in ("w", "b"):
            if not np.all(np.isfinite(np.asarray(p_float[n][k], np.float64))):
                raise InputError(f"float h_s {n}.{k} contains NaN or infinity")
    return N, M


def quantize_weights(w_eff: np.ndarray, b: np.ndarray, w_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-output-channel symmetric weight quantisation with the bias folded in.

    S[co] = max|w_eff[..., co]| / (2**(w_bits-1) - 1)  (1.0 for an all-zero channel);
    W_int = round_half_even(w_eff / S), B_int = round_half_even(b / S).
    Returns (W_int int32 (k,k,ci,co), B_int int64 (co,), S float64 (co,)).
    """
    w_max = (1 << (w_bits - 1)) - 1
    amax = np.abs(w_eff).reshape(-1, w_eff.shape[-1]).max(axis=0)
    S = np.where(amax > 0, amax / w_max, 1.0)
    W = np.rint(w_eff / S).astype(np.int32)
    B = np.rint(np.asarray(b, np.float64) / S)
    if np.abs(B).max(initial=0) >= I.ACC_LIMIT:
        raise InputError("a bias is too large for its channel's weight scale (|B_int| >= 2**31)")
    return W, B.astype(np.int64), S


def multiplier(r) -> tuple[np.ndarray, np.ndarray]:
    """Positive reals r (C,) -> (mult, shift) int64 with mult / 2**shift ~ r, mult in [2**30, 2**31).

    r = f * 2**e (frexp, f in [1/2, 1)): mult = round_half_even(f * 2**31), shift = 31 - e
    (mult = 2**31 is renormalised).  Shifts above 62 are capped at 62 (mult shrinks, precision
    falls; r < 2**-31 only).  r = 0 gives (0, 0).  InputError for r >= 2**31 or r < 0.
    """
    r = np.asarray(r, np.float64)
    if np.any(r < 0) or np.any(r >= 2.0**31) or not np.all(np.isfinite(r)):
        raise InputError("requantisation ratio out of range [0, 2**31)")
    mult = np.zeros(r.shape, np.int64)
    shift = np.zeros(r.shape, np.int64)
    for i, v in np.ndenumerate(r):
        if v == 0:
            continue
        f, e = math.frexp(float(v))
        m, s = int(round(f * 2**31)), 31 - e
        if m == 1 << 31:
            m, s = 1 << 30, s - 1
        if s > I.MAX_SHIFT:
            m, s = int(round(v * 2.0**I.MAX_SHIFT)), I.MAX_SHIFT
        mult[i], shift[i] = m, s
    return mult, shift


@implements("core.intnet_thresholds")
def scale_thresholds(S) -> np.ndarray:
    """Integer scale thresholds T[c, k] = floor(s_k / S_c), clipped to [-2**31, 2**31]  ([core.intnet_thresholds]).

    s_k: the [core.C4] scale table (float64, k = 0..62); S: float64 (M,) > 0, the real value
    of one accumulator unit of scale channel c.  For any integer acc with |acc| < 2**31:
    s_k < acc * S_c  <=>  acc > T[c, k]  (exactly, in real arithmetic on the float64 values;
    the clip changes no comparison).  Made once, at quantisation time; shipped as int64 (M, 63).
    """
    S = np.asarray(S, np.float64)
    if S.ndim != 1 or np.any(S <= 0) or not np.all(np.isfinite(S)):
        raise InputError("scale accumulator units must be positive finite floats (M,)")
    s = T.scale_table()[:I.N_THRESHOLDS]
    out = np.empty((S.shape[0], I.N_THRESHOLDS), np.int64)
    for c in range(S.shape[0]):
        nS, dS = float(S[c]).as_integer_ratio()          # exact rationals of the float64 values
        for k in range(I.N_THRESHOLDS):
            ns, ds = float(s[k]).as_integer_ratio()
            out[c, k] = min(max((ns * dS) // (ds * nS), -I.ACC_LIMIT), I.ACC_LIMIT)   # exact floor
    return out


def _calib_batches(calib) -> list[np.ndarray]:
    if isinstance(calib, np.ndarray) or hasattr(calib, "shape"):
        calib = [calib]
    out = []
    for z in calib:
        z = np.asarray(z)
        if z.dtype.kind not in "iu" or z.ndim != 4:
            raise InputError("calibration z_hat must be integer arrays (B, h, w, N)")
        out.append(z)
    if not out:
        raise InputError("no calibration z_hat given")
    return out


# =========================================================================== quantize_hyper_synthesis
@implements("core.intnet_ptq")
def quantize_hyper_synthesis(p_float: dict, calib_z_hats: Iterable | np.ndarray, *, w_bits: int = 10,
                             a_bits: int = 10, z_max: int = 1023, mean_grid: int = 8,
                             percentile: float = 100.0, headroom: float = 2.0, return_info: bool = False):
    """Float h_s pytree -> integer parameters of :mod:`ref.core.intnet` (post-training quantisation).

    p_float: {"deconv0", "deconv1", "conv2"} of {"w": HWIO, "b"} (the contract's h_s).
    calib_z_hats: one int array (B, h, w, N) or an iterable of them (typical z_hat of the codec).
    w_bits: weight bits (symmetric, |W_int| <= 2**(w_bits-1) - 1); a_bits: activation bits
    (act_max = 2**a_bits - 1); z_max: input clip; mean_grid: M of [core.C5];
    percentile, headroom: act_max stands for headroom * (per-channel percentile of the
    calibration activations); headroom 2 keeps held-out data out of saturation (measured:
    saturated activations, not rounding, caused most held-out index mismatches).
    Returns p_int (validated by check_int_params); with return_info=True also
    {"S": [S0, S1, S2] float64 accumulator units, "act_scale": [s0, s1], "bounds": [...]}.
    InputError when the chosen bits violate the accumulator bound [core.C41].
    """
    N, M = _check_float_params(p_float)
    if not (2 <= w_bits <= 16 and 1 <= a_bits <= 16 and 1 <= z_max <= I.MAX_CLIP and 1 <= mean_grid <= 1024
            and 0 < percentile <= 100 and 1.0 <= headroom <= 1024.0):
        raise InputError("quantisation settings out of range (w_bits 2..16, a_bits 1..16, z_max < 2**16, "
                         "mean_grid 1..1024, percentile in (0, 100], headroom in [1, 1024])")
    act_max = (1 << a_bits) - 1
    batches = _calib_batches(calib_z_hats)
    for z in batches:
        if z.shape[-1] != N:
            raise InputError(f"calibration z_hat has {z.shape[-1]} channels, h_s expects {N}")
    # calibration: per-channel activation range after each ReLU (float64 twin, clipped input)
    h0, h1 = [], []
    for z in batches:
        t = float_hyper_synthesis_f64(p_float, np.clip(z, -z_max, z_max))
        h0.append(np.maximum(t["h0"], 0).reshape(-1, M))
        h1.append(np.maximum(t["h1"], 0).reshape(-1, t["h1"].shape[-1]))
    act_scales = []
    for h in (np.concatenate(h0), np.concatenate(h1)):
        top = np.percentile(h, percentile, axis=0)
        fallback = np.median(top[top > 0]) if np.any(top > 0) else 1.0
        act_scales.append(headroom * np.where(top > 0, top, fallback) / act_max)

    p_int: dict = {"z_max": np.int64(z_max), "act_max": np.int64(act_max), "mean_grid": np.int64(mean_grid)}
    s_in = np.ones(N)
    S_all, bounds = [], []
    in_max = z_max
    for i, name in enumerate(("deconv0", "deconv1", "conv2")):
        w = np.asarray(p_float[name]["w"], np.float64) * s_in[None, None, :, None]
        W, B, S = quantize_weights(w, np.asarray(p_float[name]["b"], np.float64), w_bits)
        bound = int(I.accumulator_bound(W, B, in_max, stride=2 if i < 2 else None).max())
        if bound >= I.ACC_LIMIT:
            raise InputError(f"{name}: worst-case accumulator {bound} >= 2**31 with w_bits={w_bits}, "
                             f"a_bits={a_bits}, z_max={z_max}: lower the bits [core.C41]")
        p_int[name] = {"w": W, "b": B}
        if i < 2:
            p_int[name]["mult"], p_int[name]["shift"] = multiplier(S / act_scales[i])
            s_in = act_scales[i]
        S_all.append(S)
        bounds.append(bound)
        in_max = act_max
    S2 = S_all[2]
    mm, ms = multiplier(S2[M:] * mean_grid)
    p_int["index"] = {"scale_thresholds": scale_thresholds(S2[:M]), "mean_mult": mm, "mean_shift": ms}
    I.check_int_params(p_int)
    if return_info:
        return p_int, {"S": S_all, "act_scale": act_scales, "bounds": bounds}
    return p_int


# =========================================================================== synthetic models and data
def synthetic_hyper_synthesis(seed: int, N: int, M: int) -> dict:
    """Randomly initialised but realistically scaled float32 h_s (for tests and benchmarks only).

    He-scaled weights (w ~ N(0, 2 / fan_in), fan_in = c_in * k * k / 4 for a stride-2 deconv,
    which sums ~1/4 of its taps per output) keep activations O(1); conv2's scale channels get
    a bias ~ U(0.5, 4) and weights scaled so the raw scales spread over about [-2, 12] (the
    [core.C4] table's busy range), mean channels std ~ 3.  Not a trained model.
    """
    r = np.random.Generator(np.random.PCG64(seed))
    C1 = 3 * M // 2

    def layer(k, ci, co, fan):
        return {"w": r.normal(0, math.sqrt(2.0 / fan), (k, k, ci, co)), "b": r.normal(0, 0.1, co)}

    p = {"deconv0": layer(5, N, M, N * 25 / 4), "deconv1": layer(5, M, C1, M * 25 / 4),
         "conv2": layer(3, C1, 2 * M, C1 * 9)}
    p["conv2"]["w"][..., :M] *= 1.2
    p["conv2"]["w"][..., M:] *= 1.5
    p["conv2"]["b"][:M] = r.uniform(0.5, 4.0, M)
    return {n: {k: v.astype(np.float32) for k, v in d.items()} for n, d in p.items()}


def synthetic_z_hat(seed: int, shape: tuple, *, channel_seed: int = 0) -> np.ndarray:
    """Hyper-latent-like integers: round(Laplace(0, b_c)), per-channel b_c ~ logU(0.2, 4) drawn
    from ``channel_seed`` (a property of the model: calibration and held-out data share it), the
    samples from ``seed``.  shape (B, h, w, N); int64.  For tests and benchmarks only."""
    b = np.exp(np.random.Generator(np.random.PCG64(channel_seed)).uniform(np.log(0.2), np.log(4.0), shape[-1]))
    r = np.random.Generator(np.random.PCG64(seed))
    return np.rint(r.laplace(0.0, 1.0, shape) * b).astype(np.int64)


# =========================================================================== report
def agreement(a: tuple, b: tuple) -> dict[str, float]:
    """Index agreement of two (scale_idx, mean_idx) pairs: exact fractions, max |difference|."""
    ds, dm = np.abs(a[0] - b[0]), np.abs(a[1] - b[1])
    return {"scale_exact": float(np.mean(ds == 0)), "scale_within1": float(np.mean(ds <= 1)),
            "scale_maxdiff": int(ds.max(initial=0)), "mean_exact": float(np.mean(dm == 0)),
            "mean_within1": float(np.mean(dm <= 1)), "mean_maxdiff": int(dm.max(initial=0)), "n": int(ds.size)}


def rate_bits(y, indices) -> float:
    """Ideal code length (bits) of a float latent y coded with ``indices`` ([core.C31]):
    r = quantize_conditional(y, indices), bits = conditional_bits(r, indices) (ANS symbols only)."""
    from ref.core.entropy_models import conditional_bits, quantize_conditional

    return conditional_bits(quantize_conditional(y, indices), indices)


def ptq_report(N: int = 128, M: int = 128, *, seed: int = 0, calib_shape=(8, 8, 12), test_shape=(8, 8, 12),
               **qkw) -> dict:
    """Quantise a synthetic h_s and compare integer vs float indices on calibration and held-out z_hat.

    Rate proxy: y ~ N(mu_float, sigma_float) (float64 twin; sigma clipped to [0.11, 256]) coded
    with the float path's indices and with the integer path's ([core.C31] quantiser, ideal code
    length of the integer tables); reports the relative excess.  Synthetic model and data: the HCF helper repeats this on trained models.
    """
    p = synthetic_hyper_synthesis(seed, N, M)
    calib = synthetic_z_hat(seed + 1, calib_shape + (N,), channel_seed=seed)
    test = synthetic_z_hat(seed + 2, test_shape + (N,), channel_seed=seed)
    p_int = quantize_hyper_synthesis(p, calib, **qkw)
    out = {"N": N, "M": M, "settings": {**DEFAULTS, **qkw}}
    r = np.random.Generator(np.random.PCG64(seed + 3))
    for name, z in (("calib", calib), ("heldout", test)):
        both = path_indices(p, p_int, z)
        out[name] = agreement(both["float"], both["int"])
        f = float_hyper_synthesis_f64(p, z)["out"]
        sig = np.clip(f[..., :M], 0.11, 256.0)
        y = f[..., M:] + sig * r.standard_normal(sig.shape)
        bf = rate_bits(y, both["float"])
        bi = rate_bits(y, both["int"])
        out[name].update({"bits_float": bf, "bits_int": bi, "rate_excess_pct": 100.0 * (bi - bf) / bf})
    return out


def bench_int_hyper_synthesis(N: int, M: int, *, z_shape=(1, 8, 12), repeats: int = 5, seed: int = 0) -> dict:
    """Median wall time (ms) of the integer h_s per backend for z_hat (1, 8, 12, N) (a 768x512
    image at /64), plus the float path (ref.core.layers, float32, jit, then conditional_indices)
    for comparison; also each path's first call (jax: including compilation).  "jax_ms" reuses a
    prepared plan (weights already on the device); "jax_incl_prepare_ms" is the public call."""
    import jax

    p = synthetic_hyper_synthesis(seed, N, M)
    z = synthetic_z_hat(seed + 1, z_shape + (N,))
    p_int = quantize_hyper_synthesis(p, z)
    res: dict = {"N": N, "M": M, "z_shape": list(z_shape) + [N]}

    def med(fn, first=None):
        t0 = time.perf_counter()
        fn()
        if first:
            res[first] = 1000 * (time.perf_counter() - t0)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return 1000 * float(np.median(ts))

    res["numpy_ms"] = med(lambda: I.int_hyper_synthesis(p_int, z, backend="numpy"), "numpy_first_ms")
    plan = I._jax_plan(p_int, I.check_int_params(p_int))
    res["jax_ms"] = med(lambda: plan(z), "jax_first_ms_incl_compile")
    res["jax_incl_prepare_ms"] = med(lambda: I.int_hyper_synthesis(p_int, z, backend="jax"))
    res["float_f32_jax_ms"] = med(lambda: jax.block_until_ready(float_indices(p, z, 8)), "float_first_ms_incl_compile")
    return res
