"""ref.core.phase_deconv computes [core.deconv] (the dilated-input correlation of
ref.core.layers.deconv) by output phases: same values up to float summation order, for the
kernel sizes the codecs use (3 and 5, stride 2) and odd spatial sizes; gradients too."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.core.layers import deconv, init_deconv
from ref.core.phase_deconv import deconv_phase


@pytest.mark.eq("core.deconv")
@pytest.mark.parametrize("k,shape", [(3, (2, 5, 7, 4)), (5, (1, 4, 3, 6)), (3, (1, 1, 1, 2))])
def test_phase_deconv_equals_core_deconv(k, shape):
    p = init_deconv(jax.random.key(k), k, shape[-1], 3)
    p["b"] = p["b"] + 0.3
    x = jax.random.normal(jax.random.key(9), shape, jnp.float64)
    want = np.asarray(deconv(p, x, stride=2))
    got = np.asarray(deconv_phase(p, x, stride=2))
    assert got.shape == want.shape == (shape[0], 2 * shape[1], 2 * shape[2], 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    gw = jax.grad(lambda q: jnp.sum(jnp.sin(deconv(q, x, stride=2))))(p)
    gp = jax.grad(lambda q: jnp.sum(jnp.sin(deconv_phase(q, x, stride=2))))(p)
    np.testing.assert_allclose(np.asarray(gp["w"]), np.asarray(gw["w"]), rtol=0, atol=1e-10)
