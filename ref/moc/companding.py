"""Gaussian-CDF companding of the latent and its quantisation to ``bits`` bits.

(spec/moc.md: moc.compand, moc.expand, moc.quantize; constants moc.C7, symbol map moc.C8)

    s      = (2^(b-1) - 1) / 1.85                       companding scale
    Lmax   = 2^(b-1) - 1 + 0.5 - 1e-3                   largest companded magnitude
    compand(z) = 2 * Lmax * (Phi(z / s) - 1/2)          in (-Lmax, Lmax)
    quantize(y) = round_half_even(y)        (inference)  in [-(2^(b-1)-1), 2^(b-1)-1]
                = y + u, u ~ U(-1/2, 1/2)  (training proxy)
    expand(q)  = s * Phi^-1( clip(q / (2 Lmax) + 1/2, 1e-4, 1 - 1e-4) )
    symbol     = q + 2^(b-1)                            uint8 in [1, 2^b - 1]

These are the constants of the peer (walloc 1.2.1 ``ToUniform`` / ``ToNormal``).  Phi is
the standard normal CDF, evaluated as 0.5 * erfc(-t / sqrt(2)).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfc, ndtri

from ref.core.registry import implements

__all__ = ["compand_scale", "latent_max", "compand", "expand", "quantize", "to_symbols",
           "from_symbols"]


@implements("moc.C7")
def compand_scale(bits: int = 8) -> float:
    """s = (2^(b-1) - 1) / 1.85."""
    return (2 ** (bits - 1) - 1) / 1.85


@implements("moc.C7")
def latent_max(bits: int = 8) -> float:
    """Lmax = 2^(b-1) - 1 + 0.5 - 1e-3 (rounds to at most 2^(b-1) - 1)."""
    return 2 ** (bits - 1) - 1 + 0.5 - 1e-3


@implements("moc.compand")
def compand(z: jax.Array, bits: int = 8) -> jax.Array:
    """compand(z) = 2 Lmax (Phi(z / s) - 1/2); z: any shape, float -> same shape/dtype."""
    s = jnp.asarray(compand_scale(bits), z.dtype)
    lm = jnp.asarray(latent_max(bits), z.dtype)
    phi = 0.5 * erfc(-(z / s) / jnp.asarray(math.sqrt(2.0), z.dtype))
    return 2.0 * lm * (phi - 0.5)


@implements("moc.expand")
def expand(q: jax.Array, bits: int = 8) -> jax.Array:
    """expand(q) = s Phi^-1(clip(q / (2 Lmax) + 1/2, 1e-4, 1 - 1e-4)) (inverse companding)."""
    s = jnp.asarray(compand_scale(bits), q.dtype)
    lm = jnp.asarray(latent_max(bits), q.dtype)
    u = jnp.clip(q / (2.0 * lm) + 0.5, 1e-4, 1.0 - 1e-4)
    return s * ndtri(u)


@implements("moc.quantize", "moc.C15")
def quantize(y: jax.Array, *, train: bool = False, key: jax.Array | None = None) -> jax.Array:
    """Inference: round half to even.  Training: y + U(-1/2, 1/2) (additive-noise proxy).

    ``key`` (a jax PRNG key) is required when ``train`` is True.  Output dtype = y.dtype.
    """
    if train:
        if key is None:
            raise ValueError("quantize(train=True) needs a PRNG key")
        return y + jax.random.uniform(key, y.shape, y.dtype, -0.5, 0.5)
    return jnp.round(y)


@implements("moc.C8")
def to_symbols(q, bits: int = 8) -> np.ndarray:
    """Integer latent q in [-(2^(b-1)-1), 2^(b-1)-1] -> uint8 symbol q + 2^(b-1)."""
    qi = np.asarray(q)
    lim = 2 ** (bits - 1) - 1
    if qi.size and (qi.min() < -lim or qi.max() > lim):
        raise ValueError(f"latent outside [-{lim}, {lim}]")
    return (qi.astype(np.int32) + 2 ** (bits - 1)).astype(np.uint8)


@implements("moc.C8")
def from_symbols(sym: np.ndarray, bits: int = 8) -> np.ndarray:
    """uint8 symbol -> integer latent (float32): sym - 2^(b-1)."""
    return (np.asarray(sym).astype(np.int32) - 2 ** (bits - 1)).astype(np.float32)
