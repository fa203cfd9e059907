"""moc synthesis transform: an N-D vision transformer with ReLU linear attention.

The decoder of LiVeAction (talk 002, "ND-generalized ViT decoder with linear attention"):
tokens are latent positions, so one implementation serves 1-D (audio), 2-D (images) and
3-D (volumes) latent grids.  There is **no position encoding** and **no batch norm**:
the only normalisation is LayerNorm over each token's features, and the attention is
permutation-equivariant, so the network never needs to know the grid's shape beyond
(un)patchifying.  Spec: ``spec/moc.md`` section "Decoder and training"
(moc.decoder_tokens, moc.linear_attention, moc.decoder_block, moc.decoder_attn,
moc.decoder, moc.C20 ... moc.C24).

Parameters are a plain nested dict of float32 arrays (no framework objects), so a porter
can read ``ref/weights/moc_*.safetensors`` with any safetensors reader; the flat key
names are ``"/".join(path)`` (e.g. ``block_0/attn/wq``).  All functions here are pure.

Shapes (one signal; batch with ``jax.vmap``):

* latent ``z``: (*S, Cl) float32, S = latent grid (D axes), Cl = latent channels;
* output: (*S, Cw) float32, Cw = cfg.wpt_channels (WPT coefficients, channel order of
  ``ref.moc.wpt``).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ref.core.registry import implements

F32 = jnp.float32

#: epsilon added to the linear-attention denominator (moc.C21)
ATTN_EPS = 1e-6
#: LayerNorm epsilon (moc.C22)
LN_EPS = 1e-5

Params = dict[str, Any]


# --------------------------------------------------------------------------- tokens
@implements("moc.decoder_tokens", "moc.C20")
def patchify(z: jax.Array, p: int) -> jax.Array:
    """Latent grid -> tokens.  z: (*S, C) with every S_i divisible by p; returns (N, p^D * C).

    N = prod(S_i / p).  Tokens are in C order (row-major) over the coarse grid; the
    features of one token are the p^D * C values of its patch in row-major order over
    (within-patch offsets..., channel).  p = 1 makes every latent position a token.
    """
    S = z.shape[:-1]
    C = z.shape[-1]
    D = len(S)
    if any(s % p for s in S):
        raise ValueError(f"latent grid {S} not divisible by patch {p}")
    shape = []
    for s in S:
        shape += [s // p, p]
    t = z.reshape(*shape, C)
    # axes: coarse_0, fine_0, coarse_1, fine_1, ..., C -> coarse..., fine..., C
    order = [2 * i for i in range(D)] + [2 * i + 1 for i in range(D)] + [2 * D]
    t = jnp.transpose(t, order)
    n = int(np.prod([s // p for s in S]))
    return t.reshape(n, (p**D) * C)


@implements("moc.decoder_tokens")
def unpatchify(t: jax.Array, grid: tuple[int, ...], p: int, C: int) -> jax.Array:
    """Inverse of :func:`patchify`: tokens (N, p^D * C) -> (*grid, C), grid = latent shape S."""
    D = len(grid)
    coarse = [s // p for s in grid]
    x = t.reshape(*coarse, *([p] * D), C)
    order = []
    for i in range(D):
        order += [i, D + i]
    order.append(2 * D)
    x = jnp.transpose(x, order)
    return x.reshape(*grid, C)


# --------------------------------------------------------------------------- layers
@implements("moc.C22")
def layer_norm(x: jax.Array, g: jax.Array, b: jax.Array) -> jax.Array:
    """LayerNorm over the last axis: (x - mean) / sqrt(var + 1e-5) * g + b (biased var)."""
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + jnp.asarray(LN_EPS, x.dtype)) * g + b


@implements("moc.C22")
def gelu(x: jax.Array) -> jax.Array:
    """Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (not the tanh approximation)."""
    return jax.nn.gelu(x, approximate=False)


@implements("moc.linear_attention", "moc.C21")
def linear_attention(q: jax.Array, k: jax.Array, v: jax.Array, eps: float = ATTN_EPS) -> jax.Array:
    """ReLU linear attention, O(N d^2).

    q, k: (..., N, dk); v: (..., N, dv); returns (..., N, dv)::

        phi = ReLU
        KV  = sum_j phi(k_j) v_j^T            (dk, dv)
        ks  = sum_j phi(k_j)                   (dk,)
        out_i = (phi(q_i)^T KV) / (phi(q_i) . ks + eps)

    eps = 1e-6 (moc.C21) is added to the denominator only; a query whose phi(q_i) is all
    zero therefore gives out_i = 0.  Sums run over every token j (global, non-causal).
    """
    fq = jax.nn.relu(q)
    fk = jax.nn.relu(k)
    kv = jnp.einsum("...nk,...nv->...kv", fk, v)
    ks = jnp.sum(fk, axis=-2)
    num = jnp.einsum("...nk,...kv->...nv", fq, kv)
    den = jnp.einsum("...nk,...k->...n", fq, ks)[..., None] + jnp.asarray(eps, q.dtype)
    return num / den


def linear_attention_quadratic(q, k, v, eps: float = ATTN_EPS):
    """The same formula evaluated directly in O(N^2) (for tests):
    out_i = sum_j (phi(q_i).phi(k_j)) v_j / (sum_j phi(q_i).phi(k_j) + eps)."""
    fq = jax.nn.relu(q)
    fk = jax.nn.relu(k)
    a = jnp.einsum("...ik,...jk->...ij", fq, fk)
    return jnp.einsum("...ij,...jv->...iv", a, v) / (jnp.sum(a, axis=-1, keepdims=True) + eps)


@implements("moc.decoder_attn")
def attention(p: Params, x: jax.Array, heads: int) -> jax.Array:
    """Multi-head ReLU linear attention sub-layer.  x: (N, d) -> (N, d).

    q = x Wq + bq, k = x Wk + bk, v = x Wv + bv (each (N, d)), split into ``heads``
    heads of d/heads features (head h = features [h*dh, (h+1)*dh)); per head
    :func:`linear_attention`; heads concatenated in order; out = concat Wo + bo.
    """
    n, d = x.shape
    dh = d // heads
    q = (x @ p["wq"] + p["bq"]).reshape(n, heads, dh).transpose(1, 0, 2)
    k = (x @ p["wk"] + p["bk"]).reshape(n, heads, dh).transpose(1, 0, 2)
    v = (x @ p["wv"] + p["bv"]).reshape(n, heads, dh).transpose(1, 0, 2)
    o = linear_attention(q, k, v)  # (heads, N, dh)
    o = o.transpose(1, 0, 2).reshape(n, d)
    return o @ p["wo"] + p["bo"]


@implements("moc.decoder_block")
def block(p: Params, x: jax.Array, heads: int) -> jax.Array:
    """Pre-LayerNorm transformer block (no batch norm, no dropout)::

        x = x + Attn(LN1(x))
        x = x + W2 GELU(W1 LN2(x) + b1) + b2
    """
    x = x + attention(p["attn"], layer_norm(x, p["ln1_g"], p["ln1_b"]), heads)
    h = layer_norm(x, p["ln2_g"], p["ln2_b"])
    h = gelu(h @ p["mlp_w1"] + p["mlp_b1"])
    return x + h @ p["mlp_w2"] + p["mlp_b2"]


@implements("moc.decoder", "moc.C23", "moc.C26")
def decoder_forward(params: Params, z: jax.Array, cfg) -> jax.Array:
    """ViT decoder: latent (*S, Cl) -> WPT coefficients (*S, Cw), float32.

    t = patchify(z, P); h = t Win + bin; h = block_L(... block_1(h)); h = LN_f(h);
    y = h Wout + bout + t Wskip; return unpatchify(y).
    P = cfg.decoder_patch, L = cfg.decoder_depth; Wskip ((P^D Cl, P^D Cw), no bias) is a
    linear path from the latent to the output (moc.C23).
    """
    z = jnp.asarray(z, F32)
    grid = tuple(z.shape[:-1])
    if len(grid) != cfg.ndim:
        raise ValueError(f"latent has {len(grid)} grid axes, config says ndim={cfg.ndim}")
    P = cfg.decoder_patch
    t = patchify(z, P)
    h = t @ params["in_proj"]["w"] + params["in_proj"]["b"]
    for i in range(cfg.decoder_depth):
        h = block(params[f"block_{i}"], h, cfg.decoder_heads)
    h = layer_norm(h, params["out_norm"]["g"], params["out_norm"]["b"])
    y = h @ params["out_proj"]["w"] + params["out_proj"]["b"] + t @ params["skip"]["w"]
    return unpatchify(y, grid, P, cfg.wpt_channels)


# --------------------------------------------------------------------------- init
def _dense(key, fan_in: int, fan_out: int, scale: float = 1.0) -> dict[str, jax.Array]:
    """Truncated-normal (±2σ) weights, σ = scale / sqrt(fan_in); zero bias."""
    std = scale / math.sqrt(fan_in)
    w = jax.random.truncated_normal(key, -2.0, 2.0, (fan_in, fan_out), F32) * jnp.asarray(std / 0.87962566, F32)
    return {"w": w, "b": jnp.zeros((fan_out,), F32)}


@implements("moc.C23")
def init_decoder(key: jax.Array, cfg) -> Params:
    """Random decoder parameters for ``cfg`` (training starts here; moc.C23).

    Dense layers: truncated normal, std 1/sqrt(fan_in) (attention output and MLP second
    layer additionally scaled by 1/sqrt(2L)); LayerNorm g = 1, b = 0; ``out_proj`` and
    ``skip`` start at zero (training initialises ``skip`` and ``out_proj.b`` from PCA,
    see ref.moc.train.pca_init)."""
    d = cfg.decoder_dim
    if d % cfg.decoder_heads:
        raise ValueError("decoder_dim must be a multiple of decoder_heads")
    P, D = cfg.decoder_patch, cfg.ndim
    tin = (P**D) * cfg.latent_channels
    tout = (P**D) * cfg.wpt_channels
    hid = cfg.decoder_mlp_ratio * d
    keys = jax.random.split(key, 2 + cfg.decoder_depth)
    depth_scale = 1.0 / math.sqrt(2 * cfg.decoder_depth)
    params: Params = {"in_proj": _dense(keys[0], tin, d)}
    for i in range(cfg.decoder_depth):
        k = jax.random.split(keys[2 + i], 6)
        q, kk, v, o = (_dense(k[j], d, d, depth_scale if j == 3 else 1.0) for j in range(4))
        m1 = _dense(k[4], d, hid)
        m2 = _dense(k[5], hid, d, depth_scale)
        params[f"block_{i}"] = {
            "ln1_g": jnp.ones((d,), F32), "ln1_b": jnp.zeros((d,), F32),
            "attn": {"wq": q["w"], "bq": q["b"], "wk": kk["w"], "bk": kk["b"],
                     "wv": v["w"], "bv": v["b"], "wo": o["w"], "bo": o["b"]},
            "ln2_g": jnp.ones((d,), F32), "ln2_b": jnp.zeros((d,), F32),
            "mlp_w1": m1["w"], "mlp_b1": m1["b"], "mlp_w2": m2["w"], "mlp_b2": m2["b"],
        }
    params["out_norm"] = {"g": jnp.ones((d,), F32), "b": jnp.zeros((d,), F32)}
    params["out_proj"] = {"w": jnp.zeros((d, tout), F32), "b": jnp.zeros((tout,), F32)}
    params["skip"] = {"w": jnp.zeros((tin, tout), F32)}
    return params


def count_params(params: Params) -> int:
    return int(sum(np.size(x) for x in jax.tree_util.tree_leaves(params)))
