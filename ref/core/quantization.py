"""Quantisation of latents: rounding (coding), additive noise and straight-through (training).

All are pure JAX functions.  The coding path uses :func:`quantize` (round half to even,
[core.C1]); the training proxies are :func:`add_uniform_noise` and :func:`ste_round`.  Latents
coded with a mean (the hyperprior's y) use the one conditional quantiser of [core.C31]:
:func:`ste_round_with_mean` in training, ``entropy_models.quantize_conditional`` in coding.
"""

from __future__ import annotations

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 + highest matmul precision even if jax was imported first

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core.registry import implements


@implements("core.quant_round", "core.C1")
def quantize(x):
    """y_hat = round(x), ties to even ([core.C1]): round(0.5) = 0, round(1.5) = 2, round(-0.5) = -0.

    x: float array (any shape).  Returns the same dtype (integral values).  Use
    :func:`to_symbols` for the int64 symbols the coder sees.  Same rule as numpy.rint,
    jnp.round, torch.round (CompressAI) and IEEE 754 roundTiesToEven.
    """
    return jnp.round(x)


def quantize_np(x) -> np.ndarray:
    """NumPy twin of :func:`quantize` (np.rint, ties to even), for host-side index code."""
    return np.rint(np.asarray(x))


def to_symbols(x) -> np.ndarray:
    """Integer symbols int64 = round_half_even(x) (host side; x finite)."""
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    if not np.all(np.isfinite(a)):
        from ref.core.errors import InputError

        raise InputError("cannot quantise non-finite values")
    return np.rint(a).astype(np.int64)


@implements("core.quant_noise")
def add_uniform_noise(key, x):
    """y_tilde = x + u,  u ~ U(-1/2, 1/2) i.i.d. (training proxy of rounding).

    key: jax PRNG key (explicit); x: float array.  u is drawn as
    jax.random.uniform(key, x.shape, x.dtype, -0.5, 0.5), so the result is a pure function of
    (key, x) and reproducible across platforms (threefry, partitionable pinned by ``ref``).
    """
    u = jax.random.uniform(key, jnp.shape(x), dtype=jnp.result_type(x), minval=-0.5, maxval=0.5)
    return x + u


@implements("core.quant_ste")
def ste_round(x):
    """Straight-through rounding: value round(x) (ties to even), gradient d/dx = 1.

    Implemented as x + stop_gradient(round(x) - x).
    """
    return x + jax.lax.stop_gradient(jnp.round(x) - x)


@implements("core.C31")
def snap_mean(mean, mean_grid: int):
    """Mean on the grid 1/M with a straight-through gradient: value round_half_even(mean * M) / M
    (= mean_idx / M of [core.C5]), gradient d/dmean = 1.  mean: float array; M in 1..1024."""
    M = float(mean_grid)
    return mean + jax.lax.stop_gradient(jnp.round(mean * M) / M - mean)


@implements("core.C31", "core.quant_ste")
def ste_round_with_mean(x, mean, mean_grid: int):
    """Training form of the conditional quantiser [core.C31]: value round(x - mu_g) + mu_g with
    mu_g = snap_mean(mean, M); gradient 1 w.r.t. x and 0 w.r.t. mean (straight through, the
    value's gradient is that of (x - mu_g) + mu_g = x; the mean learns through the rate term).

    Same value as coding (``entropy_models.quantize_conditional`` then ``dequantize_conditional``)
    whenever the indices' mean equals mu_g.  x, mean: float arrays (broadcast); mean_grid: M.
    """
    mu = snap_mean(mean, mean_grid)
    return ste_round(x - mu) + mu
