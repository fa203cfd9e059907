"""The integer decoder-critical path of ecf: z_hat, y_hat (integers) -> GMM table indices
(spec/ecf.md "The integer decoder-critical path", [ecf.int_hs] .. [ecf.int_index], [ecf.C21] .. [ecf.C24]).

    psi      = h_s(z_hat)                   integer convs / deconvs, ReLU     [ecf.int_hs]
    x_0      = embed(clip(y_hat slots))     integer linear p_cs -> d_e         [ecf.int_embed]
    x_l+1    = rescale_l(int_block_l(x_l))  windows, Q16 bias, boolean mask    [ecf.int_gc], [core.int_block]
    ctx      = head(LN_out(x_L))            integer LN + linear                [ecf.int_gc]
    acc      = g_e(concat(ctx, psi))        integer dense + ReLU               [ecf.int_ge]
    scale_idx, mean_idx, weight_int         thresholds / multiplier / integer softmax to 2^16
                                                                               [ecf.int_index], [ecf.C23]

Every number is an integer (int64 NumPy; the GEMMs of core.int_attention run in float64 and
are exact by [core.C53]).  The encoder runs g_c once over all context slots with the group
mask ([ecf.C3]); the decoder runs it slot by slot with a key-value cache ([ecf.kv]); because
every operation but attention is per token, every sum is an exact integer, and a masked key
contributes exactly 0 to [core.int_softmax], the two give the same integers (tests).

Parameters: a nested dict of integer NumPy arrays (:class:`IntEcf`, made by
:func:`ref.ecf.int_ptq.from_float`), layout in :func:`check_params`.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.int_attention import RES_MAX, check_block_params, check_linear, int_block, int_linear
from ref.core.int_layernorm import int_gelu, int_layernorm
from ref.core.int_softmax import PROB_FRAC, int_exp, int_softmax
from ref.core.intnet import (ACC_LIMIT, MAX_SHIFT, MULT_LIMIT, N_THRESHOLDS, check_int_params,
                             int_hyper_synthesis_trace, mean_indices, requantize, rshift_round, scale_indices)
from ref.core.registry import implements
from ref.core.tables import WEIGHT_BITS, WEIGHT_TOTAL
from ref.ecf.egr import egr_pack, egr_window_coords
from ref.ecf.masks import group_of
from ref.ecf.segments import segment
from ref.ecf.window_attention import (relative_position_index, shifted_window_regions, window_partition,
                                      window_reverse)

Y_CLIP = (1 << 12) - 1            # [ecf.int_embed] slot contents are clipped to +-4095
#: leaf names stored as (1,) in a checkpoint that are scalars ([ecf.C24])
SCALAR_NAMES = frozenset({"z_max", "act_max", "mean_grid", "gelu_frac", "logit_mult", "logit_shift", "eps", "stride",
                          "transposed", "r_mult", "r_shift"})
META_KEYS = ("n_cs", "p_cs", "K", "layers", "d_e", "heads", "d_out", "k_mix", "mean_grid", "cfo")


# =========================================================================== element order
@implements("ecf.C21")
def group_positions(g: int, H: int, W: int, n_cs: int, p_cs: int, order: str = "sfo") -> np.ndarray:
    """int64 (n_g, 3): the (row, col, ch) of every element of coding group g, in coding order.

    Order ([ecf.C21]): row h ascending, then column w ascending among the columns of parity
    pi = (h + w) mod 2 of the group (the EGR packed column w' = w // 2 ascending), then the
    channel ch = i p_cs + c with c ascending; (i, pi) = group g ([ecf.groups]).  n_g = H W/2 p_cs.
    """
    if W % 2 or H < 1 or W < 2:
        raise InputError(f"latent grid {H}x{W}: W must be even and >= 2")
    if not 0 <= int(g) < 2 * n_cs:
        raise InputError(f"group {g} outside 0..{2 * n_cs - 1}")
    i, pi = (int(v) for v in group_of(int(g), n_cs, order))
    h = np.arange(H)[:, None, None]
    w = 2 * np.arange(W // 2)[None, :, None] + (h + pi) % 2
    c = i * p_cs + np.arange(p_cs)[None, None, :]
    shape = (H, W // 2, p_cs)
    return np.stack([np.broadcast_to(h, shape), np.broadcast_to(w, shape), np.broadcast_to(c, shape)],
                    axis=-1).reshape(-1, 3).astype(np.int64)


# =========================================================================== h_s
@implements("ecf.int_hs")
def int_hyper(p_hs: dict, z_hat, trace: dict | None = None, backend: str = "numpy") -> np.ndarray:
    """Integer hyper-synthesis ([ecf.int_hs]): the [core.intnet_hs] network up to its last
    accumulator acc2 (deconv, ReLU, deconv, ReLU, conv; ref.core.intnet), then

        psi[..., c] = clip(rshift_round(acc2[..., c] psi_mult[c], psi_shift[c]), +-act_max)

    (signed: psi is a feature map, not a scale / mean; core's index thresholds are not used).
    p_hs: {"net": core integer h_s parameters ([core.C43] layout), "psi_mult", "psi_shift":
    int64 (2M,)}.  z_hat: int (B, h, w, N).  Returns psi int64 (B, 4h, 4w, 2M).
    backend: "reference" | "numpy" | "jax" (identical integers, [core.C42]).
    """
    t = int_hyper_synthesis_trace(p_hs["net"], z_hat, backend=backend)
    amax = int(p_hs["net"]["act_max"])
    psi = np.clip(requantize(t["acc2"], p_hs["psi_mult"], p_hs["psi_shift"]), -amax, amax)
    if trace is not None:
        trace.update({f"hs_{k}": t[k] for k in ("z", "acc0", "a0", "acc1", "a1", "acc2")})
        trace["psi"] = psi
    return psi


# =========================================================================== g_c pieces
def _window_geometry(meta: dict, n_slots: int):
    K = meta["K"]
    order = "cfo" if meta["cfo"] else "sfo"
    return K, K // 2, egr_window_coords(meta["n_cs"], K, order, n_slots)


def _bias(table: np.ndarray, coords_q, coords_k, meta: dict) -> np.ndarray:
    """int64 (heads, Sq, Sk): the Q16 relative bias gathered by [ecf.C5] indices."""
    idx = relative_position_index(coords_q, coords_k, meta["n_cs"], meta["K"])
    return np.transpose(np.asarray(table, np.int64)[idx], (2, 0, 1))


def _mask(H: int, W2: int, kh: int, kw: int, shifted: bool, slots_q, slots_k, q_tok, k_tok, n_slots) -> np.ndarray:
    """bool (nW, Sq, Sk): same Swin region ([ecf.C6]) and slot_k <= slot_q ([ecf.C3])."""
    region = shifted_window_regions(H, W2, kh, kw, kh // 2 if shifted else 0, kw // 2 if shifted else 0)
    reg = np.tile(region, (1, n_slots))
    rq, rk = reg[:, q_tok], reg[:, k_tok]
    return (rq[:, :, None] == rk[:, None, :]) & (np.asarray(slots_k)[None, None, :] <= np.asarray(slots_q)[None, :, None])


@implements("ecf.int_embed")
def int_embed(p_embed: dict, contents) -> np.ndarray:
    """x_0 = clip(int_linear(embed, clip(contents, +-Y_CLIP)), +-RES_MAX) ([ecf.int_embed]).
    contents: int (..., p_cs) slot contents (y_hat values); returns int64 (..., d_e)."""
    c = np.asarray(contents)
    if c.dtype.kind not in "iu":
        raise InputError(f"slot contents must be integers (y_hat), got {c.dtype}")
    return np.clip(int_linear(p_embed, np.clip(c.astype(np.int64), -Y_CLIP, Y_CLIP)), -RES_MAX, RES_MAX)


@implements("ecf.C22")
def rescale(p_r: dict, x) -> np.ndarray:
    """Residual-stream unit change between layers ([ecf.C22]): clip(rshift_round(x r_mult, r_shift), +-RES_MAX).
    p_r: {"r_mult": int64 () in [0, 2^31), "r_shift": int64 () in [0, 62]}; x int64 |x| <= RES_MAX."""
    return np.clip(rshift_round(np.asarray(x, np.int64) * np.int64(p_r["r_mult"]), np.int64(p_r["r_shift"])),
                   -RES_MAX, RES_MAX)


@implements("ecf.int_gc")
def int_head(p_ctx: dict, x) -> np.ndarray:
    """ctx = clip(int_linear(head, int_layernorm(ln_out, x, act_max)), +-act_max) ([ecf.int_gc])."""
    amax = int(p_ctx["act_max"])
    return np.clip(int_linear(p_ctx["head"], int_layernorm(p_ctx["ln_out"], x, amax)), -amax, amax)


@implements("ecf.int_gc")
def int_context_forward(p_ctx: dict, meta: dict, contents, trace: dict | None = None) -> np.ndarray:
    """Single-pass integer g_c over T slots ([ecf.int_gc]; encoder side).

    contents: int (B, T, H, W/2, p_cs) EGR slot contents (y_hat of groups 0..T-1).
    Layer l (SW-SCA when l is odd, cyclic roll (-K/2, -K/4) before and back after, [ecf.C6]):
    x <- int_block(blocks[l], window_partition(x), bias_l, mask) ([core.int_block]) with
    bias_l = Q16 table bias[l] gathered by [ecf.C5] and mask = region & slot_k <= slot_q
    ([ecf.C3]); then x <- rescale_l(x) for l < L - 1 ([ecf.C22]).  Returns ctx int64
    (B, T, H, W/2, d_out) (:func:`int_head`); output slot t is the context of group t + 1.
    """
    c = np.asarray(contents)
    B, T, H, W2, _ = c.shape
    kh, kw, coords = _window_geometry(meta, T)
    if H % kh or W2 % kw:
        raise InputError(f"packed latent grid {H}x{W2} is not a multiple of the {kh}x{kw} window ([ecf.C6])")
    x = int_embed(p_ctx["embed"], c)
    slots = coords[:, 0]
    all_tok = slice(None)
    for l, blk in enumerate(p_ctx["blocks"]):
        shifted = bool(l % 2)
        xs = np.roll(x, (-(kh // 2), -(kw // 2)), axis=(2, 3)) if shifted else x
        tok = window_partition(xs, kh, kw)
        mask = np.tile(_mask(H, W2, kh, kw, shifted, slots, slots, all_tok, all_tok, T), (B, 1, 1))
        y = int_block(blk, tok, _bias(p_ctx["bias"][l], coords, coords, meta), mask, meta["heads"])
        x = window_reverse(y, kh, kw, B, T, H, W2)
        if shifted:
            x = np.roll(x, (kh // 2, kw // 2), axis=(2, 3))
        if l < len(p_ctx["blocks"]) - 1:
            x = rescale(p_ctx["rescale"][l], x)
        if trace is not None:
            trace[f"gc_x{l + 1}"] = x
    out = int_head(p_ctx, x)
    if trace is not None:
        trace["gc_x0"] = int_embed(p_ctx["embed"], c)
        trace["gc_ctx"] = out
    return out


def _gemm(a, b) -> np.ndarray:
    """Exact integer matmul through float64 ([core.C53]: every partial sum < 2^31)."""
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64)).astype(np.int64)


@implements("ecf.int_gc", "ecf.kv")
def int_cached_layer(blk: dict, heads: int, x_tok, cache: dict, bias, mask) -> np.ndarray:
    """One [core.int_block] for the queries of one slot, keys / values from a cache ([ecf.kv]).

    x_tok: int64 (nW, S1, d) residual tokens of the new slot; cache: {"k", "v"} int64
    (nW, S_prev, d) or None, extended in place by this slot's keys / values; bias int64
    (heads, S1, S_prev + S1); mask bool (nW, S1, S_prev + S1).  Same integer operations as
    ref.core.int_attention.int_block restricted to these query rows.
    """
    amax, gf = int(blk["act_max"]), int(blk["gelu_frac"])
    p = blk["attn"]
    nW, S1, d = x_tok.shape
    dk = d // heads
    a = int_layernorm(blk["ln1"], x_tok, amax)
    qkv = np.clip(int_linear(p["qkv"], a), -amax, amax)
    q, k, v = (qkv[..., i * d:(i + 1) * d] for i in range(3))
    if cache["k"] is not None:
        k = np.concatenate([cache["k"], k], axis=1)
        v = np.concatenate([cache["v"], v], axis=1)
    cache["k"], cache["v"] = k, v
    S = k.shape[1]
    qh = q.reshape(nW, S1, heads, dk).transpose(0, 2, 1, 3)
    kh = k.reshape(nW, S, heads, dk).transpose(0, 2, 1, 3)
    vh = v.reshape(nW, S, heads, dk).transpose(0, 2, 1, 3)
    logits = rshift_round(_gemm(qh, kh.transpose(0, 1, 3, 2)) * np.int64(p["logit_mult"]), np.int64(p["logit_shift"]))
    logits = logits + np.asarray(bias, np.int64)[None]
    probs = int_softmax(logits, np.asarray(mask, bool)[:, None])
    o = np.clip(rshift_round(_gemm(probs, vh), PROB_FRAC), -amax, amax).transpose(0, 2, 1, 3).reshape(nW, S1, d)
    x1 = np.clip(x_tok + int_linear(p["proj"], o), -RES_MAX, RES_MAX)
    from ref.core.int_layernorm import int_gelu
    f = np.clip(int_linear(blk["fc1"], int_layernorm(blk["ln2"], x1, amax)), -amax, amax)
    g = np.clip(int_gelu(f, gf), -amax, amax)
    return np.clip(x1 + int_linear(blk["fc2"], g), -RES_MAX, RES_MAX)


# =========================================================================== g_e and the index decision
@implements("ecf.int_ge")
def int_entropy_parameters(p_ge: dict, ctx, psi, trace: dict | None = None) -> np.ndarray:
    """Integer g_e ([ecf.int_ge]): per position, h_0 = concat(ctx, psi) (int64, ctx first),

        h_l+1 = clip(rshift_round(int_linear(layer_l, h_l) m_l, r_l), 0, act_max)   (ReLU), l < last
        acc   = int_linear(last layer, h_last)      (accumulator, no requantisation)

    ctx int (..., d_out), psi int (..., C_psi).  Returns acc int64 (..., 3 p_cs k) in the
    channel layout of [ecf.int_index]."""
    h = np.concatenate([np.asarray(ctx, np.int64), np.asarray(psi, np.int64)], axis=-1)
    amax = int(p_ge["act_max"])
    layers = p_ge["layers"]
    for l, p in enumerate(layers[:-1]):
        h = np.clip(int_linear(p, h), 0, amax)
        if trace is not None:
            trace[f"ge_h{l + 1}"] = h
    acc = int_linear(layers[-1], h)
    if trace is not None:
        trace["ge_acc"] = acc
    return acc


@implements("ecf.C23")
def int_mixture_weights(logits) -> np.ndarray:
    """Q16 logits (..., k) -> weight_int (..., k) >= 0 summing to exactly 2^16 ([ecf.C23]).

        e_j = int_exp(l_j - max_j l_j)                 [core.int_exp], Q30, e_max = 2^30
        S   = sum_j e_j;  t_j = e_j 2^16;  b_j = t_j // S;  rem_j = t_j mod S
        d   = 2^16 - sum_j b_j   (0 <= d < k)
        the d components with the largest rem_j get +1 (ties: lower j)      (as [core.C8])
    """
    l = np.asarray(logits)
    if l.dtype.kind not in "iu":
        raise InputError(f"mixture logits must be integers, got {l.dtype}")
    l = l.astype(np.int64)
    e = int_exp(l - l.max(axis=-1, keepdims=True))
    S = e.sum(axis=-1, keepdims=True)
    t = e << WEIGHT_BITS
    b, rem = t // S, t % S
    d = WEIGHT_TOTAL - b.sum(axis=-1, keepdims=True)
    k = l.shape[-1]
    order = np.argsort(-rem, axis=-1, kind="stable")                   # largest remainder, lower j first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), order.shape), axis=-1)
    return b + (rank < d)


@implements("ecf.int_index")
def int_indices(p_ge: dict, acc, p_cs: int, k_mix: int, trace: dict | None = None):
    """acc int64 (..., 3 p_cs k) -> (scale_idx, mean_idx, weight_int), each int64 (..., p_cs, k).

    Channel layout ([ecf.int_index]): acc[..., (0 p_cs + c) k + j] mixture logit, (1 p_cs + c) k + j
    mean, (2 p_cs + c) k + j scale pre-activation, of channel c, component j.
        scale_idx = #{n in 0..62 : acc_s > T[ch, n]}            ([core.intnet_index] thresholds)
        mean_idx  = rshift_round(acc_m mm[ch], ms[ch])          (grid 1/mean_grid, [core.C5])
        logit     = rshift_round(acc_w wm[ch], ws[ch])          (Q16)
        weight_int = int_mixture_weights(logit)                 ([ecf.C23])
    """
    acc = np.asarray(acc, np.int64)
    n = p_cs * k_mix
    if acc.shape[-1] != 3 * n:
        raise InputError(f"g_e output has {acc.shape[-1]} channels, expected 3 p_cs k = {3 * n}")
    lead = acc.shape[:-1]
    aw, am, as_ = acc[..., :n], acc[..., n:2 * n], acc[..., 2 * n:]
    ix = p_ge["index"]
    s = scale_indices(as_.reshape(-1, n), ix["scale_thresholds"]).reshape(lead + (n,))
    m = mean_indices(am, ix["mean_mult"], ix["mean_shift"])
    logit = rshift_round(aw * np.asarray(ix["w_mult"], np.int64), np.asarray(ix["w_shift"], np.int64))
    shp = lead + (p_cs, k_mix)
    w = int_mixture_weights(logit.reshape(shp))
    if trace is not None:
        trace["logit_q16"] = logit.reshape(shp)
    return s.reshape(shp), m.reshape(shp), w


# =========================================================================== validation
def _arr(d, key, where, kind="iu"):
    try:
        v = np.asarray(d[key])
    except (KeyError, TypeError, IndexError):
        raise InputError(f"integer ecf parameters lack {where}.{key}") from None
    if v.dtype.kind not in kind:
        raise InputError(f"{where}.{key} must be integers, got {v.dtype}")
    return v


def _check_mult(p: dict, where: str, shape) -> None:
    m, s = _arr(p, "mult", where).astype(np.int64), _arr(p, "shift", where).astype(np.int64)
    if m.shape != tuple(shape) or s.shape != tuple(shape):
        raise InputError(f"{where}: mult / shift must have shape {tuple(shape)}")
    if m.size and (m.min() < 0 or m.max() >= MULT_LIMIT or s.min() < 0 or s.max() > MAX_SHIFT):
        raise InputError(f"{where}: need 0 <= mult < 2^31, 0 <= shift <= 62")


@implements("ecf.C24")
def check_params(p: dict) -> dict:
    """Validate an integer ecf parameter tree ([ecf.C24]); see :func:`_check_params`.  Any
    missing or malformed entry is an InputError (a damaged or foreign checkpoint)."""
    try:
        return _check_params(p)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as e:
        raise InputError(f"integer ecf parameters malformed: {type(e).__name__} {e}") from None


def _check_params(p: dict) -> dict:
    """Validate an integer ecf parameter tree ([ecf.C24]); return meta (python ints).

    {"meta": {n_cs, p_cs, K, layers, d_e, heads, d_out, k_mix, mean_grid, cfo},
     "h_s": see :func:`int_hyper`, "ctx": {"embed", "blocks" [L], "bias" [L] int64
     ((2 N_cs - 1)(2K - 1)^2, heads) Q16, "rescale" [L - 1] {"r_mult", "r_shift"}, "ln_out", "head",
     "act_max"}, "g_e": {"layers", "act_max", "index": {"scale_thresholds" (p_cs k, 63),
     "mean_mult", "mean_shift", "w_mult", "w_shift" (p_cs k,)}}}.
    Accumulator bounds < 2^31 for every layer's worst-case input ([core.C41], [core.C53]).
    """
    try:
        meta = {k: int(np.asarray(p["meta"][k]).reshape(-1)[0]) for k in META_KEYS}
        hs, ctx, ge = p["h_s"], p["ctx"], p["g_e"]
    except (KeyError, TypeError, IndexError, ValueError):
        raise InputError("integer ecf parameters incomplete (meta / h_s / ctx / g_e)") from None
    if meta["n_cs"] < 1 or meta["p_cs"] < 1 or meta["K"] < 4 or meta["K"] % 4 or meta["layers"] < 1 \
            or meta["heads"] < 1 or meta["d_e"] % meta["heads"] or meta["k_mix"] < 1 \
            or not 1 <= meta["mean_grid"] <= 1024 or meta["cfo"] not in (0, 1):
        raise InputError(f"integer ecf meta out of range: {meta}")
    # h_s
    try:
        hs_shapes = check_int_params(hs["net"])
    except (KeyError, TypeError):
        raise InputError("integer ecf parameters lack h_s.net") from None
    amax = int(np.asarray(hs["net"]["act_max"]))
    _check_mult({"mult": hs["psi_mult"], "shift": hs["psi_shift"]}, "h_s.psi", (2 * hs_shapes["M"],))
    # g_c
    d = meta["d_e"]
    check_linear(ctx["embed"], Y_CLIP, "ctx.embed")
    _check_mult(ctx["embed"], "ctx.embed", (d,))
    if len(ctx["blocks"]) != meta["layers"] or len(ctx["bias"]) != meta["layers"] \
            or len(ctx["rescale"]) != meta["layers"] - 1:
        raise InputError("ctx: blocks / bias / rescale counts do not match the layer count")
    rows = (2 * meta["n_cs"] - 1) * (2 * meta["K"] - 1) ** 2
    for l in range(meta["layers"]):
        check_block_params(ctx["blocks"][l], meta["heads"])
        bt = _arr(ctx["bias"], l, "ctx.bias")
        if bt.shape != (rows, meta["heads"]) or (bt.size and np.abs(bt.astype(np.int64)).max() >= 1 << 24):
            raise InputError(f"ctx.bias[{l}] must be int ({rows}, {meta['heads']}) with |bias| < 2^24")
    for l, r in enumerate(ctx["rescale"]):
        _check_mult({"mult": r["r_mult"], "shift": r["r_shift"]}, f"ctx.rescale.{l}", ())
    camax = int(np.asarray(ctx["act_max"]))
    if not 1 <= camax <= (1 << 14) - 1:
        raise InputError("ctx.act_max must lie in [1, 2^14 - 1]")
    check_linear(ctx["head"], camax, "ctx.head")
    _check_mult(ctx["head"], "ctx.head", (meta["d_out"],))
    # g_e
    gamax = int(np.asarray(ge["act_max"]))
    if not 1 <= gamax < 1 << 16:
        raise InputError("g_e.act_max must lie in [1, 2^16)")
    in_max = max(camax, amax, gamax)
    for l, lay in enumerate(ge["layers"]):
        check_linear(lay, in_max if l == 0 else gamax, f"g_e.{l}")
        if l < len(ge["layers"]) - 1:
            _check_mult(lay, f"g_e.{l}", np.asarray(lay["b"]).shape)
    n = meta["p_cs"] * meta["k_mix"]
    if np.asarray(ge["layers"][-1]["b"]).shape != (3 * n,):
        raise InputError(f"g_e last layer must have 3 p_cs k = {3 * n} outputs")
    ix = ge["index"]
    T = _arr(ix, "scale_thresholds", "g_e.index").astype(np.int64)
    if T.shape != (n, N_THRESHOLDS) or np.any(np.diff(T, axis=1) < 0) or np.abs(T).max(initial=0) > ACC_LIMIT:
        raise InputError("g_e.index.scale_thresholds must be non-decreasing (p_cs k, 63) rows, |T| <= 2^31")
    for a, b in (("mean_mult", "mean_shift"), ("w_mult", "w_shift")):
        _check_mult({"mult": ix[a], "shift": ix[b]}, f"g_e.index.{a}", (n,))
    return meta


# =========================================================================== the model
class IntEcf:
    """The integer decoder-critical path of one ecf checkpoint (all parameters integers).

    Build with :func:`ref.ecf.int_ptq.from_float` (PTQ) or :meth:`from_tensors` (checkpoint).
    """

    def __init__(self, params: dict):
        self.meta = check_params(params)
        self.p = params

    @classmethod
    def from_float(cls, params: dict, cfg, calib_latents, **kw) -> "IntEcf":
        """PTQ of a float ecf model (H4's ``init_params`` layout); see :func:`ref.ecf.int_ptq.from_float`."""
        from ref.ecf.int_ptq import from_float

        return from_float(params, cfg, calib_latents, **kw)

    # ------------------------------------------------------------------ properties
    @property
    def order(self) -> str:
        return "cfo" if self.meta["cfo"] else "sfo"

    @property
    def n_groups(self) -> int:
        return 2 * self.meta["n_cs"]

    @property
    def mean_grid(self) -> int:
        return self.meta["mean_grid"]

    def group_positions(self, g: int, H: int, W: int) -> np.ndarray:
        return group_positions(g, H, W, self.meta["n_cs"], self.meta["p_cs"], self.order)

    # ------------------------------------------------------------------ h_s
    def hyper(self, z_hat, trace: dict | None = None) -> np.ndarray:
        """z_hat int (h, w, N) -> psi_int int64 (4h, 4w, C_psi) ([ecf.int_hs])."""
        z = np.asarray(z_hat)
        if z.ndim != 3:
            raise InputError(f"z_hat must be (h, w, N), got shape {z.shape}")
        return int_hyper(self.p["h_s"], z[None], trace)[0]

    # ------------------------------------------------------------------ per-group g_e
    def _packed_psi(self, psi_int) -> np.ndarray:
        """psi (H, W, C) -> (2 N_cs, H, W/2, C): psi at each group's packed positions ([ecf.C4])."""
        psi = np.asarray(psi_int, np.int64)
        n = self.meta["n_cs"]
        rep = np.broadcast_to(psi[None, None], (1, n) + psi.shape)
        return egr_pack(np.ascontiguousarray(rep), self.order)[0]

    def _group_indices(self, ctx_g, psi_g, trace: dict | None = None):
        acc = int_entropy_parameters(self.p["g_e"], ctx_g, psi_g, trace)
        s, m, w = int_indices(self.p["g_e"], acc, self.meta["p_cs"], self.meta["k_mix"], trace)
        k = self.meta["k_mix"]
        return s.reshape(-1, k), m.reshape(-1, k), w.reshape(-1, k)

    def _check_grid(self, psi_int, y_hat=None):
        psi = np.asarray(psi_int)
        if psi.dtype.kind not in "iu" or psi.ndim != 3:
            raise InputError(f"psi_int must be an integer (H, W, C) array, got {psi.dtype}{psi.shape}")
        H, W = psi.shape[:2]
        K = self.meta["K"]
        if H % K or W % K:
            raise InputError(f"latent grid {H}x{W} must be a multiple of K = {K} ([ecf.C6])")
        if y_hat is not None:
            y = np.asarray(y_hat)
            C = self.meta["n_cs"] * self.meta["p_cs"]
            if y.dtype.kind not in "iu" or y.shape != (H, W, C):
                raise InputError(f"y_hat must be integer ({H}, {W}, {C}), got {y.dtype}{y.shape}")
        return H, W

    # ------------------------------------------------------------------ encoder
    @implements("ecf.int_gc", "ecf.sfg", "ecf.C21")
    def table_inputs_all(self, psi_int, y_hat, trace: dict | None = None) -> list:
        """Encoder single pass: [(scale_idx, mean_idx, weight_int) int64 (n_g, k)] for g = 0..2N_cs-1,
        rows in :func:`group_positions` order.  Group 0: ctx = 0 ([ecf.sfg]); group g >= 1:
        slot g - 1 of one masked pass of g_c over groups 0..2 N_cs - 2."""
        H, W = self._check_grid(psi_int, y_hat)
        n = self.meta["n_cs"]
        r = egr_pack(segment(np.asarray(y_hat, np.int64)[None], n), self.order)      # (1, 2n, H, W/2, p)
        ctx = int_context_forward(self.p["ctx"], self.meta, r[:, :2 * n - 1], trace)[0]
        psi_g = self._packed_psi(psi_int)
        out = []
        for g in range(2 * n):
            c = np.zeros(psi_g.shape[1:3] + (self.meta["d_out"],), np.int64) if g == 0 else ctx[g - 1]
            t = {} if trace is not None else None
            out.append(self._group_indices(c, psi_g[g], t))
            if trace is not None:
                trace.update({f"g{g}_{k}": v for k, v in t.items()})
        return out

    # ------------------------------------------------------------------ decoder
    def decoder(self, psi_int) -> "IntEcfDecoder":
        """KV-cached sequential decoder over the latent grid of psi_int (H, W, C_psi)."""
        return IntEcfDecoder(self, psi_int)

    # ------------------------------------------------------------------ checkpoint
    @implements("ecf.C24")
    def to_tensors(self, prefix: str = "ecf_int") -> dict[str, np.ndarray]:
        """Flat {"<prefix>.<path>": int array} (lists as numbered path parts; scalars as (1,)); each
        array in the narrowest of int8 / int16 / int32 / int64 that holds its values ([ecf.C24])."""
        out: dict[str, np.ndarray] = {}

        def walk(v, path):
            if isinstance(v, dict):
                for k, x in v.items():
                    walk(x, f"{path}.{k}")
            elif isinstance(v, (list, tuple)):
                for i, x in enumerate(v):
                    walk(x, f"{path}.{i}")
            else:
                a = np.asarray(v).astype(np.int64)
                out[path] = np.ascontiguousarray(a.reshape(1) if a.ndim == 0 else a).astype(_narrow(a))

        walk(self.p, prefix)
        return out

    @classmethod
    @implements("ecf.C24")
    def from_tensors(cls, tensors: dict, prefix: str = "ecf_int") -> "IntEcf":
        """Inverse of :meth:`to_tensors`; validates ([ecf.C24]); InputError if absent or damaged."""
        head = prefix + "."
        tree: dict = {}
        for key, v in tensors.items():
            if not key.startswith(head):
                continue
            parts = key[len(head):].split(".")
            d = tree
            for part in parts[:-1]:
                d = d.setdefault(part, {})
            a = np.asarray(v)
            if a.dtype.kind not in "iu":
                raise InputError(f"{key}: integer ecf parameters must be integer arrays, got {a.dtype}")
            d[parts[-1]] = a.astype(np.int64)
        if not tree:
            raise InputError(f"checkpoint lacks integer ecf parameters ({prefix}.*)")

        def fix(v, name=""):
            if isinstance(v, dict):
                if v and all(k.isdigit() for k in v):
                    if sorted(int(k) for k in v) != list(range(len(v))):
                        raise InputError(f"integer ecf checkpoint: list {name} has gaps")
                    return [fix(v[str(i)], name) for i in range(len(v))]
                return {k: fix(x, k) for k, x in v.items()}
            return v.reshape(()) if name in SCALAR_NAMES and v.size == 1 else v

        tree = fix(tree)
        if isinstance(tree.get("meta"), dict):
            tree["meta"] = {k: np.asarray(v).reshape(()) for k, v in tree["meta"].items()}
        return cls(tree)


def _narrow(a: np.ndarray):
    """The narrowest signed integer dtype holding every value of int64 array a."""
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    for dt in (np.int8, np.int16, np.int32):
        if np.iinfo(dt).min <= lo and hi <= np.iinfo(dt).max:
            return dt
    return np.int64


class IntEcfDecoder:
    """Group-by-group decoder: ``table_inputs(g)`` then ``next_group(values)`` for g = 0, 1, ...

    Context steps run one slot at a time with a per-layer key / value cache ([ecf.kv]); the
    integers equal :meth:`IntEcf.table_inputs_all`'s (tests/ecf/test_int_model.py).
    """

    def __init__(self, model: IntEcf, psi_int):
        self.m = model
        self.H, self.W = model._check_grid(psi_int)
        self.psi_g = model._packed_psi(psi_int)
        meta = model.meta
        self.T = 2 * meta["n_cs"] - 1
        self.kh, self.kw, self.coords = _window_geometry(meta, self.T)
        self.S1 = self.kh * self.kw
        self.cache = [{"k": None, "v": None} for _ in range(meta["layers"])]
        self.ctx = np.zeros((self.H, self.W // 2, meta["d_out"]), np.int64)
        self.g = 0                       # next group to decode
        self._served = False

    def table_inputs(self, g: int):
        """(scale_idx, mean_idx, weight_int) int64 (n_g, k) of group g (must be the next group)."""
        if g != self.g or g >= self.m.n_groups:
            raise InputError(f"decoder expects group {self.g}, asked for {g}")
        self._served = True
        return self.m._group_indices(self.ctx, self.psi_g[g])

    @implements("ecf.kv", "ecf.int_gc")
    def next_group(self, values) -> None:
        """Feed group g's decoded y_hat values (int (n_g,) in group_positions order, or
        (H, W/2, p_cs)); runs context step g (if g < 2 N_cs - 1) for group g + 1."""
        meta = self.m.meta
        if not self._served:
            raise InputError(f"table_inputs({self.g}) must come before next_group")
        v = np.asarray(values)
        shape = (self.H, self.W // 2, meta["p_cs"])
        if v.dtype.kind not in "iu" or v.size != int(np.prod(shape)):
            raise InputError(f"group {self.g} values must be {int(np.prod(shape))} integers")
        g = self.g
        if g < self.T:
            self.ctx = self._step(v.reshape((1, 1) + shape).astype(np.int64), g)
        self.g += 1
        self._served = False

    def _step(self, contents, t: int) -> np.ndarray:
        meta, p = self.m.meta, self.m.p["ctx"]
        H, W2, kh, kw, S1 = self.H, self.W // 2, self.kh, self.kw, self.S1
        x = int_embed(p["embed"], contents)                              # (1, 1, H, W2, d)
        q_tok, k_tok = slice(t * S1, (t + 1) * S1), slice(0, (t + 1) * S1)
        slots = self.coords[:, 0]
        for l, blk in enumerate(p["blocks"]):
            shifted = bool(l % 2)
            xs = np.roll(x, (-(kh // 2), -(kw // 2)), axis=(2, 3)) if shifted else x
            tok = window_partition(xs, kh, kw)
            bias = _bias(p["bias"][l], self.coords[q_tok], self.coords[k_tok], meta)
            mask = _mask(H, W2, kh, kw, shifted, slots[q_tok], slots[k_tok], q_tok, k_tok, self.T)
            y = int_cached_layer(blk, meta["heads"], tok, self.cache[l], bias, mask)
            x = window_reverse(y, kh, kw, 1, 1, H, W2)
            if shifted:
                x = np.roll(x, (kh // 2, kw // 2), axis=(2, 3))
            if l < len(p["blocks"]) - 1:
                x = rescale(p["rescale"][l], x)
        return int_head(p, x)[0, 0]
