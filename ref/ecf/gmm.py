"""Gaussian mixture entropy model of ecf ([ecf.gmm], [ecf.C9]): g_e's raw outputs -> the
mixture (weights, means on the mean grid, bounded scales) -> likelihood of a latent value.

    w      = softmax(w_logits)                       over the k components
    mu_g   = round_half_even(mu * M_g) / M_g         (straight-through; = mean_idx / M_g, [core.C5])
    sigma  = exp(clip(t, ln s_0, ln s_63))           (s = the [core.C4] scale table, 0.11 .. 256)
    P(v)   = sum_j w_j [Phi((v - mu_g,j + 1/2) / sigma_j) - Phi((v - mu_g,j - 1/2) / sigma_j)]
             then max(P, 1e-9)                        ([core.lik_gmm])
    bits   = sum -log2 P(v)

sigma = exp of a channel (not softplus): the scale table is log-spaced, so the [core.C4]
scale index of sigma is a set of thresholds on t itself -- what an integer g_e can compare
its accumulator with (ref.ecf.int_model).
"""

from __future__ import annotations

import math

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core import entropy_models as E
from ref.core import tables as T
from ref.core.quantization import snap_mean
from ref.core.registry import implements

#: [ecf.C9] bounds of the log-scale channel: ln of the first and last scale-table entries.
LOG_SCALE_MIN = math.log(float(T.scale_table()[0]))
LOG_SCALE_MAX = math.log(float(T.scale_table()[-1]))

__all__ = ["LOG_SCALE_MIN", "LOG_SCALE_MAX", "bounded", "gmm_params", "gmm_likelihood", "gmm_bits"]


@jax.custom_vjp
def bounded(t, lo: float, hi: float):
    """clip(t, lo, hi) whose gradient passes where t is inside [lo, hi] or where gradient descent
    moves t back inside (CompressAI LowerBound, on both sides).  t: float array."""
    return jnp.clip(t, lo, hi)


def _b_fwd(t, lo, hi):
    return jnp.clip(t, lo, hi), (t, lo, hi)


def _b_bwd(res, g):
    t, lo, hi = res
    passes = ((t >= lo) | (g < 0)) & ((t <= hi) | (g > 0))
    return jnp.where(passes, g, jnp.zeros_like(g)), None, None


bounded.defvjp(_b_fwd, _b_bwd)


@implements("ecf.C9")
def gmm_params(w_logits, mu, t):
    """Raw g_e outputs -> (w_logits, mu, sigma): sigma = exp(clip(t, ln 0.11, ln 256)) ([ecf.C9]).
    All (..., p_cs, k) float32; w_logits and mu pass unchanged."""
    return w_logits, mu, jnp.exp(bounded(t, LOG_SCALE_MIN, LOG_SCALE_MAX))


@implements("ecf.gmm")
def gmm_likelihood(v, w_logits, mu, sigma, mean_grid: int = 8):
    """P(v) of [ecf.gmm]: k-component discretised Gaussian mixture with weights softmax(w_logits),
    means snapped to the grid 1/mean_grid (straight-through) and scales sigma (>= 0.11).

    v: (...) float (a latent value, or value + uniform noise in training); w_logits, mu, sigma:
    (..., k).  Returns (...) float, >= 1e-9.
    """
    return E.gmm_likelihood(v, w_logits, snap_mean(mu, mean_grid), sigma)


def gmm_bits(v, w_logits, mu, sigma, mean_grid: int = 8):
    """sum over all elements of -log2 gmm_likelihood(...) (float scalar)."""
    return -jnp.sum(jnp.log2(gmm_likelihood(v, w_logits, mu, sigma, mean_grid)))
