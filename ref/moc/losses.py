"""moc training objective: MSE through the uniform-noise proxy + the simplified rate penalty.

Talk 002 ("Simplified training objective"):

    min_{E,D} ||x - D(E(x))||^2 + sum_i (E(x)_i - mean(E(x)))^2,   dim E(x) << dim x

with, in training, the quantiser replaced by additive uniform noise
(x_hat = decode(encode(x) + U)).  Spec: ``spec/moc.md`` moc.rate_penalty, moc.loss,
moc.C25.  All functions are pure JAX, float32 in / float32 out.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ref.core.registry import implements

F32 = jnp.float32

#: variance floor inside the log of the log-std penalty (moc.C25)
LOGSTD_FLOOR = 1e-6
#: Gaussian differential entropy offset 0.5*log2(2*pi*e) in bits (moc.rate_penalty)
GAUSS_H_OFFSET = 0.5 * math.log2(2 * math.pi * math.e)


@implements("moc.rate_penalty", "moc.C25")
def rate_penalty(y: jax.Array, kind: str = "log_std") -> jax.Array:
    """Simplified rate penalty of a batch of latents.

    y: (..., C) float -- the value that is quantised (companded latent in quantisation-step
    units, before noise/rounding); every axis but the last is pooled (batch and grid).
    Per channel c:  m_c = mean(y[..., c]),  v_c = mean((y[..., c] - m_c)^2)  (biased).

    * ``kind="literal"`` (the slides' sum_i (E(x)_i - mean E(x))^2 as written, one mean over
      every element, divided by their number K):  R = (1/K) sum_i (y_i - m)^2,
      m = mean(y) -- equal to the "variance" form plus (1/C) sum_c (m_c - m)^2.
    * ``kind="variance"`` (per-channel reading):  R = (1/C) sum_c v_c.
    * ``kind="log_std"``:  R = (1/C) sum_c 0.5 * log2(v_c + 1e-6)   [bits per element
      minus the Gaussian offset 0.5*log2(2*pi*e) ~= 2.047; for a Gaussian latent with unit
      quantisation step, R + 2.047 is the entropy of the rounded symbols].

    Returns a float32 scalar.
    """
    y = jnp.asarray(y, F32)
    flat = y.reshape(-1, y.shape[-1])
    m = jnp.mean(flat, axis=0)
    v = jnp.mean(jnp.square(flat - m), axis=0)
    if kind == "literal":
        return jnp.mean(jnp.square(flat - jnp.mean(flat)))
    if kind == "variance":
        return jnp.mean(v)
    if kind == "log_std":
        return jnp.mean(0.5 * jnp.log2(v + jnp.asarray(LOGSTD_FLOOR, F32)))
    raise ValueError(f"unknown rate penalty kind {kind!r} (literal | variance | log_std)")


@implements("moc.loss")
def mse(x: jax.Array, x_hat: jax.Array) -> jax.Array:
    """Distortion term: mean over every element of (x - x_hat)^2, float32 scalar.

    x, x_hat: same shape, pixels in the model's input scale (moc.C13: u8 / 255 - 1/2, so a
    value d of this MSE is a PSNR of -10 log10(d) dB at peak 1).
    """
    return jnp.mean(jnp.square(jnp.asarray(x, F32) - jnp.asarray(x_hat, F32)))


@implements("moc.loss")
def total_loss(x: jax.Array, x_hat: jax.Array, y: jax.Array, lam: float, kind: str = "log_std") -> jax.Array:
    """L = MSE(x, x_hat) + lam * R(y), x_hat decoded from noisy latents (uniform proxy)."""
    return mse(x, x_hat) + jnp.asarray(lam, F32) * rate_penalty(y, kind)


def uniform_noise(key: jax.Array, shape, dtype=F32) -> jax.Array:
    """The quantisation proxy u ~ U(-1/2, 1/2) (one quantisation step wide), float32."""
    return jax.random.uniform(key, shape, dtype, -0.5, 0.5)
