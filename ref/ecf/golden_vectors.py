"""Golden vectors of the ecf context model (spec/ecf.md).

Integer outputs (group maps, packing index maps, window / relative indices, regions) are
EXACT.  Float outputs (attention, contexts) are float32 JAX on seeded parameters; they carry
an absolute tolerance of 1e-5 (ulp-level differences of exp / rsqrt / erf and of reduction
order across platforms, ../shared/notes/platforms.md), and 1e-4 for the two-layer network.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.trees import flatten, unflatten
from ref.conformance.golden import Vector, allclose

F32 = np.float32
ATT_TOL = allclose(rtol=0, atol=1e-5)
NET_TOL = allclose(rtol=0, atol=1e-4)
TINY = dict(n_cs=2, p_cs=3, K=4, layers=2, d_e=16, heads=2, d_out=5, order="sfo")


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --------------------------------------------------------------------------- groups + EGR
def _groups_run(inputs, n_cs: int, H: int, W: int) -> dict:
    from ref.ecf.masks import group_map

    return {"sfo": group_map(n_cs, H, W, "sfo"), "cfo": group_map(n_cs, H, W, "cfo")}


def _egr_inputs() -> dict:
    return {"y": np.arange(1 * 4 * 6 * 6, dtype=np.int64).reshape(1, 4, 6, 6),
            "psi": np.arange(1 * 4 * 6 * 2, dtype=np.int64).reshape(1, 4, 6, 2)}


def _egr_run(inputs, n_cs: int, order: str) -> dict:
    from ref.ecf.egr import egr_pack
    from ref.ecf.segments import repeat_hyperprior, segment

    s = segment(inputs["y"], n_cs)
    return {"segments": np.ascontiguousarray(s), "r_hat": np.ascontiguousarray(egr_pack(s, order)),
            "psi_rep": np.ascontiguousarray(repeat_hyperprior(inputs["psi"], n_cs))}


# --------------------------------------------------------------------------- windows
def _window_inputs() -> dict:
    return {"x": np.arange(1 * 2 * 8 * 4, dtype=np.int64).reshape(1, 2, 8, 4, 1)}


def _window_run(inputs, n_cs: int, K: int, order: str) -> dict:
    from ref.ecf.egr import egr_window_coords
    from ref.ecf.window_attention import relative_position_index, shifted_window_regions, window_partition

    c = egr_window_coords(n_cs, K, order)
    return {"windows": np.asarray(window_partition(inputs["x"], K, K // 2))[..., 0],
            "coords": c, "rel_index": relative_position_index(c, c, n_cs, K),
            "regions_shifted": shifted_window_regions(8, 4, K, K // 2, K // 2, K // 4)}


# --------------------------------------------------------------------------- attention
def _att_inputs() -> dict:
    r = _rng(31)
    nW, S, d, h = 2, 6, 8, 2
    mask = np.where(np.arange(S)[None, :] <= np.arange(S)[:, None] // 2 * 2 + 1, 0.0, -np.inf)
    return {"q": r.normal(size=(nW, S, d)).astype(F32), "k": r.normal(size=(nW, S, d)).astype(F32),
            "v": r.normal(size=(nW, S, d)).astype(F32), "bias": r.normal(size=(h, S, S)).astype(F32),
            "mask": np.broadcast_to(mask, (nW, S, S)).astype(F32).copy()}


def _att_run(inputs, heads: int) -> dict:
    import jax.numpy as jnp

    from ref.ecf.window_attention import masked_multihead_attention

    a = masked_multihead_attention(*(jnp.asarray(inputs[k]) for k in ("q", "k", "v", "bias", "mask")), heads)
    return {"attn": np.asarray(a, F32)}


# --------------------------------------------------------------------------- context model
def _flat(prefix, tree, out, dtype=F32):
    """Store ``tree`` in ``out`` under ``prefix`` + "/"-joined paths (ref.conformance.trees)."""
    out.update(flatten(tree, prefix, sep="/", dtype=dtype))
    return out


def _unflat(inputs, prefix):
    tree = unflatten(inputs, prefix, sep="/")
    tree["layers"] = [tree["layers"][str(i)] for i in range(len(tree["layers"]))]
    return tree


def _cm_inputs() -> dict:
    import jax

    from ref.ecf.context_model import ContextConfig, init_context_model

    cfg = ContextConfig(**TINY)
    p = init_context_model(jax.random.PRNGKey(15), cfg)
    r = _rng(32)
    p["embed"]["w"] = p["embed"]["w"] * 30.0     # peaked attention (Swin init is near-uniform)
    for l in p["layers"]:                        # non-trivial biases / norms so they matter
        l["rel_bias"] = r.normal(size=l["rel_bias"].shape).astype(F32)
        l["ln1"]["b"] = r.normal(0, 0.1, l["ln1"]["b"].shape).astype(F32)
        l["qkv"]["w"] = l["qkv"]["w"] * 15.0
    ins = _flat("p/", jax.tree_util.tree_map(np.asarray, p), {})
    ins["segments"] = r.normal(size=(1, 2, 8, 8, 3)).astype(F32)
    return ins


def _cm_run(inputs, **cfg_kw) -> dict:
    import jax.numpy as jnp

    from ref.ecf.context_model import ContextConfig
    from ref.ecf.egr import egr_pack
    from ref.ecf.sfg import decoder_contexts, encoder_contexts

    cfg = ContextConfig(**cfg_kw)
    p = _unflat({k: jnp.asarray(v) for k, v in inputs.items()}, "p/")
    r = egr_pack(inputs["segments"], cfg.order)
    enc = np.asarray(encoder_contexts(p, cfg, r), F32)
    _, dec = decoder_contexts(p, cfg, (1, 8, 4), lambda g, ctx: r[:, g])
    return {"contexts": enc, "contexts_cached": np.asarray(dec, F32)}


_CFG_DOCS = {"n_cs": "N_cs channel segments ([ecf.C2])", "p_cs": "channels per segment",
             "K": "attention span K (packed window K x K/2, [ecf.C6])", "layers": "L (W-SCA, SW-SCA)",
             "d_e": "embedding size", "heads": "h", "d_out": "context features per token",
             "order": "coding order sfo ([ecf.groups])"}

VECTORS = [
    Vector(
        id="ecf.masks.groups_sfo", equations=("ecf.groups", "ecf.C1"), function="ref.ecf.masks.group_map",
        make_inputs=lambda: {}, run=_groups_run, params={"n_cs": 3, "H": 4, "W": 6},
        description="coding-group index of every latent element, sfo and cfo",
        params_doc={"n_cs": "N_cs", "H": "latent rows", "W": "latent columns"},
        inputs_doc={}, outputs_doc={
            "sfo": "int64 (3, 4, 6): g = 2 i + ((h + w) mod 2) ([ecf.groups] sfo, [ecf.C1] anchor = (h + w) even)",
            "cfo": "int64 (3, 4, 6): g = ((h + w) mod 2) N_cs + i ([ecf.groups] cfo)"}),
    Vector(
        id="ecf.egr.pack_index", equations=("ecf.segments", "ecf.egr", "ecf.C4", "ecf.C1"),
        function="ref.ecf.egr.egr_pack", make_inputs=_egr_inputs, run=_egr_run,
        params={"n_cs": 2, "order": "sfo"}, description="segment generator, EGR packing and hyperprior repetition on index tensors",
        params_doc={"n_cs": "N_cs", "order": "coding order ([ecf.groups])"},
        inputs_doc={"y": "int64 (1, 4, 6, 6): y[b, h, w, c] = its own flat index (latent, C = 6)",
                    "psi": "int64 (1, 4, 6, 2): hyperprior output stand-in (flat indices)"},
        outputs_doc={"segments": "int64 (1, 2, 4, 6, 3): [ecf.segments] s[b, i, h, w, c] = y[b, h, w, 3 i + c]",
                     "r_hat": "int64 (1, 4, 4, 3, 3): [ecf.egr] r[b, t, h, w'] = s[b, i, h, 2 w' + (h + pi) mod 2], (i, pi) = group t (sfo)",
                     "psi_rep": "int64 (1, 2, 4, 6, 2): [ecf.C4] psi repeated for each segment"}),
    Vector(
        id="ecf.window.egr_k4", equations=("ecf.window", "ecf.C5", "ecf.C6", "ecf.egr"),
        function="ref.ecf.window_attention.relative_position_index", make_inputs=_window_inputs, run=_window_run,
        params={"n_cs": 2, "K": 4, "order": "sfo"}, description="window partition, EGR window coordinates, relative bias index, shifted regions",
        params_doc={"n_cs": "N_cs", "K": "K (packed window K x K/2 = 4 x 2)", "order": "coding order"},
        inputs_doc={"x": "int64 (1, 2, 8, 4, 1): a (B, T, H, W', 1) tensor of flat indices"},
        outputs_doc={"windows": "int64 (4, 16): [ecf.window] window_partition(x, 4, 2), token order (t, a, b')",
                     "coords": "int64 (32, 4): (slot t, segment i, row a, unpacked column 2 b' + (a + pi) mod 2) of the 2 N_cs K K/2 = 32 tokens of a packed window ([ecf.egr])",
                     "rel_index": "int64 (32, 32): [ecf.C5] ((di + N_cs - 1)(2K - 1) + da + K - 1)(2K - 1) + db + K - 1",
                     "regions_shifted": "int64 (4, 8): [ecf.C6] Swin region ids of an 8 x 4 packed grid, window 4 x 2, shift (2, 1)"}),
    Vector(
        id="ecf.attention.tiny", equations=("ecf.1a", "ecf.1b", "ecf.C3"),
        function="ref.ecf.window_attention.masked_multihead_attention", make_inputs=_att_inputs, run=_att_run,
        params={"heads": 2}, rules={"attn": ATT_TOL}, description="masked multi-head attention on 2 windows of 6 tokens",
        params_doc={"heads": "h (d_k = 8 / 2 = 4)"},
        inputs_doc={"q": "float32 (2, 6, 8) queries", "k": "float32 (2, 6, 8) keys", "v": "float32 (2, 6, 8) values",
                    "bias": "float32 (2, 6, 6) relative bias per head", "mask": "float32 (2, 6, 6) 0 / -inf (block-causal, blocks of 2)"},
        outputs_doc={"attn": "float32 (2, 6, 8): concat_i softmax(Q_i K_i^T / sqrt(4) + bias_i + mask) V_i ([ecf.1b]); atol 1e-5"}),
    Vector(
        id="ecf.cm.tiny_sfg_kv", equations=("ecf.cm", "ecf.C2", "ecf.sfg", "ecf.kv", "ecf.egr"),
        function="ref.ecf.sfg.encoder_contexts", make_inputs=_cm_inputs, run=_cm_run, params=TINY,
        rules={"contexts": NET_TOL, "contexts_cached": NET_TOL},
        description="2-layer context model on seeded parameters: single pass and KV-cached decoder",
        params_doc=_CFG_DOCS,
        inputs_doc={"p/*": "float32: init_context_model(PRNGKey(15), cfg) with embed/w x 30, qkv/w x 15, rel_bias ~ N(0,1), ln1/b ~ N(0, 0.1) (PCG64 seed 32); keys embed/{w,b}, layers/<l>/{ln1,qkv,proj,rel_bias,ln2,fc1,fc2}, ln_out, head ([ecf.cm])",
                    "segments": "float32 (1, 2, 8, 8, 3): s_hat (B, N_cs, H, W, p_cs)"},
        outputs_doc={"contexts": "float32 (1, 4, 8, 4, 5): [ecf.sfg] group 0 zeros, group g = slot g - 1 of the masked single pass over egr_pack(s_hat)[:, :3]; atol 1e-4",
                     "contexts_cached": "float32 (1, 4, 8, 4, 5): the same from 3 KV-cached steps ([ecf.kv]); equals contexts within 1e-5"}),
]
