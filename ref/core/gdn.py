"""Generalized divisive normalisation (GDN) and its inverse (Balle, Laparra, Simoncelli 2016).

Channels-last layout: ``x`` has shape (..., C).  Parameters are an explicit pytree
``{"beta": (C,), "gamma": (C, C)}`` holding the *stored* (reparametrised) values; the
effective values are ``nonneg(stored)`` as in tensorflow-compression / CompressAI:

    pedestal = reparam_offset**2,  reparam_offset = 2**-18
    value    = lower_bound(p, sqrt(minimum + pedestal))**2 - pedestal
    init(v)  = sqrt(max(v + pedestal, pedestal))
    beta: minimum 1e-6 ; gamma: minimum 0

``lower_bound`` is max(p, bound) with CompressAI's LowerBound gradient: the gradient passes
where p >= bound or where it pushes p up (gradient < 0 under gradient descent).
"""

from __future__ import annotations

from functools import partial

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 + highest matmul precision even if jax was imported first

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core.registry import implements

REPARAM_OFFSET = 2.0**-18
PEDESTAL = REPARAM_OFFSET**2
BETA_MIN = 1e-6
GAMMA_INIT = 0.1


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def lower_bound(x, bound: float):
    """max(x, bound) with the LowerBound gradient (see module docstring)."""
    return jnp.maximum(x, bound)


def _lb_fwd(x, bound):
    return jnp.maximum(x, bound), x


def _lb_bwd(bound, x, g):
    passes = (x >= bound) | (g < 0)
    return (jnp.where(passes, g, jnp.zeros_like(g)),)


lower_bound.defvjp(_lb_fwd, _lb_bwd)


@implements("core.gdn_reparam")
def nonneg(p, minimum: float = 0.0):
    """Effective non-negative value of a stored parameter p:
    value = max(p, sqrt(minimum + pedestal))**2 - pedestal  (LowerBound gradient)."""
    bound = (minimum + PEDESTAL) ** 0.5
    return lower_bound(p, bound) ** 2 - PEDESTAL


def nonneg_init(v):
    """Stored parameter for a desired value v: sqrt(max(v + pedestal, pedestal))."""
    v = jnp.asarray(v)
    return jnp.sqrt(jnp.maximum(v + PEDESTAL, PEDESTAL))


def init_gdn(channels: int, dtype=jnp.float32, gamma_init: float = GAMMA_INIT) -> dict:
    """Stored params for beta = 1, gamma = gamma_init * I (CompressAI's default init)."""
    return {
        "beta": nonneg_init(jnp.ones((channels,), dtype)),
        "gamma": nonneg_init(gamma_init * jnp.eye(channels, dtype=dtype)),
    }


def effective_params(params: dict) -> tuple:
    """(beta (C,), gamma (C, C)) after the non-negative reparametrisation."""
    return nonneg(params["beta"], BETA_MIN), nonneg(params["gamma"], 0.0)


@implements("core.gdn")
def gdn(params: dict, x, *, inverse: bool = False):
    """GDN:  y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)
    IGDN: y_i = x_i * sqrt(beta_i + sum_j gamma_ij x_j^2)

    params: {"beta": (C,), "gamma": (C, C)} stored values (gamma[i, j]: weight of x_j^2 in the
            norm of output channel i, CompressAI's conv weight gamma[i, j, 0, 0]).
    x: (..., C) channels last.  Returns (..., C), dtype of x.
    """
    return _gdn_jit(params, x, inverse)


@partial(jax.jit, static_argnums=2)
def _gdn_jit(params: dict, x, inverse: bool):
    beta, gamma = effective_params(params)
    norm = jnp.einsum("...j,ij->...i", x * x, gamma.astype(x.dtype)) + beta.astype(x.dtype)
    return x * jnp.sqrt(norm) if inverse else x * jax.lax.rsqrt(norm)


def igdn(params: dict, x):
    """Inverse GDN, :func:`gdn` with inverse=True."""
    return gdn(params, x, inverse=True)
