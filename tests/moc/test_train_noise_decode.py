"""moc training decodes from c + U, U ~ Uniform(-1/2, 1/2) (spec moc.quantize, moc.loss).

The training step's distortion term is compared, on average over noise draws, with the
distortion of the *inference* decoder (ref.moc.model.decoder_apply, what the codec runs)
applied to c + u for u drawn here with NumPy: the two agree (0.5 %), while decoding from c
without noise, or with noise twice as wide (U(-1, 1)), would not.  About 10 s of CPU (the
jit of a gradient step), hence ``slow``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytestmark = pytest.mark.eq("moc.loss", "moc.quantize")


@pytest.mark.slow
def test_training_distortion_is_the_decoder_on_uniformly_perturbed_latents():
    import optax

    from ref.moc.data import load_image
    from ref.moc.model import decoder_apply, encoder_latent, load, to_input
    from ref.moc.train import make_step

    params, cfg = load("rgb_16x")
    x = to_input(load_image("astronaut")[64:160, 128:224])[None]        # (1, 96, 96, 3)
    opt = optax.sgd(0.0)                                                 # loss only, no update
    step = make_step(cfg, 1.5e-4, "log_std", opt)
    state = opt.init(params)
    d_train = np.mean([float(step(params, state, x, jax.random.key(i))[3][0]) for i in range(8)])

    c = np.asarray(encoder_latent(params, x, cfg), np.float64)
    xs = np.asarray(x, np.float64)
    dec = jax.jit(lambda q: decoder_apply(params, q, cfg))

    def distortion(q):
        return float(np.mean((np.asarray(dec(jnp.asarray(q, jnp.float32)), np.float64) - xs) ** 2))

    rng = np.random.default_rng(0)
    d_half = np.mean([distortion(c + rng.uniform(-0.5, 0.5, c.shape)) for _ in range(8)])
    d_one = np.mean([distortion(c + rng.uniform(-1.0, 1.0, c.shape)) for _ in range(8)])
    d_none = distortion(c)
    tol = 0.005 * d_half
    assert abs(d_train - d_half) < tol, (d_train, d_half)
    # the check can tell the alternatives apart
    assert abs(d_train - d_one) > 5 * tol and abs(d_train - d_none) > 5 * tol, (d_one, d_none)
