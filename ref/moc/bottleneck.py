"""Channel bottleneck: the 1x1 projection from WPT channels to latent channels.

Two forms (spec/moc.md):

* dense 1x1 (moc.bottleneck_dense): ``z = y @ W + b``, W: (N, M) -- N*M MACs per position;
* structured, FFT-inspired 1x1 (moc.bottleneck_structured, choice moc.C6): a two-stage
  block-diagonal ("Monarch"/radix-sqrt(N) butterfly) factorisation with a stride
  permutation between the stages -- N*h + g1*M MACs per position, between N log2 N and
  N^1.5 for the shipped configurations (:func:`structured_macs`).

Params are explicit pytrees (dicts of arrays).  All functions are pure and jittable.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from ref.core.registry import implements

__all__ = [
    "dense_apply", "dense_init", "dense_macs",
    "structured_apply", "structured_init", "structured_macs", "structured_shape",
    "encoder_init", "bottleneck_apply", "bottleneck_macs",
]


# --------------------------------------------------------------------------- dense
@implements("moc.bottleneck_dense")
def dense_apply(p: dict, y: jax.Array) -> jax.Array:
    """Dense 1x1 projection:  z[..., m] = sum_n y[..., n] * W[n, m] + b[m].

    p: {"kernel": (N, M), "bias": (M,)} (bias optional); y: (..., N) -> (..., M).
    """
    z = jnp.matmul(y, p["kernel"].astype(y.dtype), precision=jax.lax.Precision.HIGHEST)
    if "bias" in p:
        z = z + p["bias"].astype(y.dtype)
    return z


@implements("moc.bottleneck_dense")
def dense_macs(n_in: int, n_out: int) -> int:
    """MACs per spatial position of the dense 1x1: N_in * N_out (= 2^(2JD) C^2 / R)."""
    return int(n_in) * int(n_out)


def dense_init(key: jax.Array, n_in: int, n_out: int, bias: bool = True) -> dict:
    """LeCun-normal kernel (std 1/sqrt(N)), zero bias, float32."""
    w = jax.random.normal(key, (n_in, n_out), jnp.float32) / math.sqrt(n_in)
    p = {"kernel": w}
    if bias:
        p["bias"] = jnp.zeros((n_out,), jnp.float32)
    return p


# --------------------------------------------------------------------------- structured
def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@implements("moc.C6")
def structured_shape(n_in: int, n_out: int, blocks: int = 0) -> tuple[int, int, int]:
    """Default factor sizes (g1, g2, h) of the structured 1x1 (normative choice moc.C6).

    g1 = the divisor of N closest to sqrt(N) (the smaller on a tie), g2 = N / g1;
    h  = ``blocks`` if given, else the smallest divisor of M with N*h + g1*M >= N*log2(N)
         (the cost of a radix-2 FFT), or M if none reaches it.
    """
    n, m = int(n_in), int(n_out)
    g1 = min(_divisors(n), key=lambda d: (abs(d - math.sqrt(n)), d))
    g2 = n // g1
    if blocks:
        if m % blocks:
            raise ValueError(f"structured_blocks={blocks} does not divide latent_channels={m}")
        return g1, g2, int(blocks)
    target = n * math.log2(n) if n > 1 else 0
    for h in _divisors(m):
        if n * h + g1 * m >= target:
            return g1, g2, h
    return g1, g2, m


@implements("moc.bottleneck_structured")
def structured_macs(n_in: int, n_out: int, g1: int | None = None, h: int | None = None) -> int:
    """MACs per spatial position of the structured 1x1: N*h (stage A) + g1*M (stage B).

    Stage A: g1 blocks, each (g2 -> h): g1*g2*h = N*h.  Stage B: h blocks, each
    (g1 -> M/h): h*g1*(M/h) = g1*M.  Defaults from :func:`structured_shape`.
    """
    if g1 is None or h is None:
        g1d, _, hd = structured_shape(n_in, n_out)
        g1 = g1d if g1 is None else g1
        h = hd if h is None else h
    return int(n_in) * int(h) + int(g1) * int(n_out)


@implements("moc.bottleneck_structured")
def structured_apply(p: dict, y: jax.Array) -> jax.Array:
    """Structured 1x1 projection (moc.bottleneck_structured).

        u[..., i, k] = sum_j y[..., i*g2 + j] * A[i, j, k]            (stage A, block-diag)
        z[..., k*(M/h) + o] = sum_i u[..., i, k] * Bm[k, i, o] + b    (stride permutation,
                                                                       stage B, block-diag)
    p: {"stage_a": (g1, g2, h), "stage_b": (h, g1, M/h), "bias": (M,)}; y: (..., N).
    """
    A, Bm = p["stage_a"].astype(y.dtype), p["stage_b"].astype(y.dtype)
    g1, g2, h = A.shape
    yy = y.reshape(y.shape[:-1] + (g1, g2))
    u = jnp.einsum("...ij,ijk->...ki", yy, A, precision=jax.lax.Precision.HIGHEST)
    z = jnp.einsum("...ki,kio->...ko", u, Bm, precision=jax.lax.Precision.HIGHEST)
    z = z.reshape(y.shape[:-1] + (h * Bm.shape[2],))
    if "bias" in p:
        z = z + p["bias"].astype(y.dtype)
    return z


def structured_init(key: jax.Array, n_in: int, n_out: int, blocks: int = 0,
                    bias: bool = True) -> dict:
    """Random structured 1x1 (variance-preserving per stage), float32."""
    g1, g2, h = structured_shape(n_in, n_out, blocks)
    ka, kb = jax.random.split(key)
    p = {
        "stage_a": jax.random.normal(ka, (g1, g2, h), jnp.float32) / math.sqrt(g2),
        "stage_b": jax.random.normal(kb, (h, g1, n_out // h), jnp.float32) / math.sqrt(g1),
    }
    if bias:
        p["bias"] = jnp.zeros((n_out,), jnp.float32)
    return p


# --------------------------------------------------------------------------- by config
def encoder_init(key: jax.Array, cfg) -> dict:
    """Random encoder params for ``cfg`` (a :class:`ref.moc.config.MocConfig`)."""
    if cfg.bottleneck == "dense":
        return dense_init(key, cfg.wpt_channels, cfg.latent_channels, cfg.bottleneck_bias)
    if cfg.bottleneck == "structured":
        return structured_init(key, cfg.wpt_channels, cfg.latent_channels,
                               cfg.structured_blocks, cfg.bottleneck_bias)
    raise ValueError(f"unknown bottleneck {cfg.bottleneck!r}")


def bottleneck_apply(p: dict, y: jax.Array, cfg) -> jax.Array:
    """Dispatch on ``cfg.bottleneck``: 'dense' or 'structured'."""
    if cfg.bottleneck == "dense":
        return dense_apply(p, y)
    if cfg.bottleneck == "structured":
        return structured_apply(p, y)
    raise ValueError(f"unknown bottleneck {cfg.bottleneck!r}")


def bottleneck_macs(cfg) -> int:
    """MACs per latent position of the configured bottleneck."""
    if cfg.bottleneck == "structured":
        g1, _, h = structured_shape(cfg.wpt_channels, cfg.latent_channels, cfg.structured_blocks)
        return structured_macs(cfg.wpt_channels, cfg.latent_channels, g1, h)
    return dense_macs(cfg.wpt_channels, cfg.latent_channels)
