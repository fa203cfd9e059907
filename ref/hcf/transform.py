"""Transform modules phi_{k->k-1} of the cascade (paper 001, Fig. 2b; spec/hcf-cascade.md hcf.phi,
hcf.C20, hcf.C21).

One architecture, two parameter sets per level pair: phi^inter (trained on quantised input,
eq. 6) and phi^intra (unquantised input, eq. 7).  With C = M_k, h = C/2, C' = M_{k-1}
([hcf.C20], every conv stride 1, zero padding k//2):

    t1 = lrelu(conv3x3(x; C -> h))          "down"    channel x1/2
    t2 = RB_GDN(t1; h)                      "rb_gdn"  [core.resblock_gdn], GDN (not IGDN)
    t3 = AB(t2; h)                          "attn"    [core.attention_block]
    t4 = RB(t3; h)                          "rb"      [core.resblock], LeakyReLU
    t5 = lrelu(conv3x3(t4; h -> C))         "up"      channel x2
    y  = conv3x3(x + t5; C -> C')           "out"     M_k -> M_{k-1}

x: (B, H, W, M_k) float32 latent of level k; y: (B, H, W, M_{k-1}).  C must be a multiple
of 4 (the attention block halves h once more).  Parameter pytree: {"down", "rb_gdn", "attn",
"rb", "up", "out"}; a level pair's modules are {"inter": phi params, "intra": phi params}.

Cost (ref.hcf.complexity): every layer runs at the latent resolution, so MACs per latent
position equal the number of conv weights plus the GDN's h^2 -- for C = C' = 96,
298,368 MACs per latent position (1,165.5 per image pixel at 1/16 x 1/16 resolution).
"""

from __future__ import annotations

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core.errors import InputError
from ref.core.layers import (attention_block, conv, init_attention_block, init_conv, init_residual_block,
                             init_residual_block_gdn, leaky_relu, residual_block, residual_block_gdn)
from ref.core.registry import implements

PHI_KEYS = ("down", "rb_gdn", "attn", "rb", "up", "out")
PROCESS_TYPES = ("inter", "intra")

__all__ = ["PHI_KEYS", "PROCESS_TYPES", "phi", "phi_jit", "init_phi", "init_phi_pair", "init_cascade_modules",
           "phi_widths"]


def _check_width(m_in: int, m_out: int) -> None:
    for name, v in (("M_k", m_in), ("M_{k-1}", m_out)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if m_in % 4:
        raise InputError(f"phi needs M_k divisible by 4 (attention at M_k/2 halves again), got {m_in}")


def phi_widths(p: dict) -> tuple[int, int]:
    """(M_k, M_{k-1}) of a phi parameter pytree (from the "down" and "out" conv shapes)."""
    return int(p["down"]["w"].shape[2]), int(p["out"]["w"].shape[3])


@implements("hcf.phi", "hcf.C20")
def phi(p: dict, x):
    """phi_{k->k-1}(x) (Fig. 2b as pinned by [hcf.C20]):

        t1 = lrelu(conv3x3(x; C -> C/2));  t2 = RB_GDN(t1);  t3 = AB(t2);  t4 = RB(t3)
        t5 = lrelu(conv3x3(t4; C/2 -> C));  y = conv3x3(x + t5; C -> C')

    p: phi params {"down", "rb_gdn", "attn", "rb", "up", "out"} (:func:`init_phi`).
    x: (B, H, W, M_k) float latent (quantised for phi^inter, unquantised for phi^intra).
    Returns (B, H, W, M_{k-1}) in x's dtype.
    """
    m_in, _ = phi_widths(p)
    if x.ndim != 4 or x.shape[-1] != m_in:
        raise InputError(f"phi expects a latent (B, H, W, {m_in}), got {tuple(x.shape)}")
    t = leaky_relu(conv(p["down"], x))
    t = residual_block_gdn(p["rb_gdn"], t)
    t = attention_block(p["attn"], t)
    t = residual_block(p["rb"], t)
    t = leaky_relu(conv(p["up"], t))
    return conv(p["out"], x + t)


phi_jit = jax.jit(phi)


@implements("hcf.C20")
def init_phi(key, m_in: int, m_out: int, dtype=jnp.float32) -> dict:
    """Random phi params for M_k = m_in -> M_{k-1} = m_out (PyTorch default conv init, GDN at
    beta = 1, gamma = 0.1 I; ref.core.layers).  Not normative: trained weights are.

    key: jax PRNG key; m_in divisible by 4.
    """
    _check_width(m_in, m_out)
    h = m_in // 2
    k = jax.random.split(key, 6)
    return {"down": init_conv(k[0], 3, m_in, h, dtype), "rb_gdn": init_residual_block_gdn(k[1], h, h, 1, dtype),
            "attn": init_attention_block(k[2], h, dtype), "rb": init_residual_block(k[3], h, h, dtype),
            "up": init_conv(k[4], 3, h, m_in, dtype), "out": init_conv(k[5], 3, m_in, m_out, dtype)}


@implements("hcf.C20")
def init_phi_pair(key, m_in: int, m_out: int, dtype=jnp.float32) -> dict:
    """{"inter": phi params, "intra": phi params}: the two separately trained modules of one
    level pair (k, k-1) (eqs. 6, 7); independent keys."""
    k_inter, k_intra = jax.random.split(key)
    return {"inter": init_phi(k_inter, m_in, m_out, dtype), "intra": init_phi(k_intra, m_in, m_out, dtype)}


def init_cascade_modules(key, widths: dict[int, int], s: int, d: int, dtype=jnp.float32) -> dict[int, dict]:
    """Modules of a cascade s -> d: {k: init_phi_pair(M_k -> M_{k-1})} for k = s .. d+1.

    widths: {level: M_level} for every level d..s (e.g. {k: config_for(k).M}).
    """
    if not (isinstance(s, int) and isinstance(d, int) and s >= d >= 1):
        raise InputError(f"need s >= d >= 1, got s={s!r}, d={d!r}")
    missing = [k for k in range(d, s + 1) if k not in widths]
    if missing:
        raise InputError(f"widths lacks levels {missing}")
    keys = jax.random.split(key, max(s - d, 1))
    return {k: init_phi_pair(keys[s - k], widths[k], widths[k - 1], dtype) for k in range(s, d, -1)}
