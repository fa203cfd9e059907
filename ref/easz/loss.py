"""Easz training loss (paper 000, eq. 2).

    Loss(x, x^) = L1(x, x^) + lambda * LPIPS_vgg(x, x^),   lambda = 0.3

Normative reading (spec easz.C26): x^ is the *composite* the codec outputs (kept
pixels from x, erased pixels from the model), both in [0, 1] for L1 (mean over
every pixel and channel) and mapped to [-1, 1] for LPIPS (mean over the images
it is evaluated on).
"""

from __future__ import annotations

import numpy as np

from ref.core import runtime
from ref.core.registry import implements
from ref.easz import lpips as lpips_mod

jax = runtime.jax()
import jax.numpy as jnp  # noqa: E402

LAMBDA = 0.3


@implements("easz.2")
def l1(x, y):
    """L1(x, y) = mean |x - y| / 255 over all elements; x, y float32 pixels in [0, 255]."""
    return jnp.mean(jnp.abs(jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32))) * np.float32(1 / 255.0)


@implements("easz.2")
def loss(x, y, lpips_params=None, *, lam: float = LAMBDA, lpips_images: int | None = None):
    """Eq. 2 on images x (target) and y (composite reconstruction), float32 (N, H, W, 3) in [0, 255].

    lpips_images: evaluate the LPIPS term on the first k images only (an unbiased estimate
    of its batch mean when the batch is in random order; None = all).  With
    ``lpips_params=None`` or ``lam == 0`` only the L1 term is returned.
    Returns (total, l1, lpips_mean) as float32 scalars.
    """
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    a = l1(x, y)
    if lpips_params is None or lam == 0:
        return a, a, jnp.zeros((), jnp.float32)
    k = x.shape[0] if lpips_images is None else lpips_images
    to_pm1 = lambda v: v[:k] * np.float32(2 / 255.0) - np.float32(1.0)  # noqa: E731
    p = jnp.mean(lpips_mod.lpips(lpips_params, to_pm1(x), to_pm1(y)))
    return a + np.float32(lam) * p, a, p
