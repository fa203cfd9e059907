"""The moc decoder has no local context (spec moc.C26), checked with the shipped weights."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

pytestmark = pytest.mark.eq("moc.C26", "moc.decoder")


def _latent(name: str):
    from ref.moc.companding import expand
    from ref.moc.data import load_image
    from ref.moc.model import encoder_apply, load, to_input

    params, cfg = load(name)
    img = load_image("astronaut")[64:192, 128:256]
    q = encoder_apply(params, to_input(img), cfg)
    return params, cfg, expand(q, cfg.latent_bits)


@pytest.mark.parametrize("name", ["rgb_16x", pytest.param("rgb_4x", marks=pytest.mark.slow)])
def test_shuffling_latent_positions_shuffles_the_decoded_coefficients(name):
    """decoder_net(e[perm]) == decoder_net(e)[perm] for a random permutation of the 16 x 16
    latent positions of a real image: the decoder cannot see which positions are neighbours."""
    from ref.moc.model import decoder_net

    params, cfg, e = _latent(name)
    e = np.asarray(e)
    g0, g1, m = e.shape
    perm = np.random.default_rng(0).permutation(g0 * g1)
    ep = e.reshape(-1, m)[perm].reshape(g0, g1, m)
    out = np.asarray(decoder_net(params, jnp.asarray(e), cfg)).reshape(g0 * g1, -1)
    outp = np.asarray(decoder_net(params, jnp.asarray(ep), cfg)).reshape(g0 * g1, -1)
    scale = np.abs(out).max()
    np.testing.assert_allclose(outp, out[perm], rtol=0, atol=2e-5 * scale)
    # and the permutation is not trivial for the output: positions do differ
    assert np.abs(out[perm] - out).max() > 100 * 2e-5 * scale
