"""Segment generator and hyperprior repetition ([ecf.segments], [ecf.C4]).

    s_hat[b, i, h, w, c] = y_hat[b, h, w, i p_cs + c],   p_cs = C / N_cs,  i < N_cs
    psi_rep[b, i, h, w, :] = psi[b, h, w, :]      (hyperprior output repeated, not segmented)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements


@implements("ecf.segments")
def segment(y, n_cs: int):
    """Latent (B, H, W, C) -> segments (B, N_cs, H, W, C / N_cs); any array type (NumPy / JAX)."""
    B, H, W, C = y.shape
    if int(n_cs) < 1 or C % int(n_cs):
        raise InputError(f"C = {C} channels do not split into N_cs = {n_cs} segments")
    return y.reshape(B, H, W, int(n_cs), C // int(n_cs)).transpose(0, 3, 1, 2, 4)


@implements("ecf.segments")
def unsegment(s):
    """Inverse of :func:`segment`: (B, N_cs, H, W, p_cs) -> (B, H, W, N_cs p_cs)."""
    B, n, H, W, p = s.shape
    return s.transpose(0, 2, 3, 1, 4).reshape(B, H, W, n * p)


@implements("ecf.C4")
def repeat_hyperprior(psi, n_cs: int):
    """Hyperprior output (B, H, W, C_h) -> (B, N_cs, H, W, C_h): the same psi for every segment
    (paper Fig. 4: "not segmented but repeated along channel dimension").  NumPy or JAX in,
    same type out (a broadcast view for NumPy)."""
    if int(n_cs) < 1:
        raise InputError(f"N_cs must be >= 1, got {n_cs}")
    xp = np if isinstance(psi, np.ndarray) else jnp
    return xp.broadcast_to(psi[:, None], (psi.shape[0], int(n_cs)) + tuple(psi.shape[1:]))
