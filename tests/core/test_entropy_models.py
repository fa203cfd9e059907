"""Entropy models: float likelihoods, the float -> index seam, escape coding, ANS round trips."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import expit

from ref.core import ans
from ref.core import entropy_models as E
from ref.core import tables as T
from ref.core.errors import BitstreamError, InputError
from ref.core.escape import (
    decode_values, encode_values, exp_golomb_decode, exp_golomb_encode, symbols_to_values, values_to_symbols,
)

BACKENDS = ["constriction", "mirror"] if ans.resolve_backend("auto") == "constriction" else ["mirror"]


# =========================================================================== likelihoods
@pytest.mark.eq("core.lik_gaussian")
def test_gaussian_likelihood_vs_scipy():
    y = np.arange(-30.0, 31.0)
    for mu, s in ((0.0, 1.0), (0.3, 2.5), (-4.7, 0.4), (10.0, 80.0)):
        want = np.maximum(stats.norm.cdf(y + 0.5, mu, s) - stats.norm.cdf(y - 0.5, mu, s), 1e-9)
        got = np.asarray(E.gaussian_likelihood(jnp.asarray(y), mu, s))
        assert np.allclose(got, want, rtol=1e-9, atol=1e-15)
    # scale lower bound 0.11 (CompressAI), with the LowerBound gradient
    assert np.allclose(np.asarray(E.gaussian_likelihood(jnp.asarray(y), 0.0, 0.01)),
                       np.asarray(E.gaussian_likelihood(jnp.asarray(y), 0.0, 0.11)), rtol=0, atol=0)
    g = jax.grad(lambda s: -jnp.log(E.gaussian_likelihood(jnp.asarray(3.0), 0.0, s)))(0.05)
    assert float(g) < 0          # rate falls as the scale rises: gradient passes though below bound


@pytest.mark.eq("core.lik_laplace")
def test_laplace_likelihood_vs_scipy():
    y = np.arange(-30.0, 31.0)
    for mu, b in ((0.0, 1.0), (0.3, 2.5), (-4.7, 0.4)):
        want = np.maximum(stats.laplace.cdf(y + 0.5, mu, b) - stats.laplace.cdf(y - 0.5, mu, b), 1e-9)
        assert np.allclose(np.asarray(E.laplace_likelihood(jnp.asarray(y), mu, b)), want, rtol=1e-9, atol=1e-15)


@pytest.mark.eq("core.lik_gmm")
def test_gmm_likelihood_vs_scipy():
    y = np.arange(-40.0, 41.0)
    logits = np.array([0.3, -1.0, 2.0])
    mu = np.array([-3.0, 0.2, 7.5])
    s = np.array([0.8, 5.0, 2.0])
    w = np.exp(logits) / np.exp(logits).sum()
    want = sum(w[k] * (stats.norm.cdf(y + 0.5, mu[k], s[k]) - stats.norm.cdf(y - 0.5, mu[k], s[k])) for k in range(3))
    got = np.asarray(E.gmm_likelihood(jnp.asarray(y), jnp.asarray(logits), jnp.asarray(mu), jnp.asarray(s)))
    assert np.allclose(got, np.maximum(want, 1e-9), rtol=1e-9, atol=1e-15)
    assert got.sum() == pytest.approx(1.0, abs=1e-6)


def _np_factorized_cdf(p, x):
    """Independent NumPy transcription of Balle 2018 appendix 6.1 (x: (C, N))."""
    z = x[:, None, :]
    n = len(p["matrices"])
    for k in range(n):
        H = np.log1p(np.exp(np.asarray(p["matrices"][k], np.float64)))
        z = np.einsum("cij,cjn->cin", H, z) + np.asarray(p["biases"][k])
        if k < n - 1:
            z = z + np.tanh(np.asarray(p["factors"][k])) * np.tanh(z)
    return expit(z[:, 0, :])


@pytest.mark.eq("core.lik_factorized")
def test_factorized_likelihood():
    p = E.init_factorized(jax.random.PRNGKey(1), 3, dtype=jnp.float64)
    # CompressAI init: H = log(expm1(1 / 10**(1/4) / f_{k+1})), factors 0, biases in [-1/2, 1/2)
    s = 10 ** 0.25
    assert np.allclose(np.asarray(p["matrices"][0]), np.log(np.expm1(1 / s / 3)))
    assert np.allclose(np.asarray(p["matrices"][3]), np.log(np.expm1(1 / s / 1)))
    assert [m.shape for m in p["matrices"]] == [(3, 3, 1), (3, 3, 3), (3, 3, 3), (3, 1, 3)]
    assert len(p["factors"]) == 3 and all(np.all(np.asarray(a) == 0) for a in p["factors"])
    # make the factors non-trivial
    p["factors"] = [jnp.full_like(a, 0.7) for a in p["factors"]]
    y = np.arange(-400.0, 401.0)[:, None] * np.ones((1, 3))
    got = np.asarray(E.factorized_likelihood(p, jnp.asarray(y)))
    c = lambda v: _np_factorized_cdf(p, v.T).T
    want = np.maximum(c(y + 0.5) - c(y - 0.5), 1e-9)
    assert np.allclose(got, want, rtol=1e-7, atol=1e-12)
    assert np.allclose(got.sum(axis=0), 1.0, atol=1e-6)
    g = jax.jit(jax.grad(lambda q: -jnp.log2(E.factorized_likelihood(q, jnp.asarray(y[:5]))).sum()))(p)
    assert all(np.all(np.isfinite(np.asarray(a))) for a in jax.tree_util.tree_leaves(g))


# =========================================================================== the seam
@pytest.mark.eq("core.C4")
def test_scale_index_rule():
    s = T.scale_table()
    assert E.scale_index(s).tolist() == list(range(64))                     # s_k -> k
    above = np.nextafter(s[:-1], np.inf)
    assert E.scale_index(above).tolist() == list(range(1, 64))              # just above -> next (round up)
    assert E.scale_index([0.0, -1.0, 0.05, 256.0001, 1e30]).tolist() == [0, 0, 0, 63, 63]
    assert E.scale_index(np.float32(0.11)).tolist() == 0                     # float32(0.11) < float64 0.11
    assert E.scale_index(np.float32(0.12)).tolist() == 1
    with pytest.raises(InputError):
        E.scale_index([1.0, np.nan])


@pytest.mark.eq("core.C4")
@settings(max_examples=200, deadline=None)
@given(st.floats(1e-3, 1e3))
def test_scale_index_property(x):
    s = T.scale_table()
    k = int(E.scale_index(x))
    assert k == 63 or x <= s[k]
    assert k == 0 or s[k - 1] < x


@pytest.mark.eq("core.C5")
def test_mean_index_and_split():
    assert E.mean_index([0.5, 1.5, -0.5, -1.5, 2.49], 1).tolist() == [0, 2, 0, -2, 2]
    assert E.mean_index([0.125, 0.375, -0.3], 4).tolist() == [0, 2, -1]      # 0.5 -> 0, 1.5 -> 2, -1.2 -> -1
    q, m = E.split_mean(np.array([-9, -8, -1, 0, 7, 8]), 8)
    assert q.tolist() == [-2, -1, -1, 0, 0, 1] and m.tolist() == [7, 0, 7, 0, 7, 0]
    t, q = E.table_index(np.array([5, 63]), np.array([-1, 17]), 4)
    assert t.tolist() == [5 * 4 + 3, 63 * 4 + 1] and q.tolist() == [-1, 4]
    with pytest.raises(InputError):
        E.table_index(np.array([1.0]), np.array([0]), 1)          # indices must be integers
    with pytest.raises(InputError):
        E.table_index(np.array([64]), np.array([0]), 1)
    with pytest.raises(InputError):
        E.split_mean(np.array([0.5]), 2)
    with pytest.raises(InputError):
        E.mean_index([np.inf])
    with pytest.raises(InputError):
        E.mean_index([2.0**41])


@pytest.mark.eq("core.C8")
def test_quantize_weights():
    assert E.quantize_weights([0.2, 0.3, 0.5]).tolist() == [13107, 19661, 32768]
    assert E.quantize_weights([1, 1, 1]).tolist() == [21846, 21845, 21845]
    assert E.quantize_weights([1.0, 0.0]).tolist() == [65536, 0]
    with pytest.raises(InputError):
        E.quantize_weights([0.0, 0.0])
    with pytest.raises(InputError):
        E.quantize_weights([0.5, -0.1])


@pytest.mark.eq("core.C8")
@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=8))
def test_quantize_weights_property(w):
    w = np.array(w)
    if w.sum() <= 0:
        w[0] = 1.0
    q = E.quantize_weights(w)
    assert q.sum() == 2**16 and np.all(q >= 0)
    assert np.all(np.abs(q - w / w.sum() * 2**16) < 1.0 + 1e-6)


# =========================================================================== escape
@pytest.mark.eq("core.C7")
def test_escape_hand_case():
    # R = 2: symbols r + 2; escapes: 3 -> e = 0 -> '1' + sign '0'; -4 -> e = 1 -> '010' + '1';
    # 2**40 -> v = 2**40 - 2 (40 bits: 39 zeros + bits) + '0'.
    sym, pay = values_to_symbols(np.array([0, 3, -2, -4, 2]), 2)
    assert sym.tolist() == [2, 5, 0, 5, 4]
    assert pay == bytes([0b10010100])             # '10' '0101' + '00' padding
    assert symbols_to_values(sym, 2, pay).tolist() == [0, 3, -2, -4, 2]
    big = exp_golomb_encode([2**40], 2)
    bits = "".join(f"{b:08b}" for b in big)
    assert bits.startswith("0" * 39 + format(2**40 - 2, "b") + "0")
    assert exp_golomb_decode(big, 1, 2).tolist() == [2**40]
    assert values_to_symbols(np.array([1, -1]), 1)[1] == b""


@pytest.mark.eq("core.C7")
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**63) + 1, 2**63 - 1), max_size=30), st.integers(0, 300))
def test_escape_roundtrip_property(vals, R):
    v = np.array(vals, dtype=np.int64)
    sym, pay = values_to_symbols(v, R)
    assert np.all((sym >= 0) & (sym <= 2 * R + 1))
    assert np.array_equal(symbols_to_values(sym, R, pay), v)


@pytest.mark.eq("core.C7")
def test_escape_malformed_payloads():
    sym, pay = values_to_symbols(np.array([100, -70]), 3)   # 14 + 14 bits + 4 padding
    with pytest.raises(BitstreamError):
        symbols_to_values(sym, 3, pay[:-1])              # truncated
    with pytest.raises(BitstreamError):
        symbols_to_values(sym, 3, pay + b"\x00")          # trailing byte
    with pytest.raises(BitstreamError):
        symbols_to_values(sym, 3, pay[:-1] + bytes([pay[-1] | 1]))   # non-zero padding
    with pytest.raises(BitstreamError):
        symbols_to_values(np.array([0]), 3, b"\x80")      # payload without escapes
    with pytest.raises(BitstreamError):
        exp_golomb_decode(bytes(9) + b"\xff", 1, 0)       # 72 leading zeros
    with pytest.raises(BitstreamError):
        exp_golomb_decode(b"\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\x80", 1, 5)
    with pytest.raises(BitstreamError):
        symbols_to_values(np.array([9]), 3, b"")          # symbol outside alphabet
    with pytest.raises(InputError):
        values_to_symbols(np.array([-(2**63)]), 3)
    with pytest.raises(InputError):
        values_to_symbols(np.array([0.5]), 3)


# =========================================================================== coding round trips
def _latents(n, seed, outliers=True):
    rng = np.random.default_rng(seed)
    mean = rng.normal(0, 20, n)
    scale = np.exp(rng.uniform(np.log(0.05), np.log(400), n))
    y = np.rint(mean + scale * rng.standard_normal(n)).astype(np.int64)
    if outliers:
        y[3] = 2**62
        y[11] = -(2**63) + 1
        y[17] = 5000
    return y, mean, scale


@pytest.mark.eq("core.table_gaussian", "core.table_laplace", "core.C5", "core.C7", "core.C31")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family,M,R", [("gaussian", 1, 1024), ("gaussian", 8, 64), ("laplace", 2, 200)])
def test_conditional_roundtrip_with_outliers(backend, family, M, R):
    y, mean, scale = _latents(600, 5)
    idx = E.conditional_indices(mean, scale, M)
    assert idx.mean_grid == M
    r = y - np.floor_divide(idx.mean_idx, M)          # any int64 residuals, outliers included
    groups, pay = E.encode_conditional(r, idx, radius=R, family=family)
    assert len(pay) > 0
    data = ans.encode_groups(groups, backend=backend)
    dec = ans.AnsDecoder(data, backend=backend)
    out = E.decode_conditional(dec, idx, pay, radius=R, family=family, mean_grid=M)
    dec.finish()
    assert np.array_equal(out, r)


@pytest.mark.eq("core.C31", "core.C5")
def test_conditional_quantiser_hand_case_and_training_twin():
    # M = 8: mean 0.3 -> mean_idx round(2.4) = 2, mu_g = 0.25; y = 1.9 -> r = round(1.65) = 2,
    # y_hat = 2.25; y = -0.125 -> r = round(-0.375) = 0 -> y_hat = 0.25; mean -1.0 exact.
    idx = E.conditional_indices(np.array([0.3, 0.3, -1.0]), np.array([1.0, 1.0, 1.0]), 8)
    assert idx.mean_idx.tolist() == [2, 2, -8]
    y = np.array([1.9, -0.125, -3.6])
    r = E.quantize_conditional(y, idx)
    assert r.tolist() == [2, 0, -3]
    assert E.dequantize_conditional(r, idx).tolist() == [2.25, 0.25, -4.0]
    # the training quantiser has the same value (one quantiser for training and coding)
    from ref.core.quantization import ste_round_with_mean
    rng = np.random.default_rng(4)
    mean, yy = rng.normal(0, 3, 500), rng.normal(0, 5, 500)
    idx = E.conditional_indices(mean, np.ones(500), 8)
    coded = E.dequantize_conditional(E.quantize_conditional(yy, idx), idx, np.float64)
    trained = np.asarray(ste_round_with_mean(jnp.asarray(yy), jnp.asarray(mean), 8))
    assert np.array_equal(coded, trained)


@pytest.mark.eq("core.C5", "core.C31")
def test_mean_grid_mismatch_is_an_error():
    idx = E.conditional_indices(np.zeros(4), np.ones(4), 8)
    groups, pay = E.encode_conditional(np.zeros(4, np.int64), idx)
    with pytest.raises(InputError, match="grid"):
        E.encode_conditional(np.zeros(4, np.int64), idx, mean_grid=1)
    with pytest.raises(InputError, match="grid"):
        E.decode_conditional(ans.AnsDecoder(ans.encode_groups(groups)), idx, pay, mean_grid=4)
    with pytest.raises(InputError):
        E.ConditionalIndices(idx.scale_idx, idx.mean_idx, 0).checked()
    with pytest.raises(InputError):
        E.ConditionalIndices(idx.scale_idx, idx.mean_idx[:2], 8).checked()
    assert E.conditional_indices(np.array([0.3]), np.array([1.0])).mean_grid == E.DEFAULT_MEAN_GRID == 8


@pytest.mark.eq("core.table_gaussian", "core.lik_gaussian", "core.C31")
def test_code_length_close_to_model_rate():
    rng = np.random.default_rng(2)
    n = 4000
    mean = rng.normal(0, 3, n)
    scale = np.exp(rng.uniform(np.log(0.5), np.log(30), n))
    idx = E.conditional_indices(mean, scale, 8)
    sc = T.scale_table()[idx.scale_idx]
    mu = idx.mean_idx / 8
    y = mu + sc * rng.standard_normal(n)
    r = E.quantize_conditional(y, idx)
    groups, pay = E.encode_conditional(r, idx, radius=256)
    bits = 8 * (len(ans.encode_groups(groups)) + len(pay))
    # r = round(y - mu_g) ~ discretised N(0, s_k): the zero-mean table's model rate
    ideal = -np.log2(np.asarray(E.gaussian_likelihood(jnp.asarray(r, jnp.float64), 0.0, sc))).sum()
    assert ideal <= bits <= ideal * 1.01 + 64
    assert abs(E.conditional_bits(r, idx, radius=256) - ideal) < 1e-3 * ideal


@pytest.mark.eq("core.table_gmm", "core.C8", "core.C7")
@pytest.mark.parametrize("backend", BACKENDS)
def test_mixture_roundtrip(backend):
    rng = np.random.default_rng(3)
    n, k = 300, 3
    w = rng.dirichlet(np.ones(k), n)
    mu = rng.normal(0, 10, (n, k))
    sc = np.exp(rng.uniform(-2, 4, (n, k)))
    si, mi, wi = E.gmm_indices(w, mu, sc, 8)
    y = np.rint(mu[np.arange(n), w.argmax(1)] + rng.normal(0, 3, n)).astype(np.int64)
    y[7] = -123456789
    groups, pay = E.encode_mixture(y, si, mi, wi, radius=32, mean_grid=8)
    data = ans.encode_groups(groups, backend=backend)
    dec = ans.AnsDecoder(data, backend=backend)
    out = E.decode_mixture(dec, si, mi, wi, pay, radius=32, mean_grid=8)
    dec.finish()
    assert np.array_equal(out, y)


@pytest.mark.eq("core.table_factorized", "core.C9")
def test_factorized_tables_and_roundtrip(tmp_path):
    p = E.init_factorized(jax.random.PRNGKey(7), 4, dtype=jnp.float32)
    ts, off = E.factorized_tables(p, 24)
    assert ts.freqs.shape == (4, 50) and ts.freqs.dtype == np.uint32
    assert np.all(ts.freqs >= 1) and np.all(ts.freqs.astype(np.int64).sum(1) == 2**24)
    # tables follow the float model: P(r) vs the likelihood at y = o_c + r
    r = np.arange(-24, 25)
    y = off[None, :] + r[:, None]
    lik = np.asarray(E.factorized_likelihood(p, jnp.asarray(y, jnp.float64)))
    assert np.abs(ts.freqs[:, :-1].T / 2**24 - lik).max() < 1e-5
    # checkpoint round trip (safetensors)
    from safetensors.numpy import load_file, save_file
    save_file(E.factorized_to_checkpoint(p, 24), str(tmp_path / "ck.safetensors"))
    ts2, off2 = E.factorized_from_checkpoint(load_file(str(tmp_path / "ck.safetensors")))
    assert np.array_equal(ts2.freqs, ts.freqs) and np.array_equal(off2, off) and ts2.radius == 24
    rng = np.random.default_rng(0)
    lat = rng.integers(-30, 30, (5, 6, 4))
    lat[0, 0, 0] = 10**12
    groups, pay = E.encode_factorized(lat, ts, off)
    dec = ans.AnsDecoder(ans.encode_groups(groups))
    out = E.decode_factorized(dec, lat.shape, ts, off, pay)
    dec.finish()
    assert np.array_equal(out, lat)
    bad = dict(load_file(str(tmp_path / "ck.safetensors")))
    bad["entropy_bottleneck.freqs"] = bad["entropy_bottleneck.freqs"].copy()
    bad["entropy_bottleneck.freqs"][0, 0] += 1
    with pytest.raises(InputError):
        E.factorized_from_checkpoint(bad)


@pytest.mark.eq("core.C7")
def test_encode_values_checks_inputs():
    ts = T.table_set("gaussian", 4, 1)
    with pytest.raises(InputError):
        encode_values(np.zeros(3, np.int64), np.zeros(2, np.int32), ts)
    with pytest.raises(InputError):
        encode_values(np.zeros(2, np.int64), np.array([0, 64]), ts)
    groups, pay = encode_values(np.array([[1, -9], [0, 4]]), np.array([[0, 5], [63, 63]]), ts)
    dec = ans.AnsDecoder(ans.encode_groups(groups))
    assert decode_values(dec, np.array([[0, 5], [63, 63]]), ts, pay).tolist() == [[1, -9], [0, 4]]
    dec.finish()


@pytest.mark.eq("core.table_gaussian", "core.C7")
@pytest.mark.skipif(len(BACKENDS) < 2, reason="constriction not available")
def test_backends_give_identical_bytes():
    y, mean, scale = _latents(500, 9)
    idx = E.conditional_indices(mean, scale, 2)
    groups, pay = E.encode_conditional(y, idx, radius=100)
    assert ans.encode_groups(groups, backend="constriction") == ans.encode_groups(groups, backend="mirror")
