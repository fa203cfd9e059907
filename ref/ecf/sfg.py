"""Skipping First coding Group, SFG ([ecf.sfg]): the coding schedule of the 2 N_cs groups.

    group 0          : entropy parameters from the hyperprior alone (context input = 0)
    group g >= 1     : context = output slot g - 1 of the context model, whose input slots are
                       groups 0 .. 2 N_cs - 2 (the last group is never a context input)
    context steps    : 2 N_cs - 1 (decoder), one single pass over 2 N_cs - 1 slots (encoder)

Not an equivalence: the paper replaces a start token by "hyperprior only" for group 0 (a
model change).  What is proven (tests/ecf/test_equivalence.py): the context of group g
depends on groups < g only, and dropping the last slot leaves every other slot unchanged.
"""

from __future__ import annotations

import jax.numpy as jnp

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.ecf.context_model import ContextConfig, context_forward, egr_geometry
from ref.ecf.kv_cache import context_step, init_cache


@implements("ecf.sfg")
def context_steps(n_cs: int) -> int:
    """Number of context-model steps of a decoder: 2 N_cs - 1."""
    return 2 * int(n_cs) - 1


def _check_groups(cfg: ContextConfig, r_hat):
    if r_hat.ndim != 5 or r_hat.shape[1] != cfg.n_groups or r_hat.shape[-1] != cfg.p_cs:
        raise InputError(f"groups must be (B, 2 N_cs={cfg.n_groups}, H, W/2, p_cs={cfg.p_cs}), got {tuple(r_hat.shape)}")


@implements("ecf.sfg", "ecf.egr")
def encoder_contexts(params: dict, cfg: ContextConfig, r_hat):
    """Encoder: all groups known.  r_hat (B, 2 N_cs, H, W/2, p_cs) (ref.ecf.egr.egr_pack of the
    segments) -> contexts (B, 2 N_cs, H, W/2, d_out); contexts[:, 0] = 0 (group 0: hyperprior
    only), contexts[:, g] = slot g - 1 of one masked pass over slots 0 .. 2 N_cs - 2."""
    _check_groups(cfg, r_hat)
    T = context_steps(cfg.n_cs)
    out = context_forward(params, cfg, egr_geometry(cfg, T), jnp.asarray(r_hat)[:, :T])
    return jnp.concatenate([jnp.zeros_like(out[:, :1]), out], axis=1)


@implements("ecf.sfg", "ecf.kv")
def decoder_contexts(params: dict, cfg: ContextConfig, grid: tuple[int, int, int], decode_group):
    """Decoder: groups arrive one by one.  grid = (B, H, W/2) of the packed groups.
    decode_group(g, context (B, H, W/2, d_out) float32) must return group g's decoded contents
    (B, H, W/2, p_cs) (it runs g_e + the entropy decoder); the context of group 0 is zeros.
    Runs 2 N_cs - 1 cached context steps; returns (groups (B, 2 N_cs, H, W/2, p_cs),
    contexts (B, 2 N_cs, H, W/2, d_out))."""
    T = context_steps(cfg.n_cs)
    geo = egr_geometry(cfg, T)
    cache = init_cache(cfg)
    ctx = jnp.zeros(tuple(grid) + (cfg.d_out,), jnp.float32)
    groups, contexts = [], []
    for g in range(cfg.n_groups):
        contexts.append(ctx)
        content = jnp.asarray(decode_group(g, ctx), jnp.float32)
        groups.append(content)
        if g < T:
            ctx, cache = context_step(params, cfg, geo, cache, content, g)
    return jnp.stack(groups, axis=1), jnp.stack(contexts, axis=1)
