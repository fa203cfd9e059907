"""Training objectives of the cascade (paper 001, eqs. 11-13; spec/hcf-cascade.md).

    L_intra^{k->k-1} = || phi^intra_{k->k-1}(y~^k) - g_a^{k-1}(x) ||_2^2                 (11)
    L_inter^{k->k-1} = || phi^inter_{k->k-1}(y^^k) - g_a^{k-1}(x) ||_2^2,
                       y^^k = D^k(E^k(Q^k(y~^k)))                                        (12)
    y~^k = (F^pi_{s->k} o g_a^s)(x)
    L_RD^k = lambda_k D(x, x^^k) + R(y^^k),  x^^k = g_s^k(y^^k)                          (13)

The reference evaluates ||.||_2^2 as the MEAN of squares over all B*h*w*M_{k-1} elements
(a constant factor on the sum; it only rescales the learning rate), and eq. 13 with the base
codec's training convention (hcf.C2, hcf.2): D = 255^2 * MSE(x, x^) with x in [0, 1],
R = (bits(y) + bits(z)) / (B*H*W) from the level-k hyperprior's noisy likelihoods, y^ =
ste(y~ - mu_g) + mu_g.  Which networks are frozen (all but the current module in eqs.
11-12; all but g_s^k and level k's entropy models in eq. 13) is the training loop's business:
these functions are the objectives only.
"""

from __future__ import annotations

import jax.numpy as jnp

from ref.core.hyperprior import rate_terms
from ref.core.registry import implements
from ref.hcf.cascade import Transmit
from ref.hcf.transform import phi as _phi

__all__ = ["module_input", "distillation_loss", "finetune_loss"]


@implements("hcf.11", "hcf.12")
def module_input(process: str, y_tilde, k: int, transmit: Transmit):
    """The input of the module being trained: y~^k for phi^intra (eq. 11), y^^k =
    D^k(E^k(Q^k(y~^k))) for phi^inter (eq. 12).  process: "intra" | "inter"."""
    if process == "intra":
        return y_tilde
    if process == "inter":
        return transmit(k, y_tilde)
    from ref.core.errors import InputError

    raise InputError(f"process must be 'inter' or 'intra', got {process!r}")


@implements("hcf.11", "hcf.12")
def distillation_loss(phi_params: dict, y_in, target, phi_fn=_phi):
    """mean((phi(y_in) - target)^2): eqs. 11-12 with ||.||_2^2 taken as the mean over elements.

    phi_params: the module being trained; y_in: (B, h, w, M_k) from :func:`module_input`;
    target: (B, h, w, M_{k-1}) = g_a^{k-1}(x) (hcf.1 with level k-1's parameters).
    Returns a float scalar (jit/grad-able).
    """
    d = phi_fn(phi_params, y_in) - target
    return jnp.mean(d * d)


@implements("hcf.13")
def finetune_loss(level_params: dict, lam: float, x, y_tilde, key, mean_grid: int = 8):
    """L_RD^k = lam * 255^2 * mean((x - g_s^k(y^))^2) + (bits_y + bits_z) / (B H W)   (eq. 13)

    level_params: level k's base-codec params {"g_s", "hyper", ...} (ref.hcf.model).
    lam: lambda_k (hcf.C2).  x: (B, H, W, 3) in [0, 1].  y_tilde: (B, H/16, W/16, M_k), the
    cascade's latent at level k.  key: jax PRNG key of the rate noise (core.hp_rate).
    Returns (loss, mse, bpp), float scalars.  With y_tilde = g_a^k(x) this is the base codec's
    own training loss (ref.hcf.train).
    """
    from ref.hcf.model import synthesis

    rt = rate_terms(level_params["hyper"], y_tilde, key, mean_grid=mean_grid)
    x_hat = synthesis(level_params, rt["y_hat"])
    mse = jnp.mean((x - x_hat) ** 2)
    bpp = (rt["bits_y"] + rt["bits_z"]) / (x.shape[0] * x.shape[1] * x.shape[2])
    return jnp.asarray(lam * 255.0**2, mse.dtype) * mse + bpp, mse, bpp
