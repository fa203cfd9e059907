"""Golden vectors of HCF's cascade (ids ``hcf.cascade.*``; spec/hcf-cascade.md).

* ``hcf.cascade.policies``: Π(6, d; n_q) for d = 1, 2, 3 and every n_q, π^edge, π^late, π_*,
  π^* (exact integers).
* ``hcf.cascade.rqsi``: RQS and η on fixed (metric, rate) points, MS-SSIM in dB (float64).
* ``hcf.cascade.phi_tiny``: φ (M_k = 8 -> M_{k-1} = 12) with seeded random parameters on a
  fixed (1, 4, 5, 8) latent (float32, allclose).
* ``hcf.cascade.chain_tiny``: the cascade s = 3 -> d = 1 of three tiny base-codec levels
  (N = M = 8, random weights, integer h_s by post-training quantisation) on a fixed 64x64
  image under every policy of Π(3, 1; ·): F_{3->1} (float), ŷ^1 (exact) and x̂^1 (float).
* ``hcf.cascade.node_cost``: MACs and parameters of the φ module and of the DRF node for a
  768x512 image with the shipped widths (exact integers).

Regenerate: ``codecref golden regen --id hcf.cascade --write``.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.trees import flatten, unflatten
from ref.conformance.golden import Vector, allclose

F32 = np.float32
S_POL = 6
D_POL = (1, 2, 3)
TINY_N = TINY_M = 8
CHAIN_S, CHAIN_D = 3, 1


def _flat(prefix, tree, out, dtype=F32):
    """Store ``tree`` in ``out`` under ``prefix`` + "/"-joined paths (ref.conformance.trees)."""
    out.update(flatten(tree, prefix, sep="/", dtype=dtype))
    return out


def _unflat(inputs, prefix):
    tree = unflatten(inputs, prefix, sep="/")
    return _lists(tree)


def _lists(tree):
    """Dicts whose keys are 0..n-1 back to lists (the factorized prior's parameter lists)."""
    if not isinstance(tree, dict):
        return tree
    tree = {k: _lists(v) for k, v in tree.items()}
    if tree and all(k.isdigit() for k in tree) and sorted(map(int, tree)) == list(range(len(tree))):
        return [tree[str(i)] for i in range(len(tree))]
    return tree


# --------------------------------------------------------------------------- policies
def _policies_run(inputs):
    from ref.hcf.policy import edge_policy, late_policy, max_policy, min_policy, policy_space

    out = {}
    for d in D_POL:
        rows, nq, edge, late = [], [], [], []
        for n in range(1, S_POL - d + 2):
            sp = policy_space(S_POL, d, n)
            rows += sp
            nq += [n] * len(sp)
            edge.append(edge_policy(S_POL, d, n))
            late.append(late_policy(S_POL, d, n))
        out[f"space_d{d}"] = np.array(rows, np.int64)
        out[f"nq_d{d}"] = np.array(nq, np.int64)
        out[f"edge_d{d}"] = np.array(edge, np.int64)
        out[f"late_d{d}"] = np.array(late, np.int64)
        out[f"min_d{d}"] = np.array(min_policy(S_POL, d), np.int64)
        out[f"max_d{d}"] = np.array(max_policy(S_POL, d), np.int64)
    return out


def _policy_docs():
    docs = {}
    for d in D_POL:
        L = S_POL - d + 1
        docs[f"space_d{d}"] = (f"int64 (2^{S_POL - d}, {L}): Π({S_POL}, {d}; n_q) for n_q = 1 .. {L} concatenated, "
                               "each block in the normative order of [hcf.policy_space] (descending "
                               "lexicographic); a row is (π_s, ..., π_d)")
        docs[f"nq_d{d}"] = f"int64 (2^{S_POL - d},): n_q of each row of space_d{d} (its number of ones)"
        docs[f"edge_d{d}"] = f"int64 ({L}, {L}): row n_q - 1 is π^edge = [1^(n_q-1), 0^(s-d+1-n_q), 1] ([hcf.16])"
        docs[f"late_d{d}"] = f"int64 ({L}, {L}): row n_q - 1 is π^late = [0^(s-d+1-n_q), 1^(n_q)] ([hcf.C24])"
        docs[f"min_d{d}"] = f"int64 ({L},): π_* = [0, ..., 0, 1] ([hcf.ref_policies])"
        docs[f"max_d{d}"] = f"int64 ({L},): π^* = [1, ..., 1] ([hcf.ref_policies])"
    return docs


# --------------------------------------------------------------------------- rqsi
RQSI_POINTS = np.array([
    # metric_d, rate_d, metric_min_next, rate_min_next, metric_max_next, rate_max_next
    [30.0, 0.20, 31.0, 0.30, 30.5, 0.25],        # hand-worked: eta = 10
    [28.0, 0.10, 29.5, 0.16, 29.0, 0.13],
    [30.264, 0.1674, 31.1, 0.2405, 30.9, 0.2391],
    [12.0, 0.25, 12.0, 0.25, 13.0, 0.25],         # both rate differences below eps
    [27.929, 0.0951, 27.5, 0.0951 + 5e-7, 29.0, 0.05],
], np.float64)
MS_SSIM_VALUES = np.array([0.0, 0.5, 0.9, 0.95, 0.99, 0.9513655], np.float64)


def _rqsi_make():
    return {"points": RQSI_POINTS, "ms_ssim": MS_SSIM_VALUES}


def _rqsi_run(inputs, eps):
    from ref.hcf.rqsi import ms_ssim_db, rqs, rqsi

    pts = inputs["points"]
    r_min = [rqs((p[0], p[1]), (p[2], p[3]), eps) for p in pts]
    r_max = [rqs((p[0], p[1]), (p[4], p[5]), eps) for p in pts]
    eta = [rqsi((p[0], p[1]), (p[2], p[3]), (p[4], p[5]), eps) for p in pts]
    return {"rqs_min": np.array(r_min), "rqs_max": np.array(r_max), "eta": np.array(eta),
            "ms_ssim_db": np.array([ms_ssim_db(v) for v in inputs["ms_ssim"]])}


# --------------------------------------------------------------------------- phi
PHI_IN, PHI_OUT = 8, 12


def _phi_params():
    import jax

    from ref.hcf.transform import init_phi

    p = init_phi(jax.random.key(14), PHI_IN, PHI_OUT)
    # non-trivial GDN: gamma = 0.1 I + |noise| (stored values), beta ~ 1 +- 0.3
    rng = np.random.default_rng(14)
    g = p["rb_gdn"]["gdn"]
    h = PHI_IN // 2
    g["gamma"] = np.sqrt(0.1 * np.eye(h) + 0.05 * rng.random((h, h))).astype(F32)
    g["beta"] = np.sqrt(1.0 + 0.3 * (rng.random(h) - 0.5)).astype(F32)
    return jax.tree_util.tree_map(lambda a: np.asarray(a, F32), p)


def _phi_make():
    x = np.random.default_rng(7).normal(0.0, 2.0, (1, 4, 5, PHI_IN)).astype(F32)
    return {"x": x, **_flat("p/", _phi_params(), {})}


def _phi_run(inputs):
    import jax.numpy as jnp

    from ref.hcf.transform import phi

    p = _unflat(inputs, "p/")
    return {"y": np.asarray(phi(p, jnp.asarray(inputs["x"])), F32)}


# --------------------------------------------------------------------------- chain
def _tiny_level(seed: int):
    """Tiny base-codec level (hcf.C1 structure, N = M = 8): float params x 3 (so that z and y
    are not all zero) and the integer h_s from post-training quantisation on random z_hat."""
    import jax

    from ref.core.intnet import int_params_to_tensors
    from ref.core.intnet_ptq import quantize_hyper_synthesis
    from ref.hcf.model import init_params

    p = init_params(jax.random.key(100 + seed), TINY_N, TINY_M)
    p = jax.tree_util.tree_map(lambda a: np.asarray(a * 3.0 if a.ndim == 4 else a, F32), p)
    calib = np.random.default_rng(seed).integers(-6, 7, size=(2, 2, 3, TINY_N))
    p_int = quantize_hyper_synthesis(p["hyper"]["h_s"], calib, mean_grid=8)
    return p, int_params_to_tensors(p_int, prefix="h_s_int")


def _chain_make():
    import jax

    from ref.hcf.transform import init_cascade_modules

    inputs = {"x": np.random.default_rng(3).random((1, 64, 64, 3)).astype(F32)}
    for k in range(CHAIN_D, CHAIN_S + 1):
        p, hs_int = _tiny_level(k)
        if k == CHAIN_S:
            _flat(f"L{k}/g_a/", p["g_a"], inputs)
        if k == CHAIN_D:
            _flat(f"L{k}/g_s/", p["g_s"], inputs)
        _flat(f"L{k}/h_a/", p["hyper"]["h_a"], inputs)
        for name, v in hs_int.items():
            inputs[f"L{k}/{name}"] = np.asarray(v)
    mods = init_cascade_modules(jax.random.key(31), {k: TINY_M for k in range(CHAIN_D, CHAIN_S + 1)},
                                CHAIN_S, CHAIN_D)
    for k, pair in mods.items():
        _flat(f"phi{k}/", pair, inputs)
    return inputs


def _chain_policies():
    from ref.hcf.policy import policy_space

    return [pi for n in range(1, CHAIN_S - CHAIN_D + 2) for pi in policy_space(CHAIN_S, CHAIN_D, n)]


def _chain_run(inputs):
    from types import SimpleNamespace

    import jax.numpy as jnp

    from ref.core.intnet import int_params_from_tensors
    from ref.hcf.cascade import cascade, cascade_transform, coded_transmit
    from ref.hcf.model import analysis, synthesis

    levels = {}
    for k in range(CHAIN_D, CHAIN_S + 1):
        hs = {key[len(f"L{k}/"):]: v for key, v in inputs.items() if key.startswith(f"L{k}/h_s_int.")}
        levels[k] = SimpleNamespace(params={"hyper": {"h_a": _unflat(inputs, f"L{k}/h_a/")}},
                                    p_int=int_params_from_tensors(hs, prefix="h_s_int"))
    mods = {k: _unflat(inputs, f"phi{k}/") for k in range(CHAIN_S, CHAIN_D, -1)}
    g_a = {"g_a": _unflat(inputs, f"L{CHAIN_S}/g_a/")}
    g_s = {"g_s": _unflat(inputs, f"L{CHAIN_D}/g_s/")}
    tr = coded_transmit(levels)
    x = jnp.asarray(inputs["x"])
    y_s = analysis(g_a, x)
    out = {"y_s": np.asarray(y_s, F32)}
    for pi in _chain_policies():
        tag = "".join(map(str, pi))
        out[f"F_{tag}"] = np.asarray(cascade_transform(pi, CHAIN_S, CHAIN_D, mods, y_s, tr), F32)
        x_hat, y_hat = cascade(pi, CHAIN_S, x, analysis_s=lambda v: analysis(g_a, v),
                               synthesis_d=lambda v: synthesis(g_s, jnp.asarray(v)), modules=mods, transmit=tr)
        out[f"yhat_{tag}"] = np.asarray(y_hat, F32)
        out[f"xhat_{tag}"] = np.asarray(x_hat, F32)
    return out


def _chain_docs():
    docs = {"y_s": "float32 (1, 4, 4, 8): ỹ^3 = g_a^3(x) ([hcf.1] with L3/g_a)"}
    for pi in _chain_policies():
        tag = "".join(map(str, pi))
        docs[f"F_{tag}"] = (f"float32 (1, 4, 4, 8): ỹ^1 = F^π_{{3->1}}(ỹ^3) ([hcf.9]) for π = {list(pi)}: level 3 "
                            "then level 2 by [hcf.8] — π_k = 1: φ^inter_k(Q^k(ỹ)) [hcf.6] with Q^k the level-k "
                            "transmission of [hcf.C21] (L<k>/h_a, L<k>/h_s_int); π_k = 0: φ^intra_k(ỹ) [hcf.7]; "
                            "φ [hcf.phi]/[hcf.C20] with phi<k>/inter or phi<k>/intra")
        docs[f"yhat_{tag}"] = (f"float32 (1, 4, 4, 8): ŷ^1 = Q^1(F_{tag}) ([hcf.C21] at level 1: "
                               "r = round_half_even(ỹ - mean_idx/8), ŷ = r + mean_idx/8); exact")
        docs[f"xhat_{tag}"] = (f"float32 (1, 64, 64, 3): x̂^1 = g_s^1(yhat_{tag}) = C(3, 1, π)(x) ([hcf.10], "
                               "[hcf.5] with L1/g_s; not clipped)")
    return docs


# --------------------------------------------------------------------------- losses
def _losses_make():
    p, _ = _tiny_level(7)
    rng = np.random.default_rng(8)
    inputs = {"y_in": rng.normal(0.0, 2.0, (1, 4, 5, PHI_IN)).astype(F32),
              "target": rng.normal(0.0, 1.0, (1, 4, 5, PHI_OUT)).astype(F32),
              "x": rng.random((1, 64, 64, 3)).astype(F32),
              "y_tilde": rng.normal(0.0, 3.0, (1, 4, 4, TINY_M)).astype(F32)}
    _flat("phi/", _phi_params(), inputs)
    _flat("level/g_s/", p["g_s"], inputs)
    _flat("level/hyper/", p["hyper"], inputs)
    return inputs


def _losses_run(inputs, lam, seed):
    import jax
    import jax.numpy as jnp

    from ref.hcf.cascade_loss import distillation_loss, finetune_loss

    dl = distillation_loss(_unflat(inputs, "phi/"), jnp.asarray(inputs["y_in"]), jnp.asarray(inputs["target"]))
    level = {"g_s": _unflat(inputs, "level/g_s/"), "hyper": _unflat(inputs, "level/hyper/")}
    loss, mse, bpp = finetune_loss(level, lam, jnp.asarray(inputs["x"]), jnp.asarray(inputs["y_tilde"]),
                                   jax.random.key(seed))
    return {"distill": np.asarray(dl, F32), "rd_loss": np.asarray(loss, F32), "mse": np.asarray(mse, F32),
            "bpp": np.asarray(bpp, F32)}


# --------------------------------------------------------------------------- node cost
def _cost_run(inputs):
    from ref.hcf.complexity import node_cost, phi_macs_per_position, phi_param_count
    from ref.hcf.config import config_for

    widths = inputs["widths"]
    c = node_cost(config_for(6), config_for(5), 512, 768)
    return {"phi_macs": np.array([phi_macs_per_position(int(a), int(b)) for a, b in widths], np.int64),
            "phi_params": np.array([phi_param_count(int(a), int(b)) for a, b in widths], np.int64),
            "node_macs_768x512": np.array([c.drf_transforms, c.hcf_transforms, c.entropy], np.int64),
            "node_params": np.array([c.drf_params, c.hcf_params], np.int64)}


VECTORS = [
    Vector(
        id="hcf.cascade.policies",
        equations=("hcf.policy_space", "hcf.16", "hcf.C24", "hcf.ref_policies"),
        function="ref.hcf.policy.policy_space",
        make_inputs=lambda: {},
        run=lambda inputs: _policies_run(inputs),
        description=f"policy space Π({S_POL}, d; n_q) for d in {D_POL}, every n_q; edge, late, π_*, π^*",
        outputs_doc=_policy_docs(),
    ),
    Vector(
        id="hcf.cascade.rqsi",
        equations=("hcf.14", "hcf.15", "hcf.C22"),
        function="ref.hcf.rqsi.rqsi",
        make_inputs=_rqsi_make,
        run=lambda inputs, eps: _rqsi_run(inputs, eps),
        params={"eps": 1e-6},
        rules={"rqs_min": allclose(1e-12, 0.0), "rqs_max": allclose(1e-12, 0.0), "eta": allclose(1e-12, 0.0),
               "ms_ssim_db": allclose(1e-12, 0.0)},
        description="RQS (eq. 15), RQSI (eq. 14) on fixed (dB, bpp) points; MS-SSIM in dB",
        params_doc={"eps": "ε of eq. 15 in bpp ([hcf.C22])"},
        inputs_doc={"points": "float64 (5, 6): per row (M^d_π, R^d_π, M^{d+1}_{π_*}, R^{d+1}_{π_*}, M^{d+1}_{π^*}, "
                              "R^{d+1}_{π^*}); M in dB, R in bpp ([hcf.C22])",
                    "ms_ssim": "float64 (6,): MS-SSIM values in [0, 1)"},
        outputs_doc={"rqs_min": "float64 (5,): RQS(π, π_*) = |M3 - M1| / max(|R3 - R1|, eps) per row ([hcf.15]; "
                                "columns 1-based)",
                     "rqs_max": "float64 (5,): RQS(π, π^*) = |M5 - M1| / max(|R5 - R1|, eps) ([hcf.15])",
                     "eta": "float64 (5,): η = 0.5 (rqs_min + rqs_max) ([hcf.14])",
                     "ms_ssim_db": "float64 (6,): -10 log10(1 - ms_ssim) ([hcf.C22])"},
    ),
    Vector(
        id="hcf.cascade.phi_tiny",
        equations=("hcf.phi", "hcf.C20"),
        function="ref.hcf.transform.phi",
        make_inputs=_phi_make,
        run=lambda inputs: _phi_run(inputs),
        rules={"y": allclose(1e-5, 1e-5)},
        description="φ (8 -> 12 channels) of seeded random parameters on a fixed 4x5 latent",
        inputs_doc={"x": "float32 (1, 4, 5, 8): latent y^k (NHWC), N(0, 2^2) samples",
                    "p/*": "float32 φ parameters [hcf.C20]: p/down, p/rb_gdn (conv1, conv2, gdn beta/gamma stored "
                           "values [core.gdn]), p/attn (a0..b2 units conv1/conv2/conv3, b_out), p/rb (conv1, conv2), "
                           "p/up, p/out; conv w HWIO, b (c_out,)"},
        outputs_doc={"y": "float32 (1, 4, 5, 12): φ_{k->k-1}(x) of [hcf.C20]: t1 = lrelu(conv3x3 down), "
                          "t2 = RB_GDN [core.resblock_gdn], t3 = AB [core.attention_block], t4 = RB [core.resblock], "
                          "t5 = lrelu(conv3x3 up), y = conv3x3 out of (x + t5)"},
    ),
    Vector(
        id="hcf.cascade.chain_tiny",
        equations=("hcf.6", "hcf.7", "hcf.8", "hcf.9", "hcf.10", "hcf.C21", "hcf.phi"),
        function="ref.hcf.cascade.cascade",
        make_inputs=_chain_make,
        run=lambda inputs: _chain_run(inputs),
        rules={**{f"F_{''.join(map(str, pi))}": allclose(1e-4, 1e-4) for pi in _chain_policies()},
               **{f"xhat_{''.join(map(str, pi))}": allclose(1e-4, 1e-4) for pi in _chain_policies()},
               "y_s": allclose(1e-5, 1e-5)},
        description="cascade 3 -> 1 of tiny random levels (N = M = 8) on a 64x64 image, every policy of Π(3, 1; ·)",
        inputs_doc={"x": "float32 (1, 64, 64, 3): image in [0, 1] ([hcf.C4])",
                    "L3/g_a/*": "float32 g_a params of level 3 ([hcf.1]: conv0..conv3, gdn0..gdn2)",
                    "L1/g_s/*": "float32 g_s params of level 1 ([hcf.5]: deconv0..deconv3, igdn0..igdn2)",
                    "L?/h_a/*": "float32 h_a params of level k = 1, 2, 3 (L<k>/h_a/conv0..conv2, [core.hp_analysis])",
                    "L?/h_s_int.*": "integer h_s of level k (L<k>/h_s_int.<path>: the [core.C43] tensor layout "
                                    "with prefix h_s_int, spec/core-intnet.md)",
                    "phi?/*": "float32 φ params of level pair (k, k-1), k = 3, 2: phi<k>/inter/<path> = φ^inter, "
                              "phi<k>/intra/<path> = φ^intra, <path> as in hcf.cascade.phi_tiny ([hcf.C20])"},
        outputs_doc=_chain_docs(),
    ),
    Vector(
        id="hcf.cascade.losses",
        equations=("hcf.11", "hcf.12", "hcf.13"),
        function="ref.hcf.cascade_loss.finetune_loss",
        make_inputs=_losses_make,
        run=lambda inputs, lam, seed: _losses_run(inputs, lam, seed),
        params={"lam": 0.0075, "seed": 5},
        rules={"distill": allclose(1e-5, 1e-7), "rd_loss": allclose(1e-4, 1e-6), "mse": allclose(1e-4, 1e-8),
               "bpp": allclose(1e-4, 1e-6)},
        description="training objectives: distillation loss of a tiny φ (eqs. 11-12), RD fine-tuning loss (eq. 13)",
        params_doc={"lam": "λ_k of eq. 13 (hcf.C2 convention: times 255^2 on the MSE of x in [0, 1])",
                    "seed": "jax.random.key(seed) (threefry) draws the uniform rate noise of [core.hp_rate]"},
        inputs_doc={"y_in": "float32 (1, 4, 5, 8): module input (y~^k for φ^intra, y^^k for φ^inter)",
                    "target": "float32 (1, 4, 5, 12): g_a^{k-1}(x) stand-in",
                    "phi/*": "float32 φ params (8 -> 12) [hcf.C20], same paths as hcf.cascade.phi_tiny",
                    "x": "float32 (1, 64, 64, 3): image in [0, 1]",
                    "y_tilde": "float32 (1, 4, 4, 8): the cascade's latent at level k",
                    "level/g_s/*": "float32 g_s params of level k ([hcf.5])",
                    "level/hyper/*": "float32 hyperprior params of level k (h_a, h_s, z_prior; lists as 0, 1, ...)"},
        outputs_doc={"distill": "float32 (): mean((φ(y_in) - target)^2) ([hcf.11]/[hcf.12], mean over elements)",
                     "rd_loss": "float32 (): lam * 255^2 * mse + bpp ([hcf.13])",
                     "mse": "float32 (): mean((x - g_s(y^))^2), y^ = round(y_tilde - mu_g) + mu_g ([hcf.2], "
                            "mu_g from the float h_s of round(h_a(y_tilde)))",
                     "bpp": "float32 (): (bits_y + bits_z) / (64 * 64), noisy likelihoods ([core.hp_rate])"},
    ),
    Vector(
        id="hcf.cascade.node_cost",
        equations=("hcf.C23",),
        function="ref.hcf.complexity.node_cost",
        make_inputs=lambda: {"widths": np.array([[96, 96], [8, 12], [192, 192], [320, 192]], np.int64)},
        run=lambda inputs: _cost_run(inputs),
        description="MACs/params of φ for several widths; HCF vs DRF node, 768x512, shipped widths (hcf.C1)",
        inputs_doc={"widths": "int64 (4, 2): (M_k, M_{k-1}) pairs"},
        outputs_doc={"phi_macs": "int64 (4,): MACs of φ per latent position ([hcf.C23] formula)",
                     "phi_params": "int64 (4,): parameters of one φ (weights, biases, GDN beta, gamma)",
                     "node_macs_768x512": "int64 (3,): [g_s^6 + g_a^5, φ_{6->5} on the 48x32 latent, "
                                          "h_s^6 + h_a^5 + h_s^5] MACs for a 768x512 image, N = 64, M = 96 ([hcf.C23])",
                     "node_params": "int64 (2,): [g_s + g_a parameters, one φ's parameters]"},
    ),
]
