"""The moc analysis (encoder) side as one pure function, and the synthesis wrapper.

    analysis(params, x, cfg) = compand( bottleneck( wpt_forward(x) ) )      (moc.analysis)
    q = quantize(analysis(...))                                              (moc.quantize)
    synthesis(params, q, cfg, decode) = wpt_inverse( decode(params, expand(q), cfg) )

``x`` is the normalised signal x = u8 / 255 - 1/2 (moc.C13), shape (..., S_0..S_{D-1}, C)
with every S_i a multiple of 2^J (pad first, moc.C10).  ``params`` is either the encoder
pytree itself or a dict holding it under ``"encoder"`` (the checkpoints of ref.moc.model).
The decoder network (``ref.moc.decoder``) maps expanded latents to WPT coefficients.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp

from ref.core.registry import implements
from ref.moc.bottleneck import bottleneck_apply
from ref.moc.companding import compand, expand, quantize
from ref.moc.wpt import wpt_forward, wpt_inverse

__all__ = ["analysis", "encode_latent", "synthesis", "encoder_params", "spatial_axes"]


def encoder_params(params: dict) -> dict:
    """The encoder sub-pytree of a full checkpoint (or ``params`` itself)."""
    return params["encoder"] if "encoder" in params else params


def spatial_axes(x_ndim: int, cfg) -> tuple[int, ...]:
    """The D spatial axes of an array (..., S_0..S_{D-1}, C): the D axes before the last."""
    return tuple(range(x_ndim - 1 - cfg.ndim, x_ndim - 1))


@implements("moc.analysis")
def analysis(params: dict, x: jax.Array, cfg) -> jax.Array:
    """Encoder transform up to (not including) quantisation.

    x: (..., S_0..S_{D-1}, C) float -> y: (..., S_0/2^J .. S_{D-1}/2^J, latent_channels),
    companded, in quantisation-step units (|y| < 2^(b-1) - 1/2).

    Not one jit: :func:`wpt_forward` runs as its own compiled stages (see its docstring),
    then :func:`_project_compand`.  Inside an outer trace (training) it all inlines.
    """
    w = wpt_forward(x, cfg.wavelet, cfg.levels, spatial_axes(jnp.ndim(x), cfg))
    return _project_compand(params, w, cfg)


@functools.partial(jax.jit, static_argnames=("cfg",))
def _project_compand(params: dict, w: jax.Array, cfg) -> jax.Array:
    return compand(bottleneck_apply(encoder_params(params), w, cfg), cfg.latent_bits)


@implements("moc.analysis", "moc.quantize")
def encode_latent(params: dict, x: jax.Array, cfg) -> jax.Array:
    """Integer latent q = round(analysis(params, x, cfg)) (float array of integers)."""
    return quantize(analysis(params, x, cfg))


def synthesis(params: dict, q: jax.Array, cfg, decode: Callable) -> jax.Array:
    """x_hat = wpt_inverse(decode(params, expand(q), cfg)) for a decoder network ``decode``
    mapping (..., S, latent_channels) -> (..., S, wpt_channels)."""
    w = decode(params, expand(q.astype(jnp.float32), cfg.latent_bits), cfg)
    return wpt_inverse(w, cfg.wavelet, cfg.levels, spatial_axes(w.ndim, cfg))
