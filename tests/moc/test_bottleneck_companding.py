"""moc bottleneck (dense, structured + MAC counts) and companding/quantisation."""

import math

import numpy as np
import pytest

import ref.moc  # noqa: F401
import jax
import jax.numpy as jnp

from ref.moc.bottleneck import (bottleneck_macs, dense_apply, dense_macs, encoder_init, structured_apply,
                                structured_init, structured_macs, structured_shape)
from ref.moc.companding import compand, compand_scale, expand, from_symbols, latent_max, quantize, to_symbols
from ref.moc.config import MocConfig, latent_channels_for


@pytest.mark.eq("moc.bottleneck_dense")
def test_dense_matches_numpy():
    rng = np.random.default_rng(0)
    p = {"kernel": jnp.asarray(rng.standard_normal((192, 12))), "bias": jnp.asarray(rng.standard_normal(12))}
    y = rng.standard_normal((3, 4, 192))
    assert np.allclose(np.asarray(dense_apply(p, jnp.asarray(y))), y @ np.asarray(p["kernel"]) + np.asarray(p["bias"]),
                       atol=1e-12)
    assert dense_macs(192, 12) == 2304 == 4 ** (2 * 3) * 9 // 16 == bottleneck_macs(MocConfig())


@pytest.mark.eq("moc.bottleneck_structured", "moc.C6")
def test_structured_equals_its_dense_matrix():
    N, M = 192, 48
    p = structured_init(jax.random.PRNGKey(1), N, M)
    p = jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), p)
    eye = jnp.eye(N, dtype=jnp.float64)
    W = np.asarray(structured_apply({k: v for k, v in p.items() if k != "bias"}, eye))  # (N, M)
    g1, g2, h = structured_shape(N, M)
    A, Bm = np.asarray(p["stage_a"]), np.asarray(p["stage_b"])
    W2 = np.einsum("ijk,kio->ijko", A, Bm).reshape(N, M)  # W[i*g2+j, k*(M/h)+o]
    assert np.allclose(W, W2, atol=1e-12)
    # every output depends on every input (a full mixing, as an FFT)
    assert np.count_nonzero(np.abs(W) > 0) == N * M


@pytest.mark.eq("moc.bottleneck_structured", "moc.C6")
@pytest.mark.parametrize("N,M", [(192, 48), (768, 48), (768, 192), (256, 16), (1024, 64), (3072, 192)])
def test_structured_macs_between_nlogn_and_n15(N, M):
    g1, g2, h = structured_shape(N, M)
    assert g1 * g2 == N and M % h == 0
    macs = structured_macs(N, M)
    assert macs == N * h + g1 * M
    assert N * math.log2(N) <= macs <= N ** 1.5
    assert macs < dense_macs(N, M)


@pytest.mark.eq("moc.C6")
def test_structured_shape_rules():
    assert structured_shape(192, 12) == (12, 16, 12)   # dense (2304) is cheaper here: documented
    assert structured_shape(192, 48, blocks=4) == (12, 16, 4)
    with pytest.raises(ValueError):
        structured_shape(192, 48, blocks=5)
    cfg = MocConfig(latent_channels=48, bottleneck="structured")
    p = encoder_init(jax.random.PRNGKey(0), cfg)
    assert p["stage_a"].shape == (12, 16, 6) and bottleneck_macs(cfg) == 1728


@pytest.mark.eq("moc.compand", "moc.expand", "moc.C7")
@pytest.mark.parametrize("bits", [4, 8])
def test_compand_range_and_inverse(bits):
    z = jnp.linspace(-5 * compand_scale(bits), 5 * compand_scale(bits), 1001, dtype=jnp.float64)
    y = compand(z, bits)
    assert float(jnp.abs(y).max()) < latent_max(bits) < 2 ** (bits - 1) - 0.5
    assert np.all(np.diff(np.asarray(y)) > 0)
    zi = expand(y, bits)  # continuous inverse inside the clip range
    inside = np.abs(np.asarray(y)) < (0.5 - 1e-4) * 2 * latent_max(bits)
    assert np.allclose(np.asarray(zi)[inside], np.asarray(z)[inside], rtol=1e-6, atol=1e-6)


@pytest.mark.eq("moc.quantize", "moc.C8", "moc.C15")
def test_quantize_round_half_even_noise_and_symbols():
    assert np.asarray(quantize(jnp.array([-1.5, -0.5, 0.5, 1.5, 2.5]))).tolist() == [-2, -0, 0, 2, 2]
    y = jnp.zeros((10000,), jnp.float32)
    n = quantize(y, train=True, key=jax.random.PRNGKey(0))
    assert float(n.min()) >= -0.5 and float(n.max()) <= 0.5 and abs(float(n.mean())) < 0.02
    with pytest.raises(ValueError):
        quantize(y, train=True)
    q = np.array([-127, 0, 127])
    s = to_symbols(q)
    assert s.tolist() == [1, 128, 255] and from_symbols(s).tolist() == [-127, 0, 127]
    with pytest.raises(ValueError):
        to_symbols(np.array([128]))


@pytest.mark.eq("moc.C5", "moc.C2")
def test_reduction_config():
    assert latent_channels_for(16) == 12 and latent_channels_for(4) == 48 and latent_channels_for(16, 1) == 4
    assert MocConfig().reduction == 16 and MocConfig().wpt_channels == 192
    with pytest.raises(ValueError):
        latent_channels_for(5)
    c = MocConfig(latent_channels=48, extra=(("a", 1),))
    assert MocConfig.from_dict(c.to_dict()) == c
