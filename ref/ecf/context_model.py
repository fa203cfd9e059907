"""eContextformer context model g_c: L Swin layers alternating W-SCA and SW-SCA ([ecf.cm]).

    tokens   x_0 = embed(slot contents)            linear p_cs -> d_e        (per token)
    layer l  x   = x + P( MHA_l( LN(x) ) )         windows K x K/2 on the EGR grid, shifted by
                                                   (K/2, K/4) when l is odd (SW-SCA)   [ecf.1a-1b]
             x   = x + MLP( LN(x) )                d_e -> 4 d_e -> d_e, GELU (exact erf form, as Swin)
    output   c   = head( LN(x) )                   linear d_e -> d_out
    slot t (holding group t) -> context of group t + 1                              [ecf.sfg]

Float32 JAX, explicit parameter pytree (plain nested dicts), pure functions.  The same layer
runs on either layout ("egr": slots = groups on the packed H x W/2 grid; "plain": slots =
channel segments on the H x W grid with K x K windows) -- they are equal ([ecf.egr]).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.ecf.egr import egr_window_coords, plain_window_coords
from ref.ecf.masks import ORDERS
from ref.ecf.window_attention import (bias_table_size, masked_multihead_attention, relative_position_index,
                                      shifted_window_regions, window_attention_mask, window_partition,
                                      window_reverse)

LN_EPS = 1e-5


@implements("ecf.C2")
@dataclass(frozen=True)
class ContextConfig:
    """Context-model hyper-parameters ([ecf.C2]; paper defaults: N_cs = 4, K = 8, L = 8,
    d_e = 8 M / N_cs = 8 p_cs, d_mlp = 4 d_e, h = 12).

    n_cs: channel segments N_cs; p_cs: channels per segment (C = N_cs p_cs); K: spatial
    attention span (K x K unpacked, K x K/2 packed window; K mod 4 = 0); layers: L; d_e:
    embedding size; heads: h (d_e mod h = 0); mlp_ratio: d_mlp / d_e; d_out: context features
    per token handed to g_e; order: "sfo" | "cfo".
    """

    n_cs: int = 4
    p_cs: int = 48
    K: int = 8
    layers: int = 8
    d_e: int = 384
    heads: int = 12
    mlp_ratio: int = 4
    d_out: int = 384
    order: str = "sfo"

    def __post_init__(self):
        if self.n_cs < 1 or self.p_cs < 1 or self.layers < 1 or self.d_out < 1:
            raise InputError("n_cs, p_cs, layers, d_out must be >= 1")
        if self.K < 4 or self.K % 4:
            raise InputError(f"K = {self.K} must be a positive multiple of 4 ([ecf.C6]: EGR shift K/4)")
        if self.d_e % self.heads:
            raise InputError(f"d_e = {self.d_e} is not a multiple of heads = {self.heads}")
        if self.order not in ORDERS:
            raise InputError(f"order {self.order!r} not one of {ORDERS}")

    @property
    def n_groups(self) -> int:
        return 2 * self.n_cs


# --------------------------------------------------------------------------- parameters
def _dense(key, n_in: int, n_out: int, std: float = 0.02) -> dict:
    return {"w": std * jax.random.truncated_normal(key, -2.0, 2.0, (n_in, n_out), jnp.float32),
            "b": jnp.zeros((n_out,), jnp.float32)}


def _ln(d: int) -> dict:
    return {"g": jnp.ones((d,), jnp.float32), "b": jnp.zeros((d,), jnp.float32)}


@implements("ecf.cm")
def init_context_model(key, cfg: ContextConfig) -> dict:
    """Parameter pytree: {"embed", "layers": [ {ln1, qkv, rel_bias, proj, ln2, fc1, fc2} ] * L,
    "ln_out", "head"}; dense = {"w": (n_in, n_out), "b": (n_out,)}; rel_bias float32
    ((2 N_cs - 1)(2K - 1)^2, h).  Weights ~ truncated normal(0, 0.02) as Swin, biases 0."""
    keys = jax.random.split(key, 2 + 5 * cfg.layers)
    d, m = cfg.d_e, cfg.mlp_ratio * cfg.d_e
    layers = []
    for l in range(cfg.layers):
        k = keys[2 + 5 * l: 7 + 5 * l]
        layers.append({"ln1": _ln(d), "qkv": _dense(k[0], d, 3 * d), "proj": _dense(k[1], d, d),
                       "rel_bias": 0.02 * jax.random.truncated_normal(
                           k[2], -2.0, 2.0, (bias_table_size(cfg.n_cs, cfg.K), cfg.heads), jnp.float32),
                       "ln2": _ln(d), "fc1": _dense(k[3], d, m), "fc2": _dense(k[4], m, d)})
    return {"embed": _dense(keys[0], cfg.p_cs, d), "layers": layers, "ln_out": _ln(d),
            "head": _dense(keys[1], d, cfg.d_out)}


def dense(p: dict, x):
    return x @ p["w"] + p["b"]


def layer_norm(p: dict, x):
    """LN over the last axis: (x - mean) / sqrt(var + 1e-5) * g + b (biased variance)."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + LN_EPS) * p["g"] + p["b"]


def mlp(p: dict, x):
    return dense(p["fc2"], jax.nn.gelu(dense(p["fc1"], x), approximate=False))


# --------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class Geometry:
    """Where the tokens of one layout are: window (kh, kw), shift (sh, sw) of SW-SCA layers,
    coords (S, 4) = (slot, segment, row, unpacked column) of the S window tokens, n_slots."""

    kh: int
    kw: int
    sh: int
    sw: int
    coords: np.ndarray
    n_slots: int

    @property
    def slots(self) -> np.ndarray:
        return self.coords[:, 0]


@implements("ecf.egr", "ecf.C6")
def egr_geometry(cfg: ContextConfig, n_slots: int) -> Geometry:
    """EGR layout: window K x K/2, shift (K/2, K/4) ([ecf.C6]), slots = groups 0..n_slots-1."""
    K = cfg.K
    return Geometry(K, K // 2, K // 2, K // 4, egr_window_coords(cfg.n_cs, K, cfg.order, n_slots), n_slots)


def plain_geometry(cfg: ContextConfig) -> Geometry:
    """Unoptimised layout: slots = channel segments on H x W, window K x K, shift (K/2, K/2);
    a token's causal slot is its coding group (ref.ecf.masks.group_index)."""
    K = cfg.K
    return Geometry(K, K, K // 2, K // 2, plain_window_coords(cfg.n_cs, K, cfg.order), cfg.n_cs)


# --------------------------------------------------------------------------- layers
def attention_inputs(p_layer: dict, cfg: ContextConfig, geo: Geometry, x, shifted: bool):
    """LN, cyclic shift, window partition, q/k/v: x (B, T, H, W, d) -> q, k, v (B nW, S, d)."""
    h = layer_norm(p_layer["ln1"], x)
    if shifted:
        h = jnp.roll(h, (-geo.sh, -geo.sw), axis=(2, 3))
    hw = window_partition(h, geo.kh, geo.kw)
    q, k, v = jnp.split(dense(p_layer["qkv"], hw), 3, axis=-1)
    return q, k, v


def attention_output(p_layer: dict, geo: Geometry, a, x, shifted: bool):
    """Projection, window reverse, inverse shift, residual, MLP block: -> new x."""
    B, T, H, W, _ = x.shape
    a = window_reverse(dense(p_layer["proj"], a), geo.kh, geo.kw, B, T, H, W)
    if shifted:
        a = jnp.roll(a, (geo.sh, geo.sw), axis=(2, 3))
    x = x + a
    return x + mlp(p_layer, layer_norm(p_layer["ln2"], x))


def bias_and_mask(p_layer: dict, cfg: ContextConfig, geo: Geometry, H: int, W: int, B: int, shifted: bool,
                  q_tokens: slice = slice(None), k_tokens: slice = slice(None)):
    """Relative bias (heads, Sq, Sk) and additive mask (B nW, Sq, Sk) for query / key token
    ranges of the window token list (the cached decoder asks for one slot's queries)."""
    cq, ck = geo.coords[q_tokens], geo.coords[k_tokens]
    idx = relative_position_index(cq, ck, cfg.n_cs, cfg.K)
    bias = jnp.transpose(p_layer["rel_bias"][idx], (2, 0, 1))
    region = shifted_window_regions(H, W, geo.kh, geo.kw, geo.sh if shifted else 0, geo.sw if shifted else 0)
    rq = np.tile(region, (1, geo.n_slots))[:, q_tokens]
    rk = np.tile(region, (1, geo.n_slots))[:, k_tokens]
    mask = window_attention_mask(rq, rk, cq[:, 0], ck[:, 0])
    return bias, jnp.asarray(np.tile(mask, (B, 1, 1)))


@implements("ecf.cm", "ecf.1a", "ecf.1b")
def sca_layer(p_layer: dict, cfg: ContextConfig, geo: Geometry, x, shifted: bool):
    """One W-SCA (shifted = False) or SW-SCA (shifted = True) layer, single pass over all
    slots with the causal mask: x (B, T, H, W, d_e) -> same shape."""
    B, T, H, W, _ = x.shape
    q, k, v = attention_inputs(p_layer, cfg, geo, x, shifted)
    bias, mask = bias_and_mask(p_layer, cfg, geo, H, W, B, shifted)
    a = masked_multihead_attention(q, k, v, bias, mask, cfg.heads)
    return attention_output(p_layer, geo, a, x, shifted)


def _check_tokens(cfg: ContextConfig, x, what: str):
    if x.ndim != 5 or x.shape[-1] != cfg.p_cs:
        raise InputError(f"{what} must be (B, T, H, W, p_cs={cfg.p_cs}), got {tuple(x.shape)}")


@implements("ecf.cm")
def context_forward(params: dict, cfg: ContextConfig, geo: Geometry, contents):
    """Single-pass masked forward: slot contents (B, T, H, W, p_cs) -> contexts (B, T, H, W, d_out).

    Token (t, h, w) of the output depends only on tokens of slots <= t (mask [ecf.C3]).
    """
    _check_tokens(cfg, contents, "slot contents")
    if contents.shape[2] % geo.kh or contents.shape[3] % geo.kw:
        raise InputError(f"latent grid {contents.shape[2]}x{contents.shape[3]} is not a multiple of the "
                         f"{geo.kh}x{geo.kw} window ([ecf.C6])")
    x = dense(params["embed"], jnp.asarray(contents, jnp.float32))
    for l, p_layer in enumerate(params["layers"]):
        x = sca_layer(p_layer, cfg, geo, x, shifted=bool(l % 2))
    return dense(params["head"], layer_norm(params["ln_out"], x))
