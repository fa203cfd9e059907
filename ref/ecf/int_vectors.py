"""Golden vectors of the integer decoder-critical path of ecf (prefix ``ecf.int.``; spec/ecf.md
"The integer decoder-critical path").  Every output is an integer and EXACT.

The integer parameters are *inputs* (made once by ref.ecf.int_ptq.from_float from seeded
float parameters of a tiny model; PTQ is informative, the integers are what a port loads),
so a port reproduces the outputs from spec/ + these inputs alone.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector, allclose
from ref.conformance.trees import flatten, unflatten

PREFIX = "ecf_int."
TINY = dict(n_cs=2, p_cs=2, K=4, layers=2, d_e=8, heads=2, mlp_ratio=2, d_out=4, order="sfo")


def _tiny_cfg():
    from ref.ecf.context_model import ContextConfig
    from ref.ecf.model import EcfConfig

    return EcfConfig(quality=3, lam=0.0075, N=8, M=4, n_cs=2, ctx=ContextConfig(**TINY), k_mix=3, ge_hidden=(8,),
                     mean_grid=8, radius=64)


def _tiny_float(cfg, seed: int) -> dict:
    """Seeded float parameters in ref.ecf.model's layout (h_s, ctx, g_e) -- PCG64(seed)."""
    from ref.core.intnet_ptq import synthetic_hyper_synthesis
    from ref.ecf.window_attention import bias_table_size

    r = np.random.Generator(np.random.PCG64(seed))
    c = cfg.ctx

    def dense(n_in, n_out, std):
        return {"w": r.normal(0, std, (n_in, n_out)).astype(np.float32), "b": r.normal(0, 0.05, n_out).astype(np.float32)}

    def ln(d):
        return {"g": (1 + r.normal(0, 0.1, d)).astype(np.float32), "b": r.normal(0, 0.05, d).astype(np.float32)}

    d, m = c.d_e, c.mlp_ratio * c.d_e
    layers = [{"ln1": ln(d), "qkv": dense(d, 3 * d, d ** -0.5), "proj": dense(d, d, d ** -0.5),
               "rel_bias": r.normal(0, 1.0, (bias_table_size(c.n_cs, c.K), c.heads)).astype(np.float32),
               "ln2": ln(d), "fc1": dense(d, m, d ** -0.5), "fc2": dense(m, d, m ** -0.5)} for _ in range(c.layers)]
    ctx = {"embed": dense(c.p_cs, d, 0.5), "layers": layers, "ln_out": ln(d), "head": dense(d, c.d_out, d ** -0.5)}
    widths = [c.d_out + cfg.c_psi, *cfg.ge_hidden, 3 * cfg.p_cs * cfg.k_mix]
    g_e = {f"fc{i}": dense(widths[i], widths[i + 1], 2.0 * widths[i] ** -0.5) for i in range(len(widths) - 1)}
    return {"h_s": synthetic_hyper_synthesis(seed, cfg.N, cfg.M), "ctx": ctx, "g_e": g_e}


def _latent(cfg, seed: int, H: int = 4, W: int = 4):
    r = np.random.Generator(np.random.PCG64(seed))
    y = np.rint(r.laplace(0, 3, (H, W, cfg.M))).astype(np.int64)
    z = np.rint(r.laplace(0, 2, (H // 4, W // 4, cfg.N))).astype(np.int64)
    return y, z


def _inputs() -> dict:
    from ref.ecf.int_ptq import from_float

    cfg = _tiny_cfg()
    m = from_float(_tiny_float(cfg, 41), cfg, [_latent(cfg, 42, 8, 8), _latent(cfg, 43, 8, 8)])
    ins = {"p/" + k[len(PREFIX):].replace(".", "/"): v for k, v in m.to_tensors().items()}
    ins["y_hat"], ins["z_hat"] = _latent(cfg, 44)
    return ins


def _run(inputs) -> dict:
    from ref.ecf.int_model import IntEcf

    m = IntEcf.from_tensors({PREFIX + k[2:].replace("/", "."): v for k, v in inputs.items() if k.startswith("p/")})
    y, z = np.asarray(inputs["y_hat"]), np.asarray(inputs["z_hat"])
    tr: dict = {}
    psi = m.hyper(z, trace=tr)
    out = {k: v[0] for k, v in tr.items()}                       # hs_* and psi carry a batch axis
    groups = m.table_inputs_all(psi, y, trace=out)
    d = m.decoder(psi)
    for g, (s, mu, w) in enumerate(groups):
        out[f"g{g}_scale_idx"], out[f"g{g}_mean_idx"], out[f"g{g}_weight_int"] = s, mu, w
        ds, dm, dw = d.table_inputs(g)
        if not (np.array_equal(ds, s) and np.array_equal(dm, mu) and np.array_equal(dw, w)):
            raise AssertionError(f"cached decoder differs from the single pass in group {g}")
        pos = m.group_positions(g, *y.shape[:2])
        out[f"g{g}_positions"] = pos
        d.next_group(y[pos[:, 0], pos[:, 1], pos[:, 2]])
    for k in [k for k in out if k.startswith("gc_x")]:
        out[k] = out[k][0]
    out["gc_ctx"] = out["gc_ctx"][0]
    return {k: np.ascontiguousarray(np.asarray(v, np.int64)) for k, v in out.items()}


def _ptq_inputs() -> dict:
    cfg = _tiny_cfg()
    ins = flatten(_tiny_float(cfg, 41), "f/", sep="/", dtype=np.float32)
    for i, seed in enumerate((42, 43)):
        ins[f"calib{i}_y"], ins[f"calib{i}_z"] = _latent(cfg, seed, 8, 8)
    return ins


def _ptq_run(inputs) -> dict:
    from ref.ecf.int_ptq import from_float

    p = unflatten(inputs, "f/", sep="/")
    p["ctx"]["layers"] = [p["ctx"]["layers"][str(i)] for i in range(len(p["ctx"]["layers"]))]
    calib = [(inputs[f"calib{i}_y"], inputs[f"calib{i}_z"]) for i in range(2)]
    m = from_float(p, _tiny_cfg(), calib)
    return {k[len(PREFIX):].replace(".", "/"): v for k, v in m.to_tensors().items()}


_OUT = {
    "hs_z": "int64 (1, 1, 8): clip(z_hat, +-z_max) ([core.intnet_hs])",
    "hs_acc0": "int64 (2, 2, 4): first deconv accumulator ([core.intnet_deconv])",
    "hs_a0": "int64 (2, 2, 4): clip(rshift_round(acc0 mult, shift), 0, act_max)",
    "hs_acc1": "int64 (4, 4, 6): second deconv accumulator",
    "hs_a1": "int64 (4, 4, 6): ReLU-clipped requantised acc1",
    "hs_acc2": "int64 (4, 4, 8): conv accumulator of [core.intnet_hs]",
    "psi": "int64 (4, 4, 8): [ecf.int_hs] clip(rshift_round(acc2 psi_mult, psi_shift), +-act_max)",
    "gc_x0": "int64 (3, 4, 2, 8): [ecf.int_embed] of the slots 0..2 (egr_pack of y_hat's segments, [ecf.egr])",
    "gc_x1": "int64 (3, 4, 2, 8): after block 0 (W-SCA, [core.int_block] on 4 x 2 windows, Q16 bias, mask [ecf.C3]) and the rescale [ecf.C22]",
    "gc_x2": "int64 (3, 4, 2, 8): after block 1 (SW-SCA: roll (-2, -1), region mask [ecf.C6], roll back)",
    "gc_ctx": "int64 (3, 4, 2, 4): [ecf.int_gc] head(LN_out(x_2)); slot t = context of group t + 1",
    "g*_ge_h1": "int64 (4, 2, 8): [ecf.int_ge] hidden ReLU layer of g_e on concat(ctx (0 for group 0), psi at the group's positions [ecf.C4])",
    "g*_ge_acc": "int64 (4, 2, 18): [ecf.int_ge] last accumulator (logits | means | log-scales, [ecf.C9] layout)",
    "g*_logit_q16": "int64 (4, 2, 2, 3): [ecf.int_index] rshift_round(acc_w w_mult, w_shift)",
    "g*_scale_idx": "int64 (16, 3): [ecf.int_index] #{n : acc_s > T[ch, n]}; rows in [ecf.C21] order",
    "g*_mean_idx": "int64 (16, 3): [ecf.int_index] rshift_round(acc_m mean_mult, mean_shift) (grid 1/8)",
    "g*_weight_int": "int64 (16, 3): [ecf.C23] integer softmax with largest remainder, rows sum to 2^16; the KV-cached decoder gives the same (checked when the vector runs)",
    "g*_positions": "int64 (16, 3): [ecf.C21] (row, col, ch) of the group's elements in coding order",
}

VECTORS = [
    Vector(
        id="ecf.int.tiny", equations=("ecf.int_hs", "ecf.int_embed", "ecf.int_gc", "ecf.C22", "ecf.int_ge",
                                      "ecf.int_index", "ecf.C23", "ecf.C21", "ecf.C24", "ecf.kv"),
        function="ref.ecf.int_model.IntEcf.table_inputs_all", make_inputs=_inputs, run=_run, params={},
        description="every intermediate of the integer decoder-critical path on a 4 x 4 x 4 latent (N_cs 2, p_cs 2, "
                    "K 4, L 2, d_e 8, 2 heads, d_out 4, k 3); single pass == KV-cached decoder",
        inputs_doc={"p/*": "int64: the IntEcf parameters, [ecf.C24] layout with '/' for '.' (meta, h_s.net = "
                           "[core.C43], h_s.psi_*, ctx.embed/blocks/bias/rescale/ln_out/head/act_max, g_e.layers/"
                           "act_max/index); made by ref.ecf.int_ptq.from_float from PCG64(41) float parameters "
                           "calibrated on two 8 x 8 latents (informative)",
                    "y_hat": "int64 (4, 4, 4): latent, round(Laplace(0, 3)) (PCG64 seed 44)",
                    "z_hat": "int64 (1, 1, 8): hyper-latent, round(Laplace(0, 2))"},
        outputs_doc=_OUT),
    Vector(
        id="ecf.int.ptq", equations=("ecf.int_ptq",), function="ref.ecf.int_ptq.from_float",
        make_inputs=_ptq_inputs, run=_ptq_run, params={}, default_rule=allclose(rtol=0, atol=1),
        description="PTQ of the tiny float model into the integers of ecf.int.tiny (informative step; +-1 allowed)",
        inputs_doc={"f/*": "float32: tiny float ecf parameters (h_s, ctx, g_e of ref.ecf.model's layout; N 8, M 4, "
                           "N_cs 2, p_cs 2, K 4, L 2, d_e 8, 2 heads, d_out 4, g_e 12 -> 8 -> 18), PCG64(41)",
                    "calib*_y": "int64 (8, 8, 4): calibration latent y_hat", "calib*_z": "int64 (2, 2, 8): its z_hat"},
        outputs_doc={"*": "int64: [ecf.int_ptq] from_float(f, tiny cfg, calibration) in the [ecf.C24] layout "
                          "('/' for '.'); integers within +-1 (float64 calibration on another platform may round "
                          "a unit differently)"}),
]
