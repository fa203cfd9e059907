"""Post-training quantisation of a float ecf model into :class:`ref.ecf.int_model.IntEcf`
(spec/ecf.md [ecf.int_ptq]; informative -- only the integers it returns are normative).

Float model: ref/ecf/model.py (``init_params`` layout: "h_s" = core hyper-synthesis whose 2M
outputs are psi, "ctx" = ref.ecf.context_model parameters, "g_e" = {"fc0".."fcL"} dense
layers with ReLU between; sigma = exp(clip(t)), [ecf.C9]).  Calibration runs the float model
in float64 NumPy on the given integer latents (y_hat, z_hat) -- deterministic:

    h_s      core.intnet_ptq.quantize_hyper_synthesis (layers 0, 1; conv2 weights), then
             psi unit s_psi[c] = headroom max|psi[..., c]| / act_max_hs, psi_mult/2^psi_shift ~ S2[c] / s_psi[c]
    embed    W per output channel (w_bits), input unit 1 (y_hat integers), output unit S_x of block 0
    block l  core.int_attention_ptq.quantize_block on the float64 window tokens of layer l
             (its own residual unit S_x,l); bias table round(B_tab 2^16); rescale l ~ S_x,l / S_x,l+1
    head     LN_out as [core.int_ptq] (S_in = S_x,L-1), head linear to per-channel ctx units
    g_e      input units (ctx, psi) folded into fc0's rows; hidden units per channel (headroom x
             max); last layer: accumulator units S[ch] ->
             logits  w_mult/2^w_shift ~ S 2^16;  means mm/2^ms ~ S mean_grid;
             scales  T[ch, n] = floor(ln(s_n) / S[ch])    (sigma = exp(t): s_n < sigma <=> t > ln s_n)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable

import numpy as np

from ref.core import tables as T
from ref.core.errors import InputError
from ref.core.int_attention_ptq import fixed_point, float_block_f64, quantize_block
from ref.core.intnet import ACC_LIMIT, N_THRESHOLDS
from ref.core.intnet_ptq import float_hyper_synthesis_f64, multiplier, quantize_hyper_synthesis
from ref.core.registry import implements
from ref.ecf.egr import egr_pack, egr_window_coords
from ref.ecf.int_model import Y_CLIP, IntEcf, _mask
from ref.ecf.segments import segment
from ref.ecf.window_attention import relative_position_index, window_partition, window_reverse

LN_EPS = 1e-5
DEFAULTS = {"hs_w_bits": 10, "hs_a_bits": 11, "z_max": 1023, "block_w_bits": 8, "act_max": 2047,
            "embed_w_bits": 10, "ge_w_bits": 10, "ge_act_max": 4095, "headroom": 1.25, "hs_headroom": 2.0}


# =========================================================================== float64 twin
def _np(tree):
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_np(v) for v in tree]
    return np.asarray(tree, np.float64)


def _dense(p, x):
    return x @ p["w"] + p["b"]


def _ln(p, x):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * p["g"] + p["b"]


def _geometry(cfg_ctx, T_slots: int):
    K = cfg_ctx.K
    return K, K // 2, egr_window_coords(cfg_ctx.n_cs, K, cfg_ctx.order, T_slots)


def float_context_f64(p_ctx: dict, cfg_ctx, contents, collect: dict | None = None) -> np.ndarray:
    """ref.ecf.context_model.context_forward (EGR layout) in float64 NumPy.

    contents float (B, T, H, W/2, p_cs).  Returns contexts (B, T, H, W/2, d_out).  collect
    (optional) receives per layer l: "tok<l>" window tokens (B nW, S, d), "mask<l>" bool
    (B nW, S, S), "bias<l>" (heads, S, S); and "x_last" (B, T, H, W/2, d)."""
    c = np.asarray(contents, np.float64)
    B, Ts, H, W2, _ = c.shape
    kh, kw, coords = _geometry(cfg_ctx, Ts)
    slots = coords[:, 0]
    idx = relative_position_index(coords, coords, cfg_ctx.n_cs, cfg_ctx.K)
    x = _dense(p_ctx["embed"], np.clip(c, -Y_CLIP, Y_CLIP))
    for l, pl in enumerate(p_ctx["layers"]):
        shifted = bool(l % 2)
        xs = np.roll(x, (-(kh // 2), -(kw // 2)), axis=(2, 3)) if shifted else x
        tok = window_partition(xs, kh, kw)
        mask = np.tile(_mask(H, W2, kh, kw, shifted, slots, slots, slice(None), slice(None), Ts), (B, 1, 1))
        bias = np.transpose(pl["rel_bias"][idx], (2, 0, 1))
        y = float_block_f64(pl, tok, bias, mask, cfg_ctx.heads)["x2"]
        if collect is not None:
            collect[f"tok{l}"], collect[f"mask{l}"], collect[f"bias{l}"] = tok, mask, bias
        x = window_reverse(y, kh, kw, B, Ts, H, W2)
        if shifted:
            x = np.roll(x, (kh // 2, kw // 2), axis=(2, 3))
    if collect is not None:
        collect["x_last"] = x
    return _dense(p_ctx["head"], _ln(p_ctx["ln_out"], x))


def float_ge_f64(p_ge: dict, ctx, psi, collect: list | None = None) -> np.ndarray:
    """g_e's raw output o (..., 3 p_cs k) in float64 (ReLU between dense layers)."""
    h = np.concatenate([np.asarray(ctx, np.float64), np.asarray(psi, np.float64)], axis=-1)
    n = len(p_ge)
    for i in range(n):
        h = _dense(p_ge[f"fc{i}"], h)
        if i < n - 1:
            h = np.maximum(h, 0)
            if collect is not None:
                collect.append(h)
    return h


def _packed(cfg, y_hat, psi):
    """y_hat (H, W, M), psi (H, W, 2M) -> packed groups r (1, 2n, H, W/2, p_cs), psi_g (1, 2n, H, W/2, 2M)."""
    n = cfg.n_cs
    r = egr_pack(segment(np.asarray(y_hat)[None], n), cfg.ctx.order)
    rep = np.ascontiguousarray(np.broadcast_to(np.asarray(psi)[None, None], (1, n) + np.asarray(psi).shape))
    return r, egr_pack(rep, cfg.ctx.order)


# =========================================================================== quantisation pieces
def _quant_dense(W, b, s_in, w_bits: int):
    """Per-output-channel weights with input units s_in (d_in,) folded in: returns (w int32, b int64, S (d_out,))."""
    W_eff = np.asarray(W, np.float64) * np.asarray(s_in, np.float64).reshape(-1, 1)
    w_max = (1 << (w_bits - 1)) - 1
    S = np.abs(W_eff).max(axis=0) / w_max
    S = np.where(S > 0, S, 1.0)
    w = np.rint(W_eff / S).astype(np.int32)
    bi = np.rint(np.asarray(b, np.float64) / S)
    if np.abs(bi).max(initial=0) >= ACC_LIMIT:
        raise InputError("a g_e / embedding bias is too large for its weight scale (|b_int| >= 2^31)")
    return w, bi.astype(np.int64), S


def _quant_ln(p, s_in: float, s_out: float, d: int) -> dict:
    """[core.int_ptq] LayerNorm: g/2^s ~ gamma / (2^16 S_out) (signed), b = round(beta / S_out), E."""
    gs, ss = [], []
    for v in np.asarray(p["g"], np.float64) / (2.0 ** 16 * s_out):
        m, r = fixed_point(abs(v))
        gs.append(-m if v < 0 else m)
        ss.append(r)
    return {"g": np.array(gs, np.int64), "s": np.array(ss, np.int64),
            "b": np.rint(np.asarray(p["b"], np.float64) / s_out).astype(np.int64),
            "eps": np.int64(max(1, round(d * d * LN_EPS / s_in ** 2)))}


def _unit(a, top: float, headroom: float, axis=None):
    """headroom * max|a| / top (per channel with axis=0 over flattened leading axes); 1 where 0."""
    a = np.abs(np.asarray(a, np.float64))
    mx = a.reshape(-1, a.shape[-1]).max(axis=0) if axis == 0 else np.array(a.max(initial=0.0))
    if axis == 0 and np.any(mx > 0):
        mx = np.where(mx > 0, mx, np.median(mx[mx > 0]))
    return np.where(mx > 0, headroom * mx / top, 1.0)


@implements("ecf.int_index")
def log_scale_thresholds(S) -> np.ndarray:
    """T[ch, n] = floor(ln(s_n) / S[ch]) (int64 (C, 63), clipped to +-2^31) for sigma = exp(t),
    t = acc S[ch]: the [core.C4] index #{n : s_n < exp(t)} equals #{n : acc > T[ch, n]}.
    ln(s_n) is the float64 np.log of the shipped s_n; the floor is exact on the float64 values."""
    S = np.asarray(S, np.float64)
    if S.ndim != 1 or np.any(S <= 0) or not np.all(np.isfinite(S)):
        raise InputError("accumulator units must be positive finite floats")
    ln_s = np.log(T.scale_table()[:N_THRESHOLDS])
    out = np.empty((S.shape[0], N_THRESHOLDS), np.int64)
    for c in range(S.shape[0]):
        fs = Fraction(float(S[c]))
        for n in range(N_THRESHOLDS):
            v = Fraction(float(ln_s[n])) / fs
            out[c, n] = min(max(math.floor(v), -ACC_LIMIT), ACC_LIMIT)
    return out


def _calib(calib_latents, cfg):
    pairs = []
    for item in calib_latents:
        try:
            y, z = item
        except (TypeError, ValueError):
            raise InputError("calib_latents must be (y_hat, z_hat) pairs") from None
        y, z = np.asarray(y), np.asarray(z)
        if y.dtype.kind not in "iu" or z.dtype.kind not in "iu" or y.ndim != 3 or z.ndim != 3 \
                or y.shape[-1] != cfg.M or z.shape[-1] != cfg.N:
            raise InputError(f"calibration pair must be integer y_hat (H, W, {cfg.M}) and z_hat (h, w, {cfg.N})")
        pairs.append((y.astype(np.int64), z.astype(np.int64)))
    if not pairs:
        raise InputError("no calibration latents given")
    return pairs


# =========================================================================== from_float
@implements("ecf.int_ptq")
def from_float(params: dict, cfg, calib_latents: Iterable, **settings) -> IntEcf:
    """Float ecf parameters (ref.ecf.model layout) + cfg (EcfConfig) + calibration (y_hat, z_hat)
    integer pairs -> IntEcf.  settings: see DEFAULTS (bits, clips, headroom)."""
    o = {**DEFAULTS, **settings}
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise InputError(f"unknown PTQ settings {sorted(unknown)}")
    pairs = _calib(calib_latents, cfg)
    cc = cfg.ctx
    P = _np({k: params[k] for k in ("h_s", "ctx", "g_e")})
    hr = float(o["headroom"])

    # ---- h_s (core PTQ) and psi units
    p_hs_f = {n: {k: np.asarray(v, np.float32) for k, v in d.items()} for n, d in params["h_s"].items()}
    z_all = [z[None] for _, z in pairs]
    net, info = quantize_hyper_synthesis(p_hs_f, z_all, w_bits=o["hs_w_bits"], a_bits=o["hs_a_bits"],
                                         z_max=o["z_max"], mean_grid=cfg.mean_grid, headroom=o["hs_headroom"],
                                         return_info=True)
    amax_hs = int(net["act_max"])
    psi_f = [float_hyper_synthesis_f64(P["h_s"], np.clip(z, -o["z_max"], o["z_max"]))["out"][0] for z in z_all]
    psi_f = [p[:y.shape[0], :y.shape[1]] for p, (y, _) in zip(psi_f, pairs)]
    s_psi = _unit(np.concatenate([p.reshape(-1, p.shape[-1]) for p in psi_f]), amax_hs, o["hs_headroom"], axis=0)
    pm, ps = multiplier(info["S"][2] / s_psi)
    h_s = {"net": net, "psi_mult": pm, "psi_shift": ps}

    # ---- g_c calibration pass (float64)
    Ts = 2 * cc.n_cs - 1
    runs = []
    for (y, _), psi in zip(pairs, psi_f):
        r, psi_g = _packed(cfg, y, psi)
        col: dict = {}
        ctx = float_context_f64(P["ctx"], cc, r[:, :Ts].astype(np.float64), col)
        runs.append((col, ctx, psi_g))
    amax = int(o["act_max"])
    blocks, S_x, biases = [], [], []
    for l, pl in enumerate(P["ctx"]["layers"]):
        tok = np.concatenate([c[f"tok{l}"] for c, _, _ in runs])
        mask = np.concatenate([c[f"mask{l}"] for c, _, _ in runs])
        p_int, sx, _ = quantize_block(pl, tok, runs[0][0][f"bias{l}"], mask, cc.heads, w_bits=o["block_w_bits"],
                                      act_max=amax, headroom=hr)
        blocks.append(p_int)
        S_x.append(sx)
        biases.append(np.rint(pl["rel_bias"] * 2.0 ** 16).astype(np.int64))
    rescale = []
    for l in range(cc.layers - 1):
        m, r = fixed_point(S_x[l] / S_x[l + 1])
        rescale.append({"r_mult": np.int64(m), "r_shift": np.int64(r)})
    we, be, Se = _quant_dense(P["ctx"]["embed"]["w"], P["ctx"]["embed"]["b"], np.ones(cc.p_cs), o["embed_w_bits"])
    em, es = multiplier(Se / S_x[0])
    embed = {"w": we, "b": be, "mult": em, "shift": es}
    x_last = np.concatenate([c["x_last"].reshape(-1, cc.d_e) for c, _, _ in runs])
    ln_o = _ln(P["ctx"]["ln_out"], x_last)
    s_lno = float(_unit(ln_o, amax, hr))
    ctx_all = np.concatenate([ctx.reshape(-1, cc.d_out) for _, ctx, _ in runs])
    s_ctx = _unit(ctx_all, amax, hr, axis=0)
    wh, bh, Sh = _quant_dense(P["ctx"]["head"]["w"], P["ctx"]["head"]["b"], np.full(cc.d_e, s_lno), o["block_w_bits"])
    hm, hs_ = multiplier(Sh / s_ctx)
    ctx_p = {"embed": embed, "blocks": blocks, "bias": biases, "rescale": rescale,
             "ln_out": _quant_ln(P["ctx"]["ln_out"], S_x[-1], s_lno, cc.d_e),
             "head": {"w": wh, "b": bh, "mult": hm, "shift": hs_}, "act_max": np.int64(amax)}

    # ---- g_e calibration (float64 on float contexts; group 0 sees ctx = 0)
    ins_ctx, ins_psi = [], []
    for _, ctx, psi_g in runs:
        zeros = np.zeros_like(ctx[:, :1])
        ins_ctx.append(np.concatenate([zeros, ctx], axis=1).reshape(-1, cc.d_out))
        ins_psi.append(psi_g.reshape(-1, psi_g.shape[-1]))
    hid: list = []
    float_ge_f64(P["g_e"], np.concatenate(ins_ctx), np.concatenate(ins_psi), hid)
    gamax = int(o["ge_act_max"])
    s_in = np.concatenate([s_ctx, s_psi])
    layers = []
    nl = len(P["g_e"])
    for i in range(nl):
        pl = P["g_e"][f"fc{i}"]
        w, b, S = _quant_dense(pl["w"], pl["b"], s_in, o["ge_w_bits"])
        lay = {"w": w, "b": b}
        if i < nl - 1:
            s_act = _unit(hid[i], gamax, hr, axis=0)
            lay["mult"], lay["shift"] = multiplier(S / s_act)
            s_in = s_act
        layers.append(lay)
    n = cfg.p_cs * cfg.k_mix
    wm, ws = multiplier(S[:n] * 2.0 ** 16)
    mm, ms = multiplier(S[n:2 * n] * cfg.mean_grid)
    index = {"scale_thresholds": log_scale_thresholds(S[2 * n:]), "mean_mult": mm, "mean_shift": ms,
             "w_mult": wm, "w_shift": ws}
    g_e = {"layers": layers, "act_max": np.int64(gamax), "index": index}
    meta = {"n_cs": cc.n_cs, "p_cs": cc.p_cs, "K": cc.K, "layers": cc.layers, "d_e": cc.d_e, "heads": cc.heads,
            "d_out": cc.d_out, "k_mix": cfg.k_mix, "mean_grid": cfg.mean_grid, "cfo": int(cc.order == "cfo")}
    return IntEcf({"meta": {k: np.int64(v) for k, v in meta.items()}, "h_s": h_s, "ctx": ctx_p, "g_e": g_e})


# =========================================================================== float path (comparison)
def float_table_inputs(params: dict, cfg, y_hat, z_hat) -> list:
    """The float path's indices (what a codec without the integer path would use): H4's float32
    JAX model (hyper_synthesis, entropy_params) then [core.C4] / [core.C5] / [core.C8]
    (softmax of the logits in float64).  Returns [(scale_idx, mean_idx, weight_int) (n_g, k)] per
    group in [ecf.C21] order -- bit-exact only on the machine that computed it."""
    import jax.numpy as jnp

    from ref.core.entropy_models import gmm_indices
    from ref.ecf.model import entropy_params, hyper_synthesis

    y = jnp.asarray(np.asarray(y_hat, np.float32)[None])
    psi = hyper_synthesis(params, jnp.asarray(np.asarray(z_hat, np.float32)[None]))
    wl, mu, sig = (np.asarray(a, np.float64)[0] for a in entropy_params(params, cfg, y, psi))
    out = []
    k = cfg.k_mix
    for g in range(2 * cfg.n_cs):
        lw = wl[g].reshape(-1, k)
        w = np.exp(lw - lw.max(-1, keepdims=True))
        out.append(gmm_indices(w / w.sum(-1, keepdims=True), mu[g].reshape(-1, k), sig[g].reshape(-1, k),
                               cfg.mean_grid))
    return out


def float_entropy_params_f64(params: dict, cfg, y_hat, z_hat):
    """The float model in float64 NumPy (twins of h_s, g_c, g_e; sigma = exp(clip(t)) as [ecf.C9]):
    y_hat (H, W, M), z_hat (h, w, N) numbers (floats allowed: this is a float path) -> (w_logits,
    mu, sigma), each (2 N_cs, H, W/2, p_cs, k) float64."""
    from ref.ecf.gmm import LOG_SCALE_MAX, LOG_SCALE_MIN

    P = _np({k: params[k] for k in ("h_s", "ctx", "g_e")})
    y = np.asarray(y_hat, np.float64)
    psi = float_hyper_synthesis_f64(P["h_s"], np.asarray(z_hat, np.float64)[None])["out"][0][:y.shape[0], :y.shape[1]]
    r, psi_g = _packed(cfg, y, psi)
    Ts = 2 * cfg.n_cs - 1
    ctx = float_context_f64(P["ctx"], cfg.ctx, r[:, :Ts])
    ctx = np.concatenate([np.zeros_like(ctx[:, :1]), ctx], axis=1)
    o = float_ge_f64(P["g_e"], ctx, psi_g)[0]
    n = cfg.p_cs * cfg.k_mix
    shp = o.shape[:-1] + (cfg.p_cs, cfg.k_mix)
    return (o[..., :n].reshape(shp), o[..., n:2 * n].reshape(shp),
            np.exp(np.clip(o[..., 2 * n:], LOG_SCALE_MIN, LOG_SCALE_MAX)).reshape(shp))


def group_values(y_hat, positions) -> np.ndarray:
    """y_hat (H, W, M) values of one group in [ecf.C21] order: int64 (n_g,)."""
    y = np.asarray(y_hat)
    return y[positions[:, 0], positions[:, 1], positions[:, 2]].astype(np.int64)


def coded_bytes(y_hat, table_inputs: list, positions: list, *, radius: int, mean_grid: int) -> int:
    """Real coded size (bytes: ANS stream + escape payloads) of y_hat with per-group indices."""
    from ref.core import ans
    from ref.core.entropy_models import encode_mixture

    total = 0
    for (s, m, w), pos in zip(table_inputs, positions):
        groups, payload = encode_mixture(group_values(y_hat, pos), s, m, w, radius=radius, mean_grid=mean_grid)
        total += len(ans.encode_groups(groups)) + len(payload)
    return total


__all__ = ["DEFAULTS", "from_float", "float_context_f64", "float_ge_f64", "log_scale_thresholds",
           "float_table_inputs", "float_entropy_params_f64", "group_values", "coded_bytes"]
