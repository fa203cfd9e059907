"""Integer hyper-synthesis: the decoder-critical path from z_hat to table indices, in integers.

Ballé, Johnston, Minnen, "Integer networks for data compression with latent-variable models"
(ICLR 2019): integer weights, integer accumulation, rounding division, bounded integer
nonlinearities.  Spec: spec/core-intnet.md.  The network is the mean-scale h_s of
spec/core-hyperprior.md (deconv5x5 s2 N->M, ReLU, deconv5x5 s2 M->3M/2, ReLU, conv3x3 s1
3M/2->2M) with every operation replaced by its integer counterpart:

    z      = clip(z_hat, -z_max, z_max)                                   [core.intnet_hs]
    acc0   = B0 + deconv(W0, z)            (exact integer sum)            [core.intnet_deconv]
    a0     = clip(rshift_round(acc0 * m0, r0), 0, act_max)                [core.intnet_requant] [core.intnet_relu]
    acc1   = B1 + deconv(W1, a0);   a1 = clip(rshift_round(acc1 * m1, r1), 0, act_max)
    acc2   = B2 + conv(W2, a1)                                            [core.intnet_conv]
    scale_idx[..., c] = #{k in 0..62 : acc2[..., c] > T[c, k]}            [core.intnet_index]
    mean_idx[..., c]  = rshift_round(acc2[..., M + c] * mm[c], ms[c])     [core.intnet_index]
    rshift_round(x, r) = floor((x + floor(2**r / 2)) / 2**r)              [core.C40]

Every |acc| < 2**31 for every input ([core.C41], checked by :func:`check_int_params`), so
the sums are exact in int32, int64, and in float64 (all partial sums < 2**53) -- which is
what the fast paths use ([core.C42]).

Three backends compute the same integers (tests/core/test_intnet.py proves them equal):

* ``"reference"`` -- :func:`int_conv` / :func:`int_deconv`: the spec's sums, one tap at a
  time in int64 NumPy (readable; the normative twin of the fast paths);
* ``"numpy"``     -- im2col + float64 BLAS GEMMs, exact by [core.C42]; the transposed conv
  is split into its s*s output phases (one GEMM each over that phase's taps, then
  depth-to-space: :func:`deconv_phase_mats`, :func:`deconv_by_phases`);
* ``"jax"``       -- the same GEMMs in float64 under ``jax.jit`` (x64 is on, see
  :mod:`ref.core.runtime`); requantisation and indices in int64.

Parameters (``p_int``, a plain nested dict of integer NumPy arrays; made by
:func:`ref.core.intnet_ptq.quantize_hyper_synthesis`)::

    {"z_max": int64 (), "act_max": int64 (), "mean_grid": int64 (),
     "deconv0": {"w": int32 (5,5,N,M), "b": int64 (M,), "mult": int64 (M,), "shift": int64 (M,)},
     "deconv1": {"w": int32 (5,5,M,3M/2), "b": int64 (3M/2,), "mult": ..., "shift": ...},
     "conv2":   {"w": int32 (3,3,3M/2,2M), "b": int64 (2M,)},
     "index":   {"scale_thresholds": int64 (M, 63), "mean_mult": int64 (M,), "mean_shift": int64 (M,)}}
"""

from __future__ import annotations

from functools import partial

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 on: the jax backend computes in float64 / int64

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

ACC_LIMIT = 1 << 31         # [core.C41] every accumulator satisfies |acc| < 2**31
MULT_LIMIT = 1 << 31        # requantisation multipliers 0 <= m < 2**31
MAX_SHIFT = 62              # shifts 0 <= r <= 62 (acc * m + 2**(r-1) < 2**63)
MAX_CLIP = (1 << 16) - 1    # z_max, act_max <= 2**16 - 1
N_THRESHOLDS = 63           # scale indices 0..63 need 63 thresholds ([core.C4])
MAX_MEAN_INDEX = 1 << 40    # [core.C5] |mean_idx| < 2**40
BACKENDS = ("reference", "numpy", "jax")
LAYERS = (("deconv0", "deconv", 2), ("deconv1", "deconv", 2), ("conv2", "conv", 1))


# =========================================================================== scalar rules
@implements("core.intnet_round", "core.C40")
def rshift_round(x, shift) -> np.ndarray:
    """Rounding right shift ([core.C40]): floor((x + floor(2**r / 2)) / 2**r), r = shift.

    Round half up (towards +infinity): x / 2**r = -2.5 -> -2, -1.5 -> -1, -0.5 -> 0,
    0.5 -> 1, 1.5 -> 2; r = 0 returns x.  ``>>`` is NumPy's arithmetic shift (floor).
    x: int64 array; shift: int64 array broadcastable to x, 0 <= shift <= 62, and
    |x| + 2**(shift-1) < 2**63 (the caller's bounds).  Returns int64, x's broadcast shape.
    """
    x = np.asarray(x, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    half = np.left_shift(np.int64(1), s) >> 1
    return (x + half) >> s


@implements("core.intnet_requant")
def requantize(acc, mult, shift) -> np.ndarray:
    """q = rshift_round(acc * mult[c], shift[c]) per output channel c ([core.intnet_requant]).

    acc: int64 (..., C) with |acc| < 2**31; mult: int64 (C,) in [0, 2**31); shift: int64 (C,)
    in [0, 62].  The product is < 2**62 (exact in int64).  Returns int64 (..., C).
    """
    return rshift_round(np.asarray(acc, np.int64) * np.asarray(mult, np.int64), shift)


@implements("core.intnet_relu")
def clipped_relu(q, act_max: int) -> np.ndarray:
    """a = min(max(q, 0), act_max) ([core.intnet_relu]); q int64, act_max int >= 1."""
    return np.clip(np.asarray(q, np.int64), 0, int(act_max))


# =========================================================================== layers (readable)
def _check_layer(w, a, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    w = np.asarray(w)
    a = np.asarray(a)
    if w.dtype.kind not in "iu" or a.dtype.kind not in "iu":
        raise InputError(f"{name}: weights and input must be integer arrays, got {w.dtype}, {a.dtype}")
    if w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[0] % 2 != 1:
        raise InputError(f"{name}: weight must be (k, k, c_in, c_out) with k odd, got {w.shape}")
    if a.ndim != 4 or a.shape[-1] != w.shape[2]:
        raise InputError(f"{name}: input must be (B, H, W, {w.shape[2]}), got {a.shape}")
    return w.astype(np.int64), a.astype(np.int64), int(w.shape[0])


def _correlate_taps(xpad: np.ndarray, w: np.ndarray, b, stride: int, ho: int, wo: int) -> np.ndarray:
    """acc[n,o,q,co] = b[co] + sum_{a,c} xpad[n, s*o+a, s*q+c, :] @ w[a,c]  (int64, tap by tap)."""
    k = w.shape[0]
    acc = np.zeros(xpad.shape[:1] + (ho, wo, w.shape[3]), dtype=np.int64)
    for a in range(k):
        for c in range(k):
            patch = xpad[:, a:a + stride * (ho - 1) + 1:stride, c:c + stride * (wo - 1) + 1:stride, :]
            acc += patch @ w[a, c]
    return acc + np.asarray(b, np.int64)


@implements("core.intnet_conv")
def int_conv(p: dict, a, *, stride: int = 1) -> np.ndarray:
    """Integer convolution, CompressAI padding ([core.intnet_conv] = [core.conv] on integers):

        acc[n,o,q,co] = b[co] + sum_{a,c,ci} apad[n, s*o+a, s*q+c, ci] * w[a,c,ci,co]

    apad = a zero-padded by k//2 on every side.  Every term and sum is an exact int64.
    p: {"w": int (k,k,c_in,c_out), "b": int (c_out,)}; a: int (B,H,W,c_in); stride s >= 1.
    Returns acc int64 (B, ceil(H/s), ceil(W/s), c_out).
    """
    w, x, k = _check_layer(p["w"], a, "int_conv")
    pad = k // 2
    ho, wo = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    xpad = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    return _correlate_taps(xpad, w, p["b"], stride, ho, wo)


@implements("core.intnet_deconv")
def int_deconv(p: dict, a, *, stride: int = 2) -> np.ndarray:
    """Integer transposed convolution ([core.intnet_deconv] = [core.deconv]/[core.C30] on integers):

        xd[n, s*i, s*j, :] = a[n, i, j, :],  0 elsewhere          (dilation by s)
        lo = k - 1 - k//2,   hi = lo + s - 1                      (padding before / after)
        acc[n,o,q,co] = b[co] + sum_{a,c,ci} xdpad[n, o+a, q+c, ci] * w[a,c,ci,co]

    p: {"w": int (k,k,c_in,c_out) correlation form, "b": int (c_out,)}; a: int (B,H,W,c_in).
    Returns acc int64 (B, s*H, s*W, c_out).
    """
    w, x, k = _check_layer(p["w"], a, "int_deconv")
    B, H, W, C = x.shape
    lo = k - 1 - k // 2
    hi = lo + stride - 1
    xd = np.zeros((B, stride * (H - 1) + 1, stride * (W - 1) + 1, C), dtype=np.int64)
    xd[:, ::stride, ::stride, :] = x
    xdpad = np.pad(xd, ((0, 0), (lo, hi), (lo, hi), (0, 0)))
    return _correlate_taps(xdpad, w, p["b"], 1, stride * H, stride * W)


# =========================================================================== index mapping
@implements("core.intnet_index")
def scale_indices(acc_scale, thresholds) -> np.ndarray:
    """scale_idx[..., c] = #{k in 0..62 : acc_scale[..., c] > T[c, k]}  ([core.intnet_index]).

    T[c, k] = floor(s_k / S_c) (made by :func:`ref.core.intnet_ptq.scale_thresholds`) makes
    this the [core.C4] index of the real scale acc * S_c: s_k < acc * S_c <=> acc > T[c, k].
    acc_scale: int64 (..., M); thresholds: int64 (M, 63), non-decreasing in k.
    Returns int64 (..., M) in 0..63.
    """
    acc = np.asarray(acc_scale, np.int64)
    T = np.asarray(thresholds, np.int64)
    # rows made globally sorted by a per-channel offset (|T|, |acc| <= 2**31 < 2**32)
    M = T.shape[0]
    off = np.arange(M, dtype=np.int64) << 33
    flat = (T + off[:, None]).ravel()
    return np.searchsorted(flat, acc + off, side="left").astype(np.int64) - N_THRESHOLDS * np.arange(M, dtype=np.int64)


@implements("core.intnet_index")
def mean_indices(acc_mean, mean_mult, mean_shift) -> np.ndarray:
    """mean_idx[..., c] = rshift_round(acc_mean[..., c] * mm[c], ms[c])  ([core.intnet_index]).

    mm[c] / 2**ms[c] ~ S_{M+c} * mean_grid, so mean_idx is the [core.C5] index (grid
    1/mean_grid) of the real mean acc * S_{M+c}, rounded half up ([core.C40]).
    acc_mean: int64 (..., M); mean_mult, mean_shift: int64 (M,).  Returns int64 (..., M).
    """
    return requantize(acc_mean, mean_mult, mean_shift)


# =========================================================================== validation
def _scalar(p: dict, key: str, lo: int, hi: int) -> int:
    try:
        v = np.asarray(p[key])
    except KeyError:
        raise InputError(f"integer h_s parameters lack {key!r}") from None
    if v.dtype.kind not in "iu" or v.size != 1 or not lo <= int(v.reshape(-1)[0]) <= hi:
        raise InputError(f"integer h_s parameter {key!r} must be one integer in [{lo}, {hi}]")
    return int(v.reshape(-1)[0])


def _int_arr(d: dict, key: str, where: str, shape: tuple | None = None, ndim: int | None = None) -> np.ndarray:
    try:
        v = np.asarray(d[key])
    except (KeyError, TypeError):
        raise InputError(f"integer h_s parameters lack {where}.{key}") from None
    if v.dtype.kind not in "iu":
        raise InputError(f"{where}.{key} must be integers, got {v.dtype}")
    if (shape is not None and v.shape != shape) or (ndim is not None and v.ndim != ndim):
        raise InputError(f"{where}.{key} has shape {v.shape}, expected {shape or f'{ndim} dims'}")
    return v.astype(np.int64)


@implements("core.C41")
def accumulator_bound(w, b, in_max: int, *, stride: int | None = None) -> np.ndarray:
    """Worst-case |acc| per output channel over all inputs with |input| <= in_max ([core.C41]).

    conv (stride None):  |b[co]| + in_max * sum_{a,c,ci} |w[a,c,ci,co]|
    deconv (stride s):   |b[co]| + in_max * max_{fy,fx} sum_{a,c,ci in phase (fy,fx)} |w[a,c,ci,co]|
    where output phase (fy, fx) (output row = s*t + fy) uses exactly the taps
    a = s*d + lo - fy, c = s*e + lo - fx in [0, k) (lo = k - 1 - k//2; :func:`deconv_phase_weight`).
    in_max: largest |input| the layer can see (z_max for deconv0, act_max after a ReLU).
    w: int (k,k,c_in,c_out), b: int (c_out,).  Returns int64 (c_out,).
    """
    w = np.abs(np.asarray(w, np.int64))
    if stride is None:
        s = w.reshape(-1, w.shape[-1]).sum(axis=0)
    else:
        wp, _, _ = deconv_phase_weight(w, stride)
        s = wp.reshape(-1, stride * stride, w.shape[-1]).sum(axis=0).max(axis=0)
    return np.abs(np.asarray(b, np.int64)) + int(in_max) * s


def check_int_params(p_int: dict) -> dict:
    """Validate an integer h_s parameter pytree ([core.C41]); return shapes {"N", "M", "C1"}.

    Checks dtypes (integers), shapes (contract: N -> M -> 3M/2 -> 2M), ranges (z_max, act_max
    in [1, 2**16); mean_grid in [1, 1024]; mult in [0, 2**31); shift in [0, 62]; thresholds
    non-decreasing), every layer's accumulator bound < 2**31 and |mean_idx| < 2**40.
    Anything else is an InputError (a damaged or foreign checkpoint).
    """
    z_max = _scalar(p_int, "z_max", 1, MAX_CLIP)
    act_max = _scalar(p_int, "act_max", 1, MAX_CLIP)
    _scalar(p_int, "mean_grid", 1, 1024)
    shapes = {}
    in_max = z_max
    for name, kind, stride in LAYERS:
        d = p_int.get(name)
        if not isinstance(d, dict):
            raise InputError(f"integer h_s parameters lack {name!r}")
        w = _int_arr(d, "w", name, ndim=4)
        if w.shape[0] != w.shape[1] or w.shape[0] % 2 != 1:
            raise InputError(f"{name}.w must be (k, k, c_in, c_out) with k odd, got {w.shape}")
        b = _int_arr(d, "b", name, shape=(w.shape[3],))
        if np.abs(w).max(initial=0) >= ACC_LIMIT:
            raise InputError(f"{name}.w has an entry >= 2**31 in magnitude")
        bound = accumulator_bound(w, b, in_max, stride=stride if kind == "deconv" else None)
        if bound.max(initial=0) >= ACC_LIMIT:
            raise InputError(f"{name}: worst-case accumulator {int(bound.max())} >= 2**31 [core.C41]")
        if name != "conv2":
            m = _int_arr(d, "mult", name, shape=b.shape)
            r = _int_arr(d, "shift", name, shape=b.shape)
            if m.min(initial=0) < 0 or m.max(initial=0) >= MULT_LIMIT or r.min(initial=0) < 0 or r.max(initial=0) > MAX_SHIFT:
                raise InputError(f"{name}: multipliers must lie in [0, 2**31), shifts in [0, 62]")
        shapes[name] = w.shape
        in_max = act_max
    N, M = shapes["deconv0"][2], shapes["deconv0"][3]
    C1 = shapes["deconv1"][3]
    if shapes["deconv1"][2] != M or shapes["conv2"][2] != C1 or shapes["conv2"][3] != 2 * M:
        raise InputError(f"integer h_s layer shapes do not chain N -> M -> C1 -> 2M: {shapes}")
    idx = p_int.get("index")
    if not isinstance(idx, dict):
        raise InputError("integer h_s parameters lack 'index'")
    T = _int_arr(idx, "scale_thresholds", "index", shape=(M, N_THRESHOLDS))
    if np.abs(T).max(initial=0) > ACC_LIMIT or np.any(np.diff(T, axis=1) < 0):
        raise InputError("index.scale_thresholds must be non-decreasing rows with |T| <= 2**31")
    mm = _int_arr(idx, "mean_mult", "index", shape=(M,))
    ms = _int_arr(idx, "mean_shift", "index", shape=(M,))
    if mm.min(initial=0) < 0 or mm.max(initial=0) >= MULT_LIMIT or ms.min(initial=0) < 0 or ms.max(initial=0) > MAX_SHIFT:
        raise InputError("index mean multipliers must lie in [0, 2**31), shifts in [0, 62]")
    acc2 = accumulator_bound(p_int["conv2"]["w"], p_int["conv2"]["b"], act_max)[M:]
    if np.any(rshift_round(acc2 * mm, ms) >= MAX_MEAN_INDEX):
        raise InputError("index mean multipliers allow |mean_idx| >= 2**40 [core.C5]")
    return {"N": int(N), "M": int(M), "C1": int(C1), "k0": int(shapes["deconv0"][0]),
            "k1": int(shapes["deconv1"][0]), "k2": int(shapes["conv2"][0])}


def _check_z(z_hat, N: int) -> np.ndarray:
    z = np.asarray(z_hat)
    if z.dtype.kind not in "iu":
        raise InputError(f"z_hat must be an integer array (quantised hyper-latent), got {z.dtype}")
    if z.ndim != 4 or z.shape[-1] != N or z.shape[1] < 1 or z.shape[2] < 1:
        raise InputError(f"z_hat must have shape (B, h, w, {N}), got {z.shape}")
    return z.astype(np.int64)


# =========================================================================== the network
@implements("core.intnet_hs")
def int_hyper_synthesis_trace(p_int: dict, z_hat, *, backend: str = "numpy") -> dict[str, np.ndarray]:
    """Every intermediate tensor of the integer h_s ([core.intnet_hs]), int64 NumPy arrays:

        z        = clip(z_hat, -z_max, z_max)                           (B, h, w, N)
        acc0     = B0 + deconv(W0, z)                                   (B, 2h, 2w, M)
        a0       = clip(rshift_round(acc0 * m0, r0), 0, act_max)
        acc1     = B1 + deconv(W1, a0)                                  (B, 4h, 4w, 3M/2)
        a1       = clip(rshift_round(acc1 * m1, r1), 0, act_max)
        acc2     = B2 + conv(W2, a1)                                    (B, 4h, 4w, 2M)
        scale_idx = scale_indices(acc2[..., :M], T)                     (B, 4h, 4w, M)
        mean_idx  = mean_indices(acc2[..., M:], mm, ms)                 (B, 4h, 4w, M)

    p_int: integer parameters (module docstring), validated by :func:`check_int_params`.
    z_hat: int (B, h, w, N).  backend: "reference" | "numpy" | "jax" (identical results).
    Returns {"z", "acc0", "q0", "a0", "acc1", "q1", "a1", "acc2", "scale_idx", "mean_idx"}
    (q = requantised accumulator before the clip).
    """
    shapes = check_int_params(p_int)
    z = _check_z(z_hat, shapes["N"])
    if backend not in BACKENDS:
        raise InputError(f"unknown integer backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "jax":
        return _jax_plan(p_int, shapes)(z)
    layer = {"reference": {"conv": int_conv, "deconv": int_deconv},
             "numpy": {"conv": _conv_gemm_int, "deconv": _deconv_gemm_int}}[backend]
    zmax, amax, M = int(p_int["z_max"]), int(p_int["act_max"]), shapes["M"]
    out = {"z": np.clip(z, -zmax, zmax)}
    x = out["z"]
    for i, (name, kind, stride) in enumerate(LAYERS):
        acc = layer[kind](p_int[name], x, stride=stride)
        out[f"acc{i}"] = acc
        if name == "conv2":
            break
        out[f"q{i}"] = requantize(acc, p_int[name]["mult"], p_int[name]["shift"])
        x = out[f"a{i}"] = clipped_relu(out[f"q{i}"], amax)
    acc2 = out["acc2"]
    out["scale_idx"] = scale_indices(acc2[..., :M], p_int["index"]["scale_thresholds"])
    out["mean_idx"] = mean_indices(acc2[..., M:], p_int["index"]["mean_mult"], p_int["index"]["mean_shift"])
    return out


def int_hyper_synthesis(p_int: dict, z_hat, *, backend: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """z_hat (int, (B, h, w, N)) -> (scale_idx, mean_idx), each int64 (B, 4h, 4w, M).

    scale_idx indexes the [core.C4] scale table; mean_idx is on the grid 1/p_int["mean_grid"]
    ([core.C5]); :func:`int_conditional_indices` wraps them for the coding glue.  Integer arithmetic only ([core.intnet_hs]);
    see :func:`int_hyper_synthesis_trace` for the intermediates and the backends.
    """
    t = int_hyper_synthesis_trace(p_int, z_hat, backend=backend)
    return t["scale_idx"], t["mean_idx"]


def int_conditional_indices(p_int: dict, z_hat, *, backend: str = "numpy"):
    """:func:`int_hyper_synthesis` wrapped as ``entropy_models.ConditionalIndices`` carrying
    its mean grid p_int["mean_grid"] (what encode_conditional / decode_conditional take)."""
    from ref.core.entropy_models import ConditionalIndices

    s, m = int_hyper_synthesis(p_int, z_hat, backend=backend)
    return ConditionalIndices(s, m, int(p_int["mean_grid"])).checked()


# =========================================================================== fast paths (exact GEMMs)
# Equal to int_conv / int_deconv (tests/core/test_intnet.py::test_backends_bit_identical).
# Exactness [core.C42]: operands are integers with |a| <= in_max and sum |w| * in_max < 2**31,
# so every product and every partial sum, in any summation order, is an integer < 2**53:
# float64 represents each exactly and every addition is exact.
def im2col(x, k: int, stride: int, pad_lo: int, pad_hi: int, ho: int, wo: int, xp=np):
    """Patches (B, ho, wo, k*k*C) in (a, c, ci) order of x zero-padded (pad_lo, pad_hi)."""
    xpad = xp.pad(x, ((0, 0), (pad_lo, pad_hi), (pad_lo, pad_hi), (0, 0)))
    cols = [xpad[:, a:a + stride * (ho - 1) + 1:stride, c:c + stride * (wo - 1) + 1:stride, :]
            for a in range(k) for c in range(k)]
    return xp.concatenate(cols, axis=-1)


def deconv_phase_weight(w: np.ndarray, stride: int) -> tuple[np.ndarray, int, int]:
    """Transposed-conv weights laid out by output phase: which taps each phase sums
    (:func:`accumulator_bound` takes its per-phase maximum from this).

    Output o = s*t + f reads xd[o + a - lo] = x[t + d] with d = (f + a - lo) / s when
    s | (f + a - lo).  So Wp[d - dlo, e - dlo, ci, fy, fx, co] = w[s*d + lo - fy, s*e + lo - fx, ci, co]
    (zero where that tap index leaves [0, k)); y[n, s*t+fy, s*u+fx] = sum over a (dhi-dlo+1)^2
    window of x.  Returns (Wp (kd, kd, C_in, s, s, C_out), dlo, dhi), kd = dhi - dlo + 1.
    """
    k = w.shape[0]
    lo = k - 1 - k // 2
    dlo, dhi = -(lo // stride), (stride - 1 + k - 1 - lo) // stride
    kd = dhi - dlo + 1
    wp = np.zeros((kd, kd, w.shape[2], stride, stride, w.shape[3]), dtype=w.dtype)
    for d in range(dlo, dhi + 1):
        for e in range(dlo, dhi + 1):
            for fy in range(stride):
                for fx in range(stride):
                    a, c = stride * d + lo - fy, stride * e + lo - fx
                    if 0 <= a < k and 0 <= c < k:
                        wp[d - dlo, e - dlo, :, fy, fx, :] = w[a, c]
    return wp, dlo, dhi


def deconv_phase_mats(w, stride: int) -> tuple[list, int, int]:
    """Per output phase (fy, fx) of a transposed conv: the input offsets and the GEMM weight.

    Output o = s*t + f reads x[t + d] through tap a = s*d + lo - f for the d with 0 <= a < k
    (lo = k - 1 - k//2).  Returns (mats, dlo, dhi): mats[fy][fx] = (dys, dxs, wmat) with
    wmat = concat_{dy in dys, dx in dxs} w[a(dy), c(dx)] of shape (len(dys)*len(dxs)*c_in, c_out)
    (only the taps of that phase: 25 of 25 tap-slots used for k = 5, s = 2, vs 36 for one
    combined GEMM); [dlo, dhi] is the range of offsets over all phases.
    """
    w = np.asarray(w)
    k = w.shape[0]
    lo = k - 1 - k // 2
    dlo, dhi = -(lo // stride), (stride - 1 + k - 1 - lo) // stride
    offs = [[d for d in range(dlo, dhi + 1) if 0 <= stride * d + lo - f < k] for f in range(stride)]
    mats = [[(offs[fy], offs[fx],
              np.concatenate([w[stride * dy + lo - fy, stride * dx + lo - fx] for dy in offs[fy] for dx in offs[fx]],
                             axis=0))
             for fx in range(stride)] for fy in range(stride)]
    return mats, dlo, dhi


def deconv_by_phases(x, mats, dlo: int, dhi: int, stride: int, xp=np, matmul=None):
    """Transposed conv without bias from :func:`deconv_phase_mats`: one GEMM per output phase,
    then the phases interleaved (depth-to-space).  x: (B, H, W, c_in) float array (numpy or
    jax, per ``xp``); returns (B, s*H, s*W, c_out) in x's dtype.  Equal to :func:`int_deconv`
    minus the bias (exact for integer operands under [core.C41], [core.C42])."""
    matmul = matmul or xp.matmul
    B, H, W, _ = x.shape
    xpad = xp.pad(x, ((0, 0), (-dlo, dhi), (-dlo, dhi), (0, 0)))
    rows = []
    for fy in range(stride):
        row = []
        for fx in range(stride):
            dys, dxs, wmat = mats[fy][fx]
            cols = xp.concatenate([xpad[:, dy - dlo:dy - dlo + H, dx - dlo:dx - dlo + W, :] for dy in dys for dx in dxs],
                                  axis=-1)
            row.append(matmul(cols.reshape(-1, cols.shape[-1]), wmat).reshape(B, H, W, -1))
        rows.append(xp.stack(row, axis=3))
    y = xp.stack(rows, axis=3)                                   # (B, H, W, s_y, s_x, c_out)
    return y.transpose(0, 1, 3, 2, 4, 5).reshape(B, stride * H, stride * W, -1)


def _gemm_exact(cols: np.ndarray, wmat: np.ndarray) -> np.ndarray:
    out = cols.reshape(-1, cols.shape[-1]).astype(np.float64) @ wmat
    return out.astype(np.int64).reshape(cols.shape[:-1] + (wmat.shape[1],))


@implements("core.C42")
def _conv_gemm_int(p: dict, a, *, stride: int = 1) -> np.ndarray:
    w = np.asarray(p["w"])
    k = w.shape[0]
    x = np.asarray(a)
    ho, wo = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    cols = im2col(x.astype(np.float64), k, stride, k // 2, k // 2, ho, wo)
    return _gemm_exact(cols, w.reshape(-1, w.shape[3]).astype(np.float64)) + np.asarray(p["b"], np.int64)


@implements("core.C42")
def _deconv_gemm_int(p: dict, a, *, stride: int = 2) -> np.ndarray:
    mats, dlo, dhi = deconv_phase_mats(np.asarray(p["w"], np.float64), stride)
    y = deconv_by_phases(np.asarray(a).astype(np.float64), mats, dlo, dhi, stride)
    return y.astype(np.int64) + np.asarray(p["b"], np.int64)


def _jax_plan(p_int: dict, shapes: dict):
    """A jitted float64-GEMM/int64 twin of the NumPy path for these parameters (cached per call)."""
    M = shapes["M"]

    def mats(name):
        m, dlo, dhi = deconv_phase_mats(np.asarray(p_int[name]["w"], np.float64), 2)
        return [[(dys, dxs, jnp.asarray(wm)) for dys, dxs, wm in row] for row in m], dlo, dhi

    (m0, dlo0, dhi0), (m1, dlo1, dhi1) = mats("deconv0"), mats("deconv1")
    w2 = np.asarray(p_int["conv2"]["w"])
    args = {
        "w0": [[wm for _, _, wm in row] for row in m0],
        "w1": [[wm for _, _, wm in row] for row in m1],
        "w2": jnp.asarray(w2.reshape(-1, w2.shape[-1]), jnp.float64),
        **{f"{k}{i}": jnp.asarray(np.asarray(p_int[n][k], np.int64))
           for i, n in enumerate(("deconv0", "deconv1")) for k in ("b", "mult", "shift")},
        "b2": jnp.asarray(np.asarray(p_int["conv2"]["b"], np.int64)),
        "T": jnp.asarray(np.asarray(p_int["index"]["scale_thresholds"], np.int64)),
        "mm": jnp.asarray(np.asarray(p_int["index"]["mean_mult"], np.int64)),
        "ms": jnp.asarray(np.asarray(p_int["index"]["mean_shift"], np.int64)),
    }
    offs = lambda m: tuple(tuple((tuple(dys), tuple(dxs)) for dys, dxs, _ in row) for row in m)  # noqa: E731
    static = (int(p_int["z_max"]), int(p_int["act_max"]), M, offs(m0), dlo0, dhi0, offs(m1), dlo1, dhi1,
              w2.shape[0])

    def run(z):
        out = _jax_forward(args, jnp.asarray(z, jnp.int64), static)
        return {k: np.asarray(v) for k, v in out.items()}

    return run


@partial(jax.jit, static_argnums=2)
def _jax_forward(args: dict, z, static):
    zmax, amax, M, offs0, dlo0, dhi0, offs1, dlo1, dhi1, k2 = static

    def rsr(x, s):
        return (x + (jnp.left_shift(jnp.int64(1), s) >> 1)) >> s

    def mm(a, b):
        return jnp.matmul(a, b, precision="highest")

    def deconv(x, offs, wms, dlo, dhi, b):
        mats = [[(offs[fy][fx][0], offs[fy][fx][1], wms[fy][fx]) for fx in range(2)] for fy in range(2)]
        return deconv_by_phases(x.astype(jnp.float64), mats, dlo, dhi, 2, xp=jnp, matmul=mm).astype(jnp.int64) + b

    out = {"z": jnp.clip(z, -zmax, zmax)}
    out["acc0"] = deconv(out["z"], offs0, args["w0"], dlo0, dhi0, args["b0"])
    out["q0"] = rsr(out["acc0"] * args["mult0"], args["shift0"])
    out["a0"] = jnp.clip(out["q0"], 0, amax)
    out["acc1"] = deconv(out["a0"], offs1, args["w1"], dlo1, dhi1, args["b1"])
    out["q1"] = rsr(out["acc1"] * args["mult1"], args["shift1"])
    out["a1"] = jnp.clip(out["q1"], 0, amax)
    a1 = out["a1"]
    cols = im2col(a1.astype(jnp.float64), k2, 1, k2 // 2, k2 // 2, a1.shape[1], a1.shape[2], xp=jnp)
    acc2 = mm(cols.reshape(-1, cols.shape[-1]), args["w2"]).astype(jnp.int64)
    out["acc2"] = acc2.reshape(a1.shape[:3] + (-1,)) + args["b2"]
    acc_s, acc_m = out["acc2"][..., :M], out["acc2"][..., M:]
    out["scale_idx"] = jnp.sum(acc_s[..., None] > args["T"], axis=-1, dtype=jnp.int64)
    out["mean_idx"] = rsr(acc_m * args["mm"], args["ms"])
    return out


# =========================================================================== checkpoint I/O
@implements("core.C43")
def int_params_to_tensors(p_int: dict, prefix: str = "h_s_int") -> dict[str, np.ndarray]:
    """Flat {"<prefix>.<path>": array} for a .safetensors checkpoint (scalars as int64 (1,))."""
    check_int_params(p_int)
    out: dict[str, np.ndarray] = {}

    def walk(d, path):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{path}.{k}")
            else:
                a = np.asarray(v)
                out[f"{path}.{k}"] = np.ascontiguousarray(a.reshape(1) if a.ndim == 0 else a)

    walk(p_int, prefix)
    return out


@implements("core.C43")
def int_params_from_tensors(tensors: dict, prefix: str = "h_s_int") -> dict:
    """Inverse of :func:`int_params_to_tensors`; validates ([core.C41]); InputError if damaged."""
    p: dict = {}
    head = prefix + "."
    for key, v in tensors.items():
        if not key.startswith(head):
            continue
        parts = key[len(head):].split(".")
        d = p
        for part in parts[:-1]:
            d = d.setdefault(part, {})
        a = np.asarray(v)
        d[parts[-1]] = a.reshape(()) if parts[-1] in ("z_max", "act_max", "mean_grid") and a.size == 1 else a
    if not p:
        raise InputError(f"checkpoint lacks integer h_s parameters ({prefix}.*)")
    check_int_params(p)
    return p
