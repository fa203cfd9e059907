"""GDN / IGDN with the tensorflow-compression / CompressAI non-negative reparametrisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.core.gdn import (
    BETA_MIN, PEDESTAL, effective_params, gdn, igdn, init_gdn, lower_bound, nonneg, nonneg_init,
)


def _params(beta, gamma):
    return {"beta": nonneg_init(jnp.asarray(beta, jnp.float64)), "gamma": nonneg_init(jnp.asarray(gamma, jnp.float64))}


@pytest.mark.eq("core.gdn")
def test_gdn_hand_computed():
    p = _params([1.0, 0.5], [[0.1, 0.2], [0.3, 0.4]])
    x = jnp.asarray([1.0, 2.0])
    # norm_0 = 1 + 0.1*1 + 0.2*4 = 1.9 ; norm_1 = 0.5 + 0.3*1 + 0.4*4 = 2.4
    want = np.array([1 / np.sqrt(1.9), 2 / np.sqrt(2.4)])
    assert np.allclose(np.asarray(gdn(p, x)), want, rtol=1e-12, atol=0)
    assert np.allclose(np.asarray(igdn(p, x)), [np.sqrt(1.9), 2 * np.sqrt(2.4)], rtol=1e-12)


@pytest.mark.eq("core.gdn")
def test_gdn_matches_numpy_formula():
    rng = np.random.default_rng(0)
    C = 6
    beta = rng.uniform(0.1, 2, C)
    gamma = rng.uniform(0, 0.5, (C, C))
    x = rng.normal(0, 3, (2, 5, 4, C))
    p = _params(beta, gamma)
    b, g = (np.asarray(v) for v in effective_params(p))
    norm = np.einsum("nhwj,ij->nhwi", x**2, g) + b
    assert np.allclose(np.asarray(gdn(p, jnp.asarray(x))), x / np.sqrt(norm), rtol=1e-12)
    assert np.allclose(np.asarray(igdn(p, jnp.asarray(x))), x * np.sqrt(norm), rtol=1e-12)
    assert np.allclose(b, beta, rtol=1e-10) and np.allclose(g, gamma, atol=1e-12)


@pytest.mark.eq("core.gdn", "core.gdn_reparam")
def test_default_init_is_compressai():
    p = init_gdn(3, jnp.float64)
    b, g = effective_params(p)
    assert np.allclose(np.asarray(b), 1.0, rtol=1e-12)
    assert np.allclose(np.asarray(g), 0.1 * np.eye(3), atol=1e-12)
    x = jnp.asarray([[0.5, -2.0, 3.0]])
    assert np.allclose(np.asarray(gdn(p, x)), np.asarray(x) / np.sqrt(1 + 0.1 * np.asarray(x) ** 2), rtol=1e-10)
    assert init_gdn(3)["beta"].dtype == jnp.float32


@pytest.mark.eq("core.gdn_reparam")
def test_reparam_values_and_bounds():
    # stored -> value: lowerbound(p, sqrt(min + pedestal))**2 - pedestal ; pedestal = 2**-36
    assert PEDESTAL == 2.0**-36
    assert float(nonneg(jnp.asarray(0.0), BETA_MIN)) == pytest.approx(BETA_MIN, rel=1e-12)
    assert float(nonneg(jnp.asarray(-5.0))) == 0.0
    assert float(nonneg(jnp.asarray(3.0))) == pytest.approx(9.0 - PEDESTAL, rel=1e-15)
    v = jnp.asarray([0.0, 1e-3, 0.7, 12.0])
    assert np.allclose(np.asarray(nonneg(nonneg_init(v))), np.asarray(v), atol=1e-15)
    assert float(nonneg_init(jnp.asarray(-1.0))) == pytest.approx(2.0**-18)


@pytest.mark.eq("core.gdn_reparam")
def test_lower_bound_gradient_like_compressai_lowerbound():
    # CompressAI LowerBound backward: pass where x >= bound or grad_output < 0 (pushing x up).
    x = jnp.asarray([0.0, 2.0])
    g_up = jax.grad(lambda v: lower_bound(v, 1.0).sum())(x)       # upstream +1: blocked below
    assert np.array_equal(np.asarray(g_up), [0.0, 1.0])
    g_dn = jax.grad(lambda v: (-lower_bound(v, 1.0)).sum())(x)    # upstream -1: descent pushes up
    assert np.array_equal(np.asarray(g_dn), [-1.0, -1.0])
    # through GDN: a beta stored below its bound still receives a gradient that increases it
    p = {"beta": jnp.asarray([0.0]), "gamma": jnp.asarray([[0.3]])}
    gb = jax.grad(lambda q: -gdn(q, jnp.asarray([1.0]), inverse=True).sum())(p)["beta"]
    assert float(gb[0]) < 0  # loss falls as beta rises -> passes
    gb = jax.grad(lambda q: gdn(q, jnp.asarray([1.0]), inverse=True).sum())(p)["beta"]
    assert float(gb[0]) == 0.0  # would push below the bound -> blocked
