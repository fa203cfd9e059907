"""hcf.1 / hcf.5 / hcf.2 against an independent float64 NumPy computation (tests/hcf/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hcf import reference as R


def _params(seed=1, N=8, M=12):
    import jax

    from ref.hcf.model import init_params

    p = init_params(jax.random.key(seed), N, M)
    # non-trivial GDN parameters (not the identity-like init)
    r = np.random.default_rng(seed)
    for part, names in (("g_a", ("gdn0", "gdn1", "gdn2")), ("g_s", ("igdn0", "igdn1", "igdn2"))):
        for n in names:
            p[part][n] = {"beta": np.float32(1.0) + r.random(N).astype(np.float32),
                          "gamma": (0.05 + 0.2 * r.random((N, N))).astype(np.float32)}
    return p


@pytest.mark.eq("hcf.1")
def test_analysis_matches_numpy_float64():
    import jax.numpy as jnp

    from ref.hcf.model import analysis

    p = _params()
    x = np.random.default_rng(2).random((2, 32, 48, 3)).astype(np.float32)
    got = np.asarray(analysis(p, jnp.asarray(x)), np.float64)
    want = R.g_a(p, x)
    assert got.shape == (2, 2, 3, 12)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.eq("hcf.5")
def test_synthesis_matches_numpy_float64():
    import jax.numpy as jnp

    from ref.hcf.model import synthesis

    p = _params()
    y = np.random.default_rng(3).integers(-4, 5, (1, 3, 2, 12)).astype(np.float32)
    got = np.asarray(synthesis(p, jnp.asarray(y)), np.float64)
    want = R.g_s(p, y)
    assert got.shape == (1, 48, 32, 3)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.eq("hcf.5")
def test_phase_deconv_equals_torch_scatter_definition():
    import jax.numpy as jnp

    from ref.core.phase_deconv import deconv_phase

    r = np.random.default_rng(4)
    for k, s in ((5, 2), (3, 2), (5, 3)):
        w = r.standard_normal((k, k, 4, 5)).astype(np.float32)
        b = r.standard_normal(5).astype(np.float32)
        x = r.standard_normal((2, 5, 7, 4)).astype(np.float32)
        got = np.asarray(deconv_phase({"w": jnp.asarray(w), "b": jnp.asarray(b)}, jnp.asarray(x), stride=s))
        np.testing.assert_allclose(got, R.conv_transpose2d(x, w, b, s), rtol=1e-5, atol=1e-5)


@pytest.mark.eq("hcf.2")
def test_training_quantiser_is_the_coding_quantiser():
    """g_s's input in training = round(y - mu_g) + mu_g with mu_g = round(8 mean) / 8: checked by
    feeding that value (computed here in NumPy) to g_s and comparing with forward_train's x_hat."""
    import jax
    import jax.numpy as jnp

    from ref.core.hyperprior import hyper_analysis, hyper_synthesis
    from ref.hcf.model import analysis, forward_train, synthesis

    p = _params(5)
    p = jax.tree_util.tree_map(lambda a: a * 4.0 if np.ndim(a) == 4 else a, p)
    x = jnp.asarray(np.random.default_rng(6).random((1, 64, 64, 3)).astype(np.float32))
    x_hat, _, _ = forward_train(p, x, jax.random.key(0))
    y = np.asarray(analysis(p, x), np.float64)
    z_hat = np.rint(np.asarray(hyper_analysis(p["hyper"], jnp.asarray(y, jnp.float32))))
    _, mean = hyper_synthesis(p["hyper"], jnp.asarray(z_hat, jnp.float32))
    mu = np.rint(np.asarray(mean, np.float64) * 8) / 8
    y_hat = np.rint(y - mu) + mu
    assert np.any(y_hat != np.rint(y)), "test needs latents where the mean changes the rounding"
    want = np.asarray(synthesis(p, jnp.asarray(y_hat, jnp.float32)))
    np.testing.assert_allclose(np.asarray(x_hat), want, rtol=1e-5, atol=1e-5)
