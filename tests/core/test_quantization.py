"""Quantisation: rounding rule, additive noise, straight-through estimator."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref.core.errors import InputError
from ref.core.quantization import add_uniform_noise, quantize, quantize_np, ste_round, ste_round_with_mean, to_symbols

TIES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])


@pytest.mark.eq("core.quant_round", "core.C1")
def test_round_ties_to_even():
    want = np.array([-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 4.0])
    got = np.asarray(quantize(jnp.asarray(TIES)))
    assert np.array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert np.array_equal(quantize_np(TIES), want)
    assert to_symbols(TIES).dtype == np.int64
    assert to_symbols(TIES).tolist() == [-2, -2, 0, 0, 2, 2, 4]
    # not floor(x + 0.5):
    assert not np.array_equal(np.floor(TIES + 0.5), want)


@pytest.mark.eq("core.quant_round", "core.C1")
@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=20))
def test_round_matches_python_round(xs):
    x = np.array(xs)
    assert np.array_equal(np.asarray(quantize(jnp.asarray(x))), np.array([float(round(v)) for v in xs]))


@pytest.mark.eq("core.C1")
def test_to_symbols_rejects_nonfinite():
    with pytest.raises(InputError):
        to_symbols([1.0, np.nan])


@pytest.mark.eq("core.quant_noise")
def test_uniform_noise_range_and_determinism():
    x = jnp.zeros((20000,), jnp.float64)
    k = jax.random.PRNGKey(3)
    a = np.asarray(add_uniform_noise(k, x))
    assert np.array_equal(a, np.asarray(add_uniform_noise(k, x)))
    assert a.min() >= -0.5 and a.max() < 0.5
    assert abs(a.mean()) < 0.01 and abs(a.var() - 1 / 12) < 0.003
    assert not np.array_equal(a, np.asarray(add_uniform_noise(jax.random.PRNGKey(4), x)))
    y = jnp.arange(5.0, dtype=jnp.float32)
    assert add_uniform_noise(k, y).dtype == jnp.float32
    g = jax.grad(lambda v: add_uniform_noise(k, v).sum())(y)
    assert np.array_equal(np.asarray(g), np.ones(5, np.float32))


@pytest.mark.eq("core.quant_ste", "core.C31")
def test_ste_value_and_gradient():
    x = jnp.asarray(TIES + 0.1)
    assert np.array_equal(np.asarray(ste_round(x)), np.round(TIES + 0.1))
    g = jax.grad(lambda v: (ste_round(v) ** 2).sum())(x)
    assert np.allclose(np.asarray(g), 2 * np.round(TIES + 0.1))  # d/dx round(x)^2 = 2 round(x) * 1
    # [core.C31]: the mean is first snapped to the grid 1/M: 0.3 -> round(2.4)/8 = 0.25 at M = 8
    m = jnp.full_like(x, 0.3)
    assert np.allclose(np.asarray(ste_round_with_mean(x, m, 8)), np.round(TIES + 0.1 - 0.25) + 0.25, rtol=0, atol=1e-15)
    assert np.allclose(np.asarray(ste_round_with_mean(x, m, 1)), np.round(TIES + 0.1), rtol=0, atol=1e-15)
    assert np.array_equal(np.asarray(jax.grad(lambda v: ste_round_with_mean(v, m, 8).sum())(x)), np.ones(7))
    assert np.array_equal(np.asarray(jax.grad(lambda u: ste_round_with_mean(x, u, 8).sum())(m)), np.zeros(7))  # (x - mu) + mu
