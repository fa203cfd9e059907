"""Integer hyper-synthesis (spec/core-intnet.md): every layer against an independent computation,
the rounding rule by hand, index thresholds against the float seam, overflow bounds, and the
issue-12 proof pair (a float ulp flips an index and breaks a stream; the integer path is
bit-identical across backends, thread counts and device counts)."""

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from ref.core import ans
from ref.core import entropy_models as E
from ref.core import intnet as I
from ref.core import intnet_ptq as Q
from ref.core import layers as L
from ref.core import tables as T
from ref.core.errors import InputError
from ref.core.hyperprior import hyper_synthesis
from ref.core.quantization import to_symbols

ROOT = Path(__file__).resolve().parents[2]


def _rng(seed):
    return np.random.Generator(np.random.PCG64(seed))


@pytest.fixture(scope="module")
def small():
    """A quantised synthetic h_s (N = M = 16) and a z_hat (2, 3, 4, 16)."""
    p = Q.synthetic_hyper_synthesis(0, 16, 16)
    z = Q.synthetic_z_hat(1, (2, 3, 4, 16))
    return p, Q.quantize_hyper_synthesis(p, Q.synthetic_z_hat(2, (4, 4, 4, 16))), z


# =========================================================================== rounding rule
@pytest.mark.eq("core.intnet_round", "core.C40")
def test_rshift_round_hand_cases():
    # x / 2: ties go up (towards +inf), also for negatives
    x = np.array([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5])
    assert I.rshift_round(x, 1).tolist() == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    # x / 4: -1.75 -> -2, -1.5 -> -1, -1.25 -> -1, -0.75 -> -1, -0.5 -> 0, 0.25 -> 0, 0.5 -> 1, 2.5 -> 3
    assert I.rshift_round(np.array([-7, -6, -5, -3, -2, 1, 2, 10]), 2).tolist() == [-2, -1, -1, -1, 0, 0, 1, 3]
    assert I.rshift_round(np.array([-3, 0, 7]), 0).tolist() == [-3, 0, 7]              # shift 0: identity
    big = (1 << 61) + (1 << 29)                                                           # exactly x.5 at shift 30
    assert int(I.rshift_round(np.array([big]), 30)[0]) == (1 << 31) + 1
    assert int(I.rshift_round(np.array([-big]), 30)[0]) == -(1 << 31)
    # per-channel shifts broadcast over the last axis
    assert I.rshift_round(np.array([[6, 6, 6]]), np.array([0, 1, 2])).tolist() == [[6, 3, 2]]


@pytest.mark.eq("core.intnet_round", "core.C40", "core.intnet_requant")
def test_rshift_round_vs_rationals():
    r = _rng(5)
    x = r.integers(-(1 << 40), 1 << 40, 2000)
    s = r.integers(0, 20, 2000)
    want = [(Fraction(int(a), 1 << int(b)) + Fraction(1, 2)).__floor__() for a, b in zip(x, s)]
    assert I.rshift_round(x, s).tolist() == want
    acc = r.integers(-(1 << 30), 1 << 30, (50, 4))
    m = np.array([1 << 30, 3, (1 << 31) - 1, 0])
    sh = np.array([31, 0, 45, 7])
    want = [[(Fraction(int(a) * int(mm), 1 << int(ss)) + Fraction(1, 2)).__floor__() for a, mm, ss in zip(row, m, sh)]
            for row in acc]
    assert I.requantize(acc, m, sh).tolist() == want


@pytest.mark.eq("core.intnet_relu")
def test_clipped_relu():
    assert I.clipped_relu(np.array([-5, 0, 3, 1023, 1024, 99999]), 1023).tolist() == [0, 0, 3, 1023, 1023, 1023]


# =========================================================================== layers vs direct loops
def _conv_loop(w, b, x, stride):
    """Direct definition, one output element at a time (independent of ref.core.intnet)."""
    k = w.shape[0]
    p = k // 2
    B, H, W, _ = x.shape
    Ho, Wo = (H + stride - 1) // stride, (W + stride - 1) // stride
    out = np.zeros((B, Ho, Wo, w.shape[3]), np.int64)
    for n in range(B):
        for o in range(Ho):
            for q in range(Wo):
                for co in range(w.shape[3]):
                    s = int(b[co])
                    for a in range(k):
                        for c in range(k):
                            i, j = stride * o + a - p, stride * q + c - p
                            if 0 <= i < H and 0 <= j < W:
                                s += int(np.dot(x[n, i, j].astype(np.int64), w[a, c, :, co].astype(np.int64)))
                    out[n, o, q, co] = s
    return out


def _deconv_scatter(w, b, x, stride):
    """PyTorch ConvTranspose2d(k, s, padding=k//2, output_padding=s-1) as a scatter, with the
    torch weight wt[ci, co, a', c'] = w[k-1-a', k-1-c', ci, co] (independent of ref.core.intnet)."""
    k = w.shape[0]
    p = k // 2
    wt = w[::-1, ::-1].transpose(2, 3, 0, 1).astype(np.int64)
    B, H, W, _ = x.shape
    out = np.zeros((B, stride * H, stride * W, w.shape[3]), np.int64) + b.astype(np.int64)
    for n in range(B):
        for i in range(H):
            for j in range(W):
                for a in range(k):
                    for c in range(k):
                        o, q = stride * i - p + a, stride * j - p + c
                        if 0 <= o < stride * H and 0 <= q < stride * W:
                            out[n, o, q] += x[n, i, j].astype(np.int64) @ wt[:, :, a, c]
    return out


@pytest.mark.eq("core.intnet_conv", "core.C42")
@pytest.mark.parametrize("k,stride,shape", [(3, 1, (2, 5, 4, 3)), (5, 1, (1, 4, 6, 2)), (3, 2, (1, 5, 7, 3)), (5, 2, (1, 6, 5, 2))])
def test_int_conv_vs_loop(k, stride, shape):
    r = _rng(k * 10 + stride)
    w = r.integers(-127, 128, (k, k, shape[-1], 4)).astype(np.int32)
    b = r.integers(-5000, 5000, 4)
    x = r.integers(-1023, 1024, shape)
    want = _conv_loop(w, b, x, stride)
    p = {"w": w, "b": b}
    assert np.array_equal(I.int_conv(p, x, stride=stride), want)
    assert np.array_equal(I._conv_gemm_int(p, x, stride=stride), want)


@pytest.mark.eq("core.intnet_deconv", "core.C42")
@pytest.mark.parametrize("k,stride,shape", [(5, 2, (2, 3, 4, 3)), (3, 2, (1, 4, 3, 2)), (5, 3, (1, 3, 2, 2)), (5, 1, (1, 3, 3, 2))])
def test_int_deconv_vs_torch_scatter(k, stride, shape):
    r = _rng(k * 7 + stride)
    w = r.integers(-127, 128, (k, k, shape[-1], 3)).astype(np.int32)
    b = r.integers(-5000, 5000, 3)
    x = r.integers(-1023, 1024, shape)
    want = _deconv_scatter(w, b, x, stride)
    p = {"w": w, "b": b}
    assert np.array_equal(I.int_deconv(p, x, stride=stride), want)
    assert np.array_equal(I._deconv_gemm_int(p, x, stride=stride), want)


@pytest.mark.eq("core.intnet_deconv", "core.intnet_conv")
def test_integer_layers_equal_float_layers_on_integers():
    """On integer operands the integer layers are [core.conv]/[core.deconv] (ref.core.layers, float64)."""
    r = _rng(3)
    x = r.integers(-50, 50, (1, 4, 5, 3))
    for fn, ifn, k in ((L.deconv, I.int_deconv, 5), (L.conv, I.int_conv, 3)):
        w = r.integers(-127, 128, (k, k, 3, 4)).astype(np.int32)
        b = r.integers(-100, 100, 4)
        got = ifn({"w": w, "b": b}, x)
        want = np.asarray(fn({"w": jnp.asarray(w, jnp.float64), "b": jnp.asarray(b, jnp.float64)},
                             jnp.asarray(x, jnp.float64)))
        assert np.array_equal(got.astype(np.float64), want)


def test_float_twin_matches_core_hyper_synthesis():
    """The float64 twin used for calibration is CORE's h_s (ref.core.hyperprior, float64 input),
    with the contract's channel split: output[..., :M] = scale, [..., M:] = mean."""
    p = Q.synthetic_hyper_synthesis(4, 8, 8)
    p64 = {n: {k: jnp.asarray(v, jnp.float64) for k, v in d.items()} for n, d in p.items()}
    z = Q.synthetic_z_hat(5, (1, 3, 2, 8))
    scale, mean = hyper_synthesis(p64, jnp.asarray(z, jnp.float64))
    out = Q.float_hyper_synthesis_f64(p, z)["out"]
    assert np.allclose(out[..., :8], np.asarray(scale), rtol=1e-12, atol=1e-12)
    assert np.allclose(out[..., 8:], np.asarray(mean), rtol=1e-12, atol=1e-12)


# =========================================================================== network, backends
@pytest.mark.eq("core.intnet_hs", "core.C42")
def test_backends_bit_identical(small):
    _, p_int, z = small
    ts = {b: I.int_hyper_synthesis_trace(p_int, z, backend=b) for b in I.BACKENDS}
    for key, ref in ts["reference"].items():
        assert ref.dtype == np.int64
        for b in ("numpy", "jax"):
            assert ts[b][key].dtype == np.int64 and np.array_equal(ts[b][key], ref), (b, key)
    t = ts["reference"]
    assert t["scale_idx"].shape == (2, 12, 16, 16) and t["mean_idx"].shape == (2, 12, 16, 16)
    assert 0 <= t["scale_idx"].min() and t["scale_idx"].max() <= 63
    assert len(np.unique(t["scale_idx"])) > 10                   # a realistic spread of scales
    assert t["a0"].max() <= int(p_int["act_max"]) and t["a0"].min() == 0


@pytest.mark.eq("core.intnet_hs")
def test_network_composition_by_hand(small):
    """The trace composes the published layer functions in the [core.intnet_hs] order."""
    _, p, z = small
    t = I.int_hyper_synthesis_trace(p, z, backend="reference")
    zc = np.clip(z, -int(p["z_max"]), int(p["z_max"]))
    a0 = np.clip(I.rshift_round(I.int_deconv(p["deconv0"], zc) * p["deconv0"]["mult"], p["deconv0"]["shift"]),
                 0, int(p["act_max"]))
    a1 = np.clip(I.rshift_round(I.int_deconv(p["deconv1"], a0) * p["deconv1"]["mult"], p["deconv1"]["shift"]),
                 0, int(p["act_max"]))
    acc2 = I.int_conv(p["conv2"], a1)
    M = acc2.shape[-1] // 2
    Tt = p["index"]["scale_thresholds"]
    sidx = (acc2[..., :M, None] > Tt).sum(-1)                   # the count form of the spec
    midx = I.rshift_round(acc2[..., M:] * p["index"]["mean_mult"], p["index"]["mean_shift"])
    assert np.array_equal(t["a1"], a1) and np.array_equal(t["scale_idx"], sidx) and np.array_equal(t["mean_idx"], midx)


# =========================================================================== index thresholds
@pytest.mark.eq("core.intnet_index", "core.intnet_thresholds")
def test_scale_thresholds_vs_float_scale_index():
    r = _rng(11)
    M = 24
    S = np.exp(r.uniform(np.log(1e-5), np.log(1e-1), M))
    Tt = Q.scale_thresholds(S)
    assert Tt.dtype == np.int64 and np.all(np.diff(Tt, axis=1) >= 0)
    # scales from 0.05 to 400 as integer accumulators
    real = np.exp(r.uniform(np.log(0.05), np.log(400), (3000, M)))
    acc = np.floor(real / S).astype(np.int64)
    val = acc * S                                                # float64 value of the accumulator
    s = T.scale_table()
    near = (np.abs(val[..., None] - s) <= 1e-12 * s).any(-1)
    got = I.scale_indices(acc, Tt)
    want = E.scale_index(val)
    assert np.array_equal(got[~near], want[~near]) and (~near).sum() > 70000
    assert len(np.unique(got)) == 64
    # the defining property, exactly (rationals): acc = T is at most index k, acc = T + 1 above it
    for c in range(0, M, 5):
        for k in range(0, 63, 7):
            t = int(Tt[c, k])
            assert Fraction(float(s[k])) >= t * Fraction(float(S[c])) and Fraction(float(s[k])) < (t + 1) * Fraction(float(S[c]))
            assert I.scale_indices(np.full((1, M), t), Tt)[0, c] <= k < I.scale_indices(np.full((1, M), t + 1), Tt)[0, c]


@pytest.mark.eq("core.intnet_index")
@pytest.mark.parametrize("mean_grid", [1, 8])
def test_mean_indices_vs_float_mean_index(mean_grid):
    r = _rng(12 + mean_grid)
    M = 16
    S = np.exp(r.uniform(np.log(1e-5), np.log(1e-2), M))
    mm, ms = Q.multiplier(S * mean_grid)
    acc = np.floor(r.uniform(-40, 40, (2000, M)) / S).astype(np.int64)
    val = acc * S * mean_grid
    away = np.abs(val - np.floor(val) - 0.5) > 1e-6
    got = I.mean_indices(acc, mm, ms)
    want = E.mean_index(acc * S, mean_grid)
    assert np.array_equal(got[away], want[away]) and away.mean() > 0.99


def test_multiplier_hand_cases():
    m, s = Q.multiplier(np.array([1.0, 0.75, 3.0, 2.0**-40, 0.0]))
    assert m.tolist()[:3] == [1 << 30, 3 << 29, 3 << 29] and s.tolist()[:3] == [30, 31, 29]
    assert s[3] == 62 and m[3] == 1 << 22 and (m[4], s[4]) == (0, 0)
    r = np.exp(_rng(1).uniform(-20, 20, 500))
    m, s = Q.multiplier(r)
    assert np.all((m >= 1 << 30) & (m < 1 << 31)) and np.allclose(m / 2.0**s, r, rtol=2.0**-30, atol=0)
    with pytest.raises(InputError):
        Q.multiplier(np.array([2.0**31]))


# =========================================================================== overflow bounds
@pytest.mark.eq("core.C41", "core.C42")
def test_accumulator_bound_is_attained_and_exact_in_float64():
    """Adversarial inputs reach the [core.C41] bound exactly; the float64 GEMM path stays exact there
    (while a float32 sum would not)."""
    r = _rng(21)
    in_max, C = 1023, 288
    w = r.integers(-127, 128, (3, 3, C, 2)).astype(np.int32)
    w[1, 1, 0, 0] = 127
    b = np.array([12345, -7])
    bound = I.accumulator_bound(w, b, in_max)
    assert bound[0] == 12345 + in_max * int(np.abs(w[..., 0].astype(np.int64)).sum())
    x = np.zeros((1, 3, 3, C), np.int64)
    x[0] = in_max * np.sign(w[:, :, :, 0])                       # every term positive at the centre output
    acc = I.int_conv({"w": w, "b": b}, x)
    assert acc[0, 1, 1, 0] == bound[0] and np.all(np.abs(acc[..., 1]) <= bound[1])
    assert np.array_equal(I._conv_gemm_int({"w": w, "b": b}, x), acc)
    assert bound[0] > 2**24                                      # float32 could not hold it exactly
    # deconv: the per-phase bound, attained by the phase with the largest tap mass
    wd = r.integers(-127, 128, (5, 5, 8, 1)).astype(np.int32)
    bd = I.accumulator_bound(wd, np.array([0]), in_max, stride=2)
    wp, dlo, dhi = I.deconv_phase_weight(wd, 2)
    sums = np.abs(wp.astype(np.int64)).sum(axis=(0, 1, 2))[:, :, 0]
    fy, fx = np.unravel_index(np.argmax(sums), sums.shape)
    xd = np.zeros((1, 3, 3, 8), np.int64)
    xd[0] = in_max * np.sign(wp[:, :, :, fy, fx, 0])            # output (2*1 + fy, 2*1 + fx) reads x[1 + d, 1 + e]
    accd = I.int_deconv({"w": wd, "b": np.array([0])}, xd)
    assert accd[0, 2 + fy, 2 + fx, 0] == bd[0] and np.abs(accd).max() == bd[0]
    assert bd[0] < I.accumulator_bound(wd, np.array([0]), in_max)[0]   # tighter than the all-taps sum


@pytest.mark.eq("core.C41")
def test_shipped_sizes_fit_int32(small):
    """Defaults (10-bit weights, 10-bit activations, z_max 1023) at HCF/eContextformer widths."""
    for N, M in ((128, 128), (192, 192), (192, 320)):
        p = Q.synthetic_hyper_synthesis(1, N, M)
        p_int, info = Q.quantize_hyper_synthesis(p, Q.synthetic_z_hat(3, (1, 2, 3, N)), return_info=True)
        assert max(info["bounds"]) < 2**31
        assert np.abs(p_int["deconv1"]["w"]).max() == 511


@pytest.mark.eq("core.C41", "core.C43")
def test_damaged_parameters_rejected(small):
    _, p, z = small

    def edited(path, value):
        q = {k: (dict(v) if isinstance(v, dict) else v) for k, v in p.items()}
        d = q
        for part in path[:-1]:
            d = d[part]
        d[path[-1]] = value
        return q

    w = p["conv2"]["w"]
    bad = [
        edited(("conv2", "w"), w.astype(np.float32)),
        edited(("conv2", "w"), w[..., :-1]),
        edited(("deconv0", "mult"), np.full_like(p["deconv0"]["mult"], 1 << 31)),
        edited(("deconv1", "shift"), np.full_like(p["deconv1"]["shift"], 63)),
        edited(("conv2", "w"), np.full_like(w, 1 << 20)),                      # accumulator bound
        edited(("index", "scale_thresholds"), p["index"]["scale_thresholds"][:, ::-1].copy()),
        edited(("act_max",), np.int64(1 << 16)),
        edited(("z_max",), np.int64(0)),
    ]
    for q in bad:
        with pytest.raises(InputError):
            I.int_hyper_synthesis(q, z)
    with pytest.raises(InputError):
        I.int_hyper_synthesis(p, z.astype(np.float32))
    with pytest.raises(InputError):
        I.int_hyper_synthesis(p, z[..., :-1])
    with pytest.raises(InputError):
        I.int_hyper_synthesis(p, z, backend="float")


@pytest.mark.eq("core.intnet_hs", "core.C41")
def test_extreme_z_hat_is_clipped_not_overflowed(small):
    """A damaged or hostile stream may decode any int64 z_hat: the input clip keeps every
    accumulator inside the [core.C41] bound, on every backend."""
    _, p, z = small
    zx = z.copy()
    zx[0, 0, 0, :4] = [np.iinfo(np.int64).max, np.iinfo(np.int64).min, 1 << 40, -(1 << 40)]
    zc = np.clip(zx, -int(p["z_max"]), int(p["z_max"]))
    want = I.int_hyper_synthesis_trace(p, zc, backend="reference")
    bound = I.accumulator_bound(p["deconv0"]["w"], p["deconv0"]["b"], int(p["z_max"]), stride=2)
    assert np.all(np.abs(want["acc0"]) <= bound)
    for b in I.BACKENDS:
        got = I.int_hyper_synthesis_trace(p, zx, backend=b)
        assert all(np.array_equal(got[k], want[k]) for k in want)


@pytest.mark.eq("core.C43")
def test_checkpoint_roundtrip(small):
    from safetensors.numpy import load, save

    _, p, z = small
    tensors = load(save(I.int_params_to_tensors(p, "h_s_int")))
    assert all(v.dtype.kind == "i" for v in tensors.values())
    q = I.int_params_from_tensors(tensors, "h_s_int")
    assert np.array_equal(I.int_hyper_synthesis(q, z)[0], I.int_hyper_synthesis(p, z)[0])
    del tensors["h_s_int.index.mean_mult"]
    with pytest.raises(InputError):
        I.int_params_from_tensors(tensors, "h_s_int")
    with pytest.raises(InputError):
        I.int_params_from_tensors({}, "h_s_int")


# =========================================================================== quantisation
@pytest.mark.eq("core.intnet_ptq")
def test_ptq_tracks_the_float_path():
    p = Q.synthetic_hyper_synthesis(7, 32, 32)
    calib = Q.synthetic_z_hat(8, (4, 4, 6, 32), channel_seed=7)
    held = Q.synthetic_z_hat(9, (2, 4, 6, 32), channel_seed=7)
    p_int, info = Q.quantize_hyper_synthesis(p, calib, return_info=True)
    t = I.int_hyper_synthesis_trace(p_int, held)
    f = Q.float_hyper_synthesis_f64(p, held)
    # accumulator units: the integer pre-activations are the float ones, up to quantisation noise
    for acc, h, S in ((t["acc0"], f["h0"], info["S"][0]), (t["acc2"], f["out"], info["S"][2])):
        err = np.abs(acc * S - h)
        assert np.percentile(err, 99) < 0.02 * np.abs(h).max()
    both = Q.path_indices(p, p_int, held)
    ag = Q.agreement(both["float"], both["int"])
    assert ag["scale_exact"] > 0.8 and ag["scale_within1"] > 0.97 and ag["mean_within1"] > 0.95


# =========================================================================== the issue-12 proof pair
@pytest.mark.eq("core.C4", "core.intnet_hs")
def test_float_ulp_at_a_boundary_flips_index_and_corrupts_stream():
    """(a) A float scale exactly on a table entry s_k is index k; one ulp more is index k + 1.
    A decoder whose float path drifted by that ulp uses other tables: the stream decodes wrong."""
    s = T.scale_table()
    k = np.arange(5, 60, 3)
    sig = np.repeat(s[k], 20)                                    # 380 scales, all on boundaries
    up = np.nextafter(sig, np.inf)
    assert np.all(up - sig == np.spacing(sig))                   # exactly one ulp
    i_enc, i_dec = E.scale_index(sig), E.scale_index(up)
    assert np.array_equal(i_dec, i_enc + 1)
    y = _rng(31).normal(0, sig)
    zero = np.zeros(sig.shape, np.int64)
    enc = E.ConditionalIndices(i_enc, zero, 8)
    r = E.quantize_conditional(y, enc)
    groups, pay = E.encode_conditional(r, enc)
    data = ans.encode_groups(groups)
    dec = ans.AnsDecoder(data)
    try:
        out = E.decode_conditional(dec, E.ConditionalIndices(i_dec, zero, 8), pay)
        dec.finish()
        corrupted = not np.array_equal(out, r)
    except Exception:                                           # BitstreamError or an escape-payload error
        corrupted = True
    assert corrupted
    dec = ans.AnsDecoder(data)                                   # the encoder's own indices decode
    assert np.array_equal(E.decode_conditional(dec, enc, pay), r)
    dec.finish()


@pytest.mark.eq("core.intnet_hs", "core.intnet_index")
def test_stream_coded_with_integer_indices_decodes_on_every_backend(small):
    """Encoder: indices from the numpy backend; decoders: reference and jax backends rebuild the
    same indices from the same integer z_hat, so the stream decodes exactly."""
    _, p_int, z = small
    enc = I.int_conditional_indices(p_int, z, backend="numpy")
    assert enc.mean_grid == 8
    mu_g = enc.mean_idx / enc.mean_grid
    sig = T.scale_table()[enc.scale_idx]
    y = mu_g + sig * _rng(33).standard_normal(sig.shape)
    r = E.quantize_conditional(y, enc)
    groups, pay = E.encode_conditional(r, enc)
    data = ans.encode_groups(groups)
    for backend in ("reference", "jax"):
        idx = I.int_conditional_indices(p_int, z, backend=backend)
        dec = ans.AnsDecoder(data)
        assert np.array_equal(E.decode_conditional(dec, idx, pay), r)
        dec.finish()


_PROBE = """
import hashlib, json
from ref.core import intnet as I, intnet_ptq as Q
p = Q.synthetic_hyper_synthesis(0, 24, 24)
p_int = Q.quantize_hyper_synthesis(p, Q.synthetic_z_hat(2, (4, 4, 4, 24)))
z = Q.synthetic_z_hat(1, (1, 4, 6, 24))
out = {}
for b in ("numpy", "jax"):
    t = I.int_hyper_synthesis_trace(p_int, z, backend=b)
    out[b] = hashlib.sha256(b"".join(t[k].tobytes() for k in sorted(t))).hexdigest()
import jax
out["devices"] = len(jax.devices())
print(json.dumps(out))
"""


def _probe(env_extra: dict | None) -> dict:
    if env_extra is None:                                        # in this process
        ns: dict = {}
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(_PROBE, ns)
        return json.loads(buf.getvalue().strip().splitlines()[-1])
    env = {**os.environ, **env_extra}
    res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.eq("core.intnet_hs", "core.C42")
def test_integer_indices_identical_across_backends_threads_devices():
    """(b) The integer path takes integer z_hat: numpy (BLAS float64) and jax (XLA float64) give
    bit-identical intermediates and indices in this process, in a process with one BLAS/XLA
    thread, and in one with two XLA host devices and two BLAS threads -- while the float path's
    own numbers differ between float32 (jax) and float64 (numpy) evaluations of one network,
    and move when its float input moves by one ulp (the integer path's indices do not)."""
    here = _probe(None)
    one = _probe({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                  "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"})
    two = _probe({"OPENBLAS_NUM_THREADS": "2", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"})
    assert two["devices"] == 2
    for r in (here, one, two):
        assert r["numpy"] == r["jax"] == here["numpy"]
    p = Q.synthetic_hyper_synthesis(0, 24, 24)
    z = Q.synthetic_z_hat(1, (1, 4, 6, 24))
    f64 = Q.float_hyper_synthesis_f64(p, z)["out"]
    f32 = np.concatenate([np.asarray(a, np.float64) for a in hyper_synthesis(p, z.astype(np.float32))], axis=-1)
    assert np.abs(f32 - f64).max() > 0
    # the float synthesis input perturbed by one ulp (every element, both directions): the float
    # output moves; the integer path's input is the quantised latent, which does not
    zf = z.astype(np.float32)
    p_int = Q.quantize_hyper_synthesis(p, Q.synthetic_z_hat(2, (4, 4, 4, 24)))
    want = I.int_hyper_synthesis(p_int, z)
    for direction in (np.inf, -np.inf):
        zp = np.nextafter(zf, np.float32(direction))
        assert np.all(zp != zf)
        moved = np.concatenate([np.asarray(a, np.float64) for a in hyper_synthesis(p, zp)], axis=-1)
        assert np.any(moved != f32)
        got = I.int_hyper_synthesis(p_int, to_symbols(zp))
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_bench_and_report_smoke():
    r = Q.bench_int_hyper_synthesis(4, 4, z_shape=(1, 2, 3), repeats=1)
    assert r["numpy_ms"] > 0 and r["jax_ms"] > 0
    rep = Q.ptq_report(4, 4, calib_shape=(2, 2, 3), test_shape=(1, 2, 3))
    assert 0 <= rep["heldout"]["scale_exact"] <= 1 and rep["heldout"]["bits_float"] > 0
