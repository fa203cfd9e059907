"""Key-value cached sequential context model: the decoder side of [ecf.kv].

Step t (t = 0 .. 2 N_cs - 2) gets the contents of slot t only (group t, just decoded) and
computes the layers for slot t's tokens:

    per layer l:  q_t, k_t, v_t = qkv(LN(x_t)) on the (shifted) windows of slot t
                  K_l <- [K_l ; k_t],  V_l <- [V_l ; v_t]           (cache, slots 0..t)
                  x_t <- x_t + P(Attn(q_t, K_l, V_l))  with bias / region mask of
                         (slot t) x (slots 0..t); all cached slots are <= t, so the causal
                         mask of [ecf.C3] is satisfied without masking
                  x_t <- x_t + MLP(LN(x_t))
    context of group t + 1 = head(LN(x_t))

Because the single-pass forward never lets slot s see slots > s, the keys / values cached at
step s are exactly those the single pass computes for slot s, and both give the same contexts
in exact arithmetic (float: see spec [ecf.kv] for the tolerance).
"""

from __future__ import annotations

import jax.numpy as jnp

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.ecf.context_model import (ContextConfig, Geometry, attention_inputs, attention_output, bias_and_mask,
                                   dense, layer_norm)
from ref.ecf.window_attention import masked_multihead_attention


def init_cache(cfg: ContextConfig) -> list:
    """Empty cache: one {"k": None, "v": None} per layer."""
    return [{"k": None, "v": None} for _ in range(cfg.layers)]


@implements("ecf.kv")
def context_step(params: dict, cfg: ContextConfig, geo: Geometry, cache: list, contents_t, t: int):
    """One decoder step: slot t contents (B, H, W, p_cs) -> (context of group t + 1
    (B, H, W, d_out), new cache).  ``geo`` is the layout of the full slot sequence
    (:func:`ref.ecf.context_model.egr_geometry`); steps must come in order t = 0, 1, ...
    """
    if contents_t.ndim != 4 or contents_t.shape[-1] != cfg.p_cs:
        raise InputError(f"slot contents must be (B, H, W, p_cs={cfg.p_cs}), got {tuple(contents_t.shape)}")
    if not 0 <= t < geo.n_slots:
        raise InputError(f"step {t} outside the {geo.n_slots} slots")
    S1 = geo.kh * geo.kw                                   # tokens of one slot in one window
    B, H, W, _ = contents_t.shape
    x = dense(params["embed"], jnp.asarray(contents_t, jnp.float32))[:, None]      # (B, 1, H, W, d)
    new_cache = []
    for l, (p_layer, c) in enumerate(zip(params["layers"], cache)):
        shifted = bool(l % 2)
        q, k, v = attention_inputs(p_layer, cfg, geo, x, shifted)
        if (c["k"] is None) != (t == 0) or (c["k"] is not None and c["k"].shape[1] != t * S1):
            raise InputError(f"cache does not hold slots 0..{t - 1} (steps out of order)")
        K = k if c["k"] is None else jnp.concatenate([c["k"], k], axis=1)
        V = v if c["v"] is None else jnp.concatenate([c["v"], v], axis=1)
        bias, mask = bias_and_mask(p_layer, cfg, geo, H, W, B, shifted,
                                   q_tokens=slice(t * S1, (t + 1) * S1), k_tokens=slice(0, (t + 1) * S1))
        a = masked_multihead_attention(q, K, V, bias, mask, cfg.heads)
        x = attention_output(p_layer, geo, a, x, shifted)
        new_cache.append({"k": K, "v": V})
    return dense(params["head"], layer_norm(params["ln_out"], x))[:, 0], new_cache
