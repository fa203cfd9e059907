"""Golden vectors of the ecf framework (spec/ecf.md "Framework (eqs. 2a–3b)"), prefix ``ecf.model.``.

Float outputs of float32 networks carry an absolute + relative tolerance of 1e-4 (ulp-level
differences of exp / erf / GDN's rsqrt and of reduction order across platforms,
../shared/notes/platforms.md); the mixture likelihood is computed in float64 (rtol 1e-9);
the configuration is EXACT.  Network parameters are seeded, widths tiny.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import EXACT, Vector, allclose
from ref.conformance.trees import flatten, unflatten

F32 = np.float32
NET_TOL = allclose(rtol=1e-4, atol=1e-4)
GMM_TOL = allclose(rtol=1e-9, atol=0.0)
TINY = dict(N=8, M=16, n_cs=2, p_cs=8, K=4, layers=2, d_e=16, heads=2, mlp_ratio=2, d_out=8, ge_hidden=[16])


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _cfg(N, M, n_cs, p_cs, K, layers, d_e, heads, mlp_ratio, d_out, ge_hidden, lam=0.0075):
    from ref.ecf.context_model import ContextConfig
    from ref.ecf.model import EcfConfig

    return EcfConfig(quality=3, lam=lam, N=N, M=M, n_cs=n_cs, ge_hidden=tuple(ge_hidden),
                     ctx=ContextConfig(n_cs=n_cs, p_cs=p_cs, K=K, layers=layers, d_e=d_e, heads=heads,
                                       mlp_ratio=mlp_ratio, d_out=d_out))


def _tiny_params(seed: int = 21) -> dict:
    """init_params(key(seed), TINY) with GDN beta / gamma jittered by U(0, 0.3) (PCG64 seed 5) so
    that their layout matters."""
    import jax

    from ref.ecf.model import init_params

    p = jax.tree_util.tree_map(np.asarray, init_params(jax.random.key(seed), _cfg(**TINY)))
    r = _rng(5)
    for part, names in (("g_a", ("gdn0", "gdn1", "gdn2")), ("g_s", ("igdn0", "igdn1", "igdn2"))):
        for n in names:
            for k in ("beta", "gamma"):
                p[part][n][k] = (p[part][n][k] + r.uniform(0, 0.3, p[part][n][k].shape)).astype(F32)
    return p


def _tree(inputs, prefix):
    """Parameter tree back from vector inputs (lists restored from their "0", "1", ... keys)."""
    import jax.numpy as jnp

    def lists(node):
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):          # a list (ctx layers, z_prior matrices)
            return [lists(node[str(i)]) for i in range(len(node))]
        return {k: lists(v) for k, v in node.items()}

    return lists(unflatten({k: jnp.asarray(v) for k, v in inputs.items() if k.startswith(prefix)}, prefix, sep="/"))


# --------------------------------------------------------------------------- g_e
def _ge_inputs() -> dict:
    r = _rng(41)
    d_in, hid, p_cs, k = 8 + 12, 16, 4, 3
    p = {"fc0": {"w": r.normal(0, 0.5, (d_in, hid)), "b": r.normal(0, 0.5, hid)},
         "fc1": {"w": r.normal(0, 1.0, (hid, 3 * p_cs * k)), "b": r.normal(0, 1.0, 3 * p_cs * k)}}
    p["fc1"]["b"][2 * p_cs * k:] += np.linspace(-4, 7, p_cs * k)      # log-scales across and beyond the clip
    out = flatten(p, "p/", sep="/", dtype=F32)
    out["ctx"] = r.normal(0, 1, (2, 3, 8)).astype(F32)
    out["ctx"][0, 0] = 0.0                                             # a group-0 token (zero context)
    out["psi"] = r.normal(0, 2, (2, 3, 12)).astype(F32)
    return out


def _ge_run(inputs, k: int) -> dict:
    import jax.numpy as jnp

    from ref.ecf.model import g_e

    p = _tree(inputs, "p/")
    w, mu, sigma = g_e(p, jnp.asarray(inputs["ctx"]), jnp.asarray(inputs["psi"]), k)
    return {"w_logits": np.asarray(w, F32), "mu": np.asarray(mu, F32), "sigma": np.asarray(sigma, F32)}


# --------------------------------------------------------------------------- GMM likelihood
def _gmm_inputs() -> dict:
    r = _rng(42)
    n, k = 48, 3
    v = np.concatenate([np.rint(r.normal(0, 5, n // 2)), r.normal(0, 5, n // 2)])
    return {"v": v, "w_logits": r.normal(0, 2, (n, k)), "mu": r.normal(0, 4, (n, k)),
            "sigma": np.exp(r.uniform(np.log(0.05), np.log(60.0), (n, k)))}


def _gmm_run(inputs, mean_grid: int) -> dict:
    import jax.numpy as jnp

    from ref.ecf.gmm import gmm_bits, gmm_likelihood

    a = [jnp.asarray(inputs[k], jnp.float64) for k in ("v", "w_logits", "mu", "sigma")]
    return {"likelihood": np.asarray(gmm_likelihood(*a, mean_grid), np.float64),
            "bits": np.asarray([float(gmm_bits(*a, mean_grid))], np.float64)}


# --------------------------------------------------------------------------- transforms
def _tf_inputs() -> dict:
    p = _tiny_params()
    r = _rng(43)
    out = flatten({k: p[k] for k in ("g_a", "g_s", "h_a", "h_s")}, "p/", sep="/", dtype=F32)
    out["x"] = r.uniform(0, 1, (1, 32, 48, 3)).astype(F32)
    out["y_hat"] = np.rint(r.normal(0, 4, (1, 2, 3, 16))).astype(F32)
    out["z_hat"] = np.rint(r.normal(0, 3, (1, 1, 2, 8))).astype(F32)
    return out


def _tf_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.ecf.model import analysis, hyper_analysis, hyper_synthesis, synthesis

    p = _tree(inputs, "p/")
    y = analysis(p, jnp.asarray(inputs["x"]))
    return {"y": np.asarray(y, F32), "z": np.asarray(hyper_analysis(p, y), F32),
            "x_hat": np.asarray(synthesis(p, jnp.asarray(inputs["y_hat"])), F32),
            "psi": np.asarray(hyper_synthesis(p, jnp.asarray(inputs["z_hat"])), F32)}


# --------------------------------------------------------------------------- rate-distortion terms
def _rd_inputs() -> dict:
    p = _tiny_params()
    r = _rng(44)
    out = flatten(p, "p/", sep="/", dtype=F32)
    out["x"] = r.uniform(0, 1, (1, 64, 64, 3)).astype(F32)
    out["u_y"] = r.uniform(-0.5, 0.5, (1, 4, 4, 16)).astype(F32)
    out["u_z"] = r.uniform(-0.5, 0.5, (1, 1, 1, 8)).astype(F32)
    return out


def _rd_run(inputs, lam: float, **cfg_kw) -> dict:
    import jax.numpy as jnp

    from ref.ecf.model import rd_terms

    cfg = _cfg(**cfg_kw, lam=lam)
    p = _tree(inputs, "p/")
    x = jnp.asarray(inputs["x"])
    x_hat, by, bz = rd_terms(p, cfg, x, jnp.asarray(inputs["u_y"]), jnp.asarray(inputs["u_z"]))
    mse = float(np.mean((np.asarray(x, np.float64) - np.asarray(x_hat, np.float64)) ** 2))
    bpp = (float(by) + float(bz)) / (x.shape[0] * x.shape[1] * x.shape[2])
    return {"x_hat": np.asarray(x_hat, F32), "bits": np.asarray([float(by), float(bz)], np.float64),
            "loss": np.asarray([lam * 255.0**2 * mse + bpp], np.float64)}


# --------------------------------------------------------------------------- configuration
def _config_run(inputs) -> dict:
    from ref.ecf.model import LAMBDAS, PAD_MULTIPLE, config_for

    c = config_for(3)
    x = c.ctx
    return {"lambdas": np.asarray([LAMBDAS[q] for q in sorted(LAMBDAS)], np.float64),
            "widths": np.asarray([c.N, c.M, c.n_cs, c.p_cs, c.k_mix, c.mean_grid, c.radius, x.K, x.layers, x.d_e,
                                  x.heads, x.mlp_ratio, x.d_out, *c.ge_hidden, PAD_MULTIPLE], np.int64)}


_TINY_DOCS = {"N": "channels of g_a / g_s hidden layers and of z", "M": "latent channels",
              "n_cs": "N_cs", "p_cs": "channels per segment", "K": "attention span ([ecf.C6])",
              "layers": "L", "d_e": "embedding size", "heads": "h", "mlp_ratio": "d_mlp / d_e",
              "d_out": "context features per token", "ge_hidden": "hidden widths of g_e ([ecf.ge])"}
_P_DOC = ("float32: init_params(jax.random.key(21), tiny config) with every GDN beta / gamma (stored values, "
          "[core.gdn]) + U(0, 0.3) (PCG64 seed 5); keys '/'-joined paths of the [ecf.C10] tree")

VECTORS = [
    Vector(
        id="ecf.model.g_e", equations=("ecf.ge", "ecf.C9"), function="ref.ecf.model.g_e",
        make_inputs=_ge_inputs, run=_ge_run, params={"k": 3},
        rules={"w_logits": NET_TOL, "mu": NET_TOL, "sigma": NET_TOL},
        description="entropy-parameter MLP and its output split on 6 tokens (p_cs 4, k 3)",
        params_doc={"k": "mixture components"},
        inputs_doc={"p/*": "float32: g_e dense layers fc0 (20 -> 16), fc1 (16 -> 36) {w: (c_in, c_out), b}, "
                           "N(0, 0.5) / N(0, 1) (PCG64 seed 41), fc1/b's last 12 entries + linspace(-4, 7)",
                    "ctx": "float32 (2, 3, 8): context features (token (0, 0) zero, as group 0)",
                    "psi": "float32 (2, 3, 12): hyperprior features at the tokens"},
        outputs_doc={"w_logits": "float32 (2, 3, 4, 3): o[..., 0:12] reshaped (p_cs, k), o = fc1(relu(fc0([ctx, psi]))) ([ecf.ge], [ecf.C9]); tol 1e-4",
                     "mu": "float32 (2, 3, 4, 3): o[..., 12:24] reshaped (p_cs, k) ([ecf.C9]); tol 1e-4",
                     "sigma": "float32 (2, 3, 4, 3): exp(clip(o[..., 24:36], ln 0.11, ln 256)) ([ecf.C9]); rtol/atol 1e-4"}),
    Vector(
        id="ecf.model.gmm", equations=("ecf.gmm", "ecf.C9"), function="ref.ecf.gmm.gmm_likelihood",
        make_inputs=_gmm_inputs, run=_gmm_run, params={"mean_grid": 8},
        rules={"likelihood": GMM_TOL, "bits": GMM_TOL},
        description="3-component discretised Gaussian mixture likelihood, means on the grid 1/8, float64",
        params_doc={"mean_grid": "M_g of [core.C5]"},
        inputs_doc={"v": "float64 (48,): latent values (24 integers, 24 non-integers)",
                    "w_logits": "float64 (48, 3): mixture logits", "mu": "float64 (48, 3): component means (before snapping)",
                    "sigma": "float64 (48, 3): component scales (some below 0.11)"},
        outputs_doc={"likelihood": "float64 (48,): max(sum_j softmax(w_logits)_j [Phi((v - mu_g + 1/2)/s) - Phi((v - mu_g - 1/2)/s)], 1e-9), mu_g = round_half_even(8 mu)/8, s = max(sigma, 0.11) ([ecf.gmm]); rtol 1e-9",
                     "bits": "float64 (1,): sum -log2 likelihood; rtol 1e-9"}),
    Vector(
        id="ecf.model.transforms_tiny", equations=("ecf.ga", "ecf.gs", "ecf.C8"), function="ref.ecf.model.analysis",
        make_inputs=_tf_inputs, run=_tf_run, params={},
        rules={"y": NET_TOL, "z": NET_TOL, "x_hat": NET_TOL, "psi": NET_TOL},
        description="g_a, h_a, g_s and psi = h_s on seeded tiny networks (N 8, M 16)",
        params_doc={},
        inputs_doc={"p/*": _P_DOC + " (only g_a, g_s, h_a, h_s)", "x": "float32 (1, 32, 48, 3) image in [0, 1]",
                    "y_hat": "float32 (1, 2, 3, 16): integer latent", "z_hat": "float32 (1, 1, 2, 8): integer hyper-latent"},
        outputs_doc={"y": "float32 (1, 2, 3, 16): g_a(x) ([ecf.ga]); tol 1e-4",
                     "z": "float32 (1, 1, 1, 8): h_a(y) ([core.hp_analysis]); tol 1e-4",
                     "x_hat": "float32 (1, 32, 48, 3): g_s(y_hat) ([ecf.gs]); tol 1e-4",
                     "psi": "float32 (1, 4, 8, 32): h_s(z_hat), all 2M channels ([ecf.C8]); tol 1e-4"}),
    Vector(
        id="ecf.model.rd_tiny", equations=("ecf.3a", "ecf.C7", "ecf.ge", "ecf.gmm", "ecf.C9", "ecf.C8"),
        function="ref.ecf.model.rd_terms", make_inputs=_rd_inputs, run=_rd_run, params={"lam": 0.0075, **TINY},
        rules={"x_hat": NET_TOL, "bits": allclose(rtol=1e-4, atol=1e-3), "loss": allclose(rtol=1e-4, atol=1e-6)},
        description="the whole training pass (quantiser, g_c + g_e, GMM rate, factorized z rate, loss) with given noise",
        params_doc={"lam": "lambda ([ecf.3a])", **_TINY_DOCS},
        inputs_doc={"p/*": _P_DOC + " (all of g_a, g_s, h_a, h_s, z_prior, ctx, g_e)",
                    "x": "float32 (1, 64, 64, 3) image in [0, 1]",
                    "u_y": "float32 (1, 4, 4, 16): noise added to y for its rate ([ecf.C7])",
                    "u_z": "float32 (1, 1, 1, 8): noise added to z for its rate"},
        outputs_doc={"x_hat": "float32 (1, 64, 64, 3): g_s(round_half_even(g_a(x))) ([ecf.C7], [ecf.gs]); tol 1e-4",
                     "bits": "float64 (2,): [bits_y, bits_z]: bits_y = sum -log2 GMM(y + u_y) with g_e(g_c(groups of round(y)), psi = h_s(round(z))) ([ecf.gmm], [ecf.sfg]); bits_z = sum -log2 P_fact(z + u_z) ([core.lik_factorized]); rtol 1e-4",
                     "loss": "float64 (1,): lam 255^2 MSE(x, x_hat) + (bits_y + bits_z) / (64 * 64) ([ecf.3a]); rtol 1e-4"}),
    Vector(
        id="ecf.model.config", equations=("ecf.C10",), function="ref.ecf.model.config_for",
        make_inputs=lambda: {}, run=_config_run, params={}, rules={"lambdas": EXACT, "widths": EXACT},
        description="the reduced widths, lambdas and padding of the shipped ecf qualities",
        params_doc={}, inputs_doc={},
        outputs_doc={"lambdas": "float64 (6,): lambda of qualities 1..6 ([ecf.C10])",
                     "widths": "int64 (17,): N, M, N_cs, p_cs, k, mean grid, R, K, L, d_e, h, d_mlp / d_e, d_out, "
                               "g_e hidden widths (2), image padding multiple ([ecf.C10])"}),
]
