"""Mean-scale hyperprior: networks against float64 NumPy/scipy references, the training rate
terms against scipy.stats, coding round trips, and the stream's error contract."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from ref.core import ans
from ref.core import entropy_models as E
from ref.core import hyperprior as HP
from ref.core import tables as T
from ref.core.errors import BitstreamError, InputError
from tests.core.test_layers import ref_conv, ref_deconv_torch, ref_lrelu

N_, M_ = 4, 6


@pytest.fixture(scope="module")
def model():
    p = HP.init_hyperprior(jax.random.PRNGKey(0), N_, M_)
    p64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), p)
    q = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), p)
    # z tables: four Gaussian rows stand in for a checkpoint's factorized tables (those are
    # tested in test_entropy_models; building them here would only cost compile time)
    ts = T.TableSet(T.table_set("gaussian", 32, 1).freqs[[20, 26, 32, 38]], 32)
    off = np.array([0, 1, -1, 2], dtype=np.int64)
    return p, p64, q, ts, off


def _y(seed, H=9, W=10, sd=3.0):
    return np.random.default_rng(seed).normal(0, sd, (1, H, W, M_))


def _torch_w(w):
    """correlation-form HWIO -> torch ConvTranspose2d (c_in, c_out, k, k) (spec core.C30)."""
    return w[::-1, ::-1].transpose(2, 3, 0, 1)


def ref_h_a(q, y):
    a = q["h_a"]
    t = ref_lrelu(ref_conv(y, a["conv0"]["w"], a["conv0"]["b"], 1))
    t = ref_lrelu(ref_conv(t, a["conv1"]["w"], a["conv1"]["b"], 2))
    return ref_conv(t, a["conv2"]["w"], a["conv2"]["b"], 2)


def ref_h_s(q, z):
    s = q["h_s"]
    t = np.maximum(ref_deconv_torch(z, _torch_w(s["deconv0"]["w"]), s["deconv0"]["b"], 2), 0)
    t = np.maximum(ref_deconv_torch(t, _torch_w(s["deconv1"]["w"]), s["deconv1"]["b"], 2), 0)
    out = ref_conv(t, s["conv2"]["w"], s["conv2"]["b"], 1)
    return out[..., :M_], out[..., M_:]


@pytest.mark.eq("core.hp_analysis", "core.hp_synthesis", "core.C33")
def test_networks_match_numpy_reference(model):
    p, p64, q, _, _ = model
    y = _y(1)
    z = np.asarray(HP.hyper_analysis(p64, jnp.asarray(y)))
    assert z.shape == (1, 3, 3, N_)
    np.testing.assert_allclose(z, ref_h_a(q, y), rtol=1e-10, atol=1e-10)
    z_hat = np.rint(z * 5)                              # larger values so that the ReLUs bite
    scale, mean = (np.asarray(a) for a in HP.hyper_synthesis(p64, jnp.asarray(z_hat)))
    rs, rm = ref_h_s(q, z_hat)
    assert scale.shape == mean.shape == (1, 12, 12, M_)
    np.testing.assert_allclose(scale, rs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mean, rm, rtol=1e-10, atol=1e-10)
    # h_s is ReLU (core.C33), not LeakyReLU: the pre-activation has negative values here
    s = q["h_s"]
    pre = ref_deconv_torch(z_hat, _torch_w(s["deconv0"]["w"]), s["deconv0"]["b"], 2)
    assert (pre < 0).any()
    # float32 by default (integers in, float32 network)
    assert HP.hyper_synthesis(p, jnp.asarray(z_hat, jnp.int32))[0].dtype == jnp.float32


@pytest.mark.eq("core.hp_rate", "core.C31", "core.lik_gaussian")
def test_rate_terms_against_scipy(model):
    _, p64, q, _, _ = model
    y = _y(2)
    key = jax.random.PRNGKey(5)
    out = HP.rate_terms(p64, jnp.asarray(y), key, mean_grid=8)
    ky, kz = jax.random.split(key)
    u_y = np.asarray(jax.random.uniform(ky, y.shape, jnp.float64, -0.5, 0.5))   # core.quant_noise
    z = ref_h_a(q, y)
    scale, mean = (a[:, :9, :10] for a in ref_h_s(q, np.rint(z)))
    mu_g = np.rint(mean * 8) / 8
    np.testing.assert_allclose(np.asarray(out["y_hat"]), np.rint(y - mu_g) + mu_g, rtol=0, atol=1e-12)
    s = np.maximum(scale, 0.11)
    v = np.abs(y + u_y - mu_g)
    lik = np.maximum(norm.cdf((0.5 - v) / s) - norm.cdf((-0.5 - v) / s), 1e-9)
    assert float(out["bits_y"]) == pytest.approx(-np.log2(lik).sum(), rel=1e-9)
    assert np.asarray(out["z_hat"]).shape == (1, 3, 3, N_) and float(out["bits_z"]) > 0
    g = jax.grad(lambda pp: HP.rate_terms(pp, jnp.asarray(y), key)["bits_y"])(p64)
    assert float(jnp.abs(g["h_s"]["conv2"]["w"]).sum()) > 0 and float(jnp.abs(g["h_a"]["conv0"]["w"]).sum()) > 0


def _fixed_fn(mean, scale, M=8):
    return lambda z_hat: E.conditional_indices(mean, scale, M)


@pytest.mark.eq("core.hp_sections", "core.C31")
def test_round_trip_float_path_and_training_equals_coding(model):
    _, p64, _, ts, off = model
    y = _y(3, 9, 10)
    out = HP.rate_terms(p64, jnp.asarray(y), jax.random.PRNGKey(0), mean_grid=8)
    z_hat = HP.quantize_z(HP.hyper_analysis(p64, jnp.asarray(y)))
    # indices of the training forward's own (scale, mean): coded y_hat == trained y_hat exactly
    fn = _fixed_fn(np.asarray(out["mean"]), np.asarray(out["scale"]))
    sections, y_hat = HP.encode_hyperprior(y, z_hat, ts, off, fn)
    assert sorted(sections) == sorted(HP.SECTIONS)
    assert np.array_equal(y_hat.astype(np.float64), np.asarray(out["y_hat"]))
    y_dec, z_dec = HP.decode_hyperprior(sections, ts, off, fn, expect_channels=(M_, N_), expect_mean_grid=8)
    assert np.array_equal(y_dec, y_hat) and np.array_equal(z_dec, z_hat) and y_dec.dtype == np.float32
    # the float path as indices_fn (h_s output is 12x12, cropped to 9x10) and a section prefix
    fnf = HP.float_indices_fn(p64, 8)
    sec2, yh2 = HP.encode_hyperprior(y, z_hat, ts, off, fnf, prefix="l3.", radius=64)
    assert "l3.y_esc" in sec2
    y_dec2, _ = HP.decode_hyperprior(sec2, ts, off, fnf, prefix="l3.")
    assert np.array_equal(y_dec2, yh2)
    # the y stream costs what the zero-mean tables say (ideal code length + ANS flush)
    idx = fnf(z_hat).crop(y.shape)
    r = E.quantize_conditional(y, idx)
    bits = E.conditional_bits(r, idx, radius=64)
    assert bits <= 8 * len(sec2["l3.y"]) <= bits + 64


@pytest.mark.eq("core.hp_sections", "core.C5")
def test_stream_errors(model):
    _, p64, _, ts, off = model
    y = _y(4, 8, 8)
    z_hat = HP.quantize_z(HP.hyper_analysis(p64, jnp.asarray(y)))
    rng = np.random.default_rng(0)
    mean, scale = rng.normal(0, 2, y.shape), np.exp(rng.uniform(-2, 2, y.shape))
    sec, _ = HP.encode_hyperprior(y, z_hat, ts, off, _fixed_fn(mean, scale, 8))
    # the decoder's model is on another mean grid: an error, not a silent decode at a bad rate
    with pytest.raises(BitstreamError, match="grid"):
        HP.decode_hyperprior(sec, ts, off, _fixed_fn(mean, scale, 16))
    with pytest.raises(BitstreamError, match="grid"):
        HP.decode_hyperprior(sec, ts, off, _fixed_fn(mean, scale, 8), expect_mean_grid=4)
    with pytest.raises(BitstreamError, match="channels"):
        HP.decode_hyperprior(sec, ts, off, _fixed_fn(mean, scale), expect_channels=(M_ + 2, N_))
    with pytest.raises(BitstreamError, match="missing"):
        HP.decode_hyperprior({k: v for k, v in sec.items() if k != "y_esc"}, ts, off, _fixed_fn(mean, scale))
    for bad in (sec["shape"][:-1], sec["shape"] + b"\x00", b"\x80\x00" + sec["shape"][1:]):
        with pytest.raises(BitstreamError):
            HP.decode_hyperprior({**sec, "shape": bad}, ts, off, _fixed_fn(mean, scale))
    with pytest.raises(BitstreamError):                     # damaged y stream: end check fails
        HP.decode_hyperprior({**sec, "y": sec["y"][:-4]}, ts, off, _fixed_fn(mean, scale))
    with pytest.raises(BitstreamError, match="indices"):    # stream says M = 6, the model has 5 channels
        HP.decode_hyperprior(sec, ts, off, lambda z: E.conditional_indices(mean[..., :5], scale[..., :5]))
    with pytest.raises(InputError, match="ConditionalIndices"):
        HP.encode_hyperprior(y, z_hat, ts, off, lambda z: (E.scale_index(scale), E.mean_index(mean, 8)))
    with pytest.raises(InputError):
        HP.encode_hyperprior(y, z_hat[:, :1], ts, off, _fixed_fn(mean, scale))


@pytest.mark.eq("core.C32", "core.C4")
def test_one_ulp_of_float_scale_at_a_boundary_breaks_decoding(model):
    """[core.C32]: scales exactly on table entries; the decoder's float path is one ulp higher."""
    _, p64, _, ts, off = model
    y = _y(6, 8, 8, 1.0)
    z_hat = HP.quantize_z(HP.hyper_analysis(p64, jnp.asarray(y)))
    k = np.random.default_rng(1).integers(3, 40, y.shape)
    scale = T.scale_table()[k]
    mean = np.zeros(y.shape)
    sec, y_hat = HP.encode_hyperprior(y, z_hat, ts, off, _fixed_fn(mean, scale))
    drifted = _fixed_fn(mean, np.nextafter(scale, np.inf))
    assert np.array_equal(drifted(z_hat).scale_idx, k + 1)
    try:
        y_dec, _ = HP.decode_hyperprior(sec, ts, off, drifted)
        corrupted = not np.array_equal(y_dec, y_hat)
    except BitstreamError:
        corrupted = True
    assert corrupted
    assert np.array_equal(HP.decode_hyperprior(sec, ts, off, _fixed_fn(mean, scale))[0], y_hat)


@pytest.mark.eq("core.hp_sections")
def test_damaged_sections_raise_only_bitstream_error():
    rng = np.random.default_rng(0)
    ts = T.TableSet(T.table_set("gaussian", 32, 1).freqs[[20, 26, 32]], 32)
    off = np.array([0, 1, -1])
    mean, scale = rng.normal(0, 2, (1, 8, 8, 4)), np.exp(rng.uniform(-2, 3, (1, 8, 8, 4)))
    fn = _fixed_fn(mean, scale)
    y = mean + scale * rng.standard_normal((1, 8, 8, 4))
    y[0, 0, 0, 0] = 900.0                                   # escapes in y and z
    z = rng.integers(-3, 4, (1, 2, 2, 3))
    z[0, 0, 0, 0] = 60
    sec, _ = HP.encode_hyperprior(y, z, ts, off, fn, radius=16)
    n_err = 0
    for _ in range(300):
        s = dict(sec)
        name = list(s)[rng.integers(len(s))]
        b = bytearray(s[name])
        if b and rng.integers(2):
            b[rng.integers(len(b))] ^= 1 << int(rng.integers(8))
        elif b:
            del b[rng.integers(len(b)):]
        else:
            b += b"\x01"
        s[name] = bytes(b)
        try:
            HP.decode_hyperprior(s, ts, off, fn)
        except BitstreamError:
            n_err += 1
    assert n_err > 200                                      # anything but BitstreamError fails the test
