"""Golden vectors for quantisation, GDN, entropy models, integer tables and escape coding.

Integer outputs (indices, frequency tables, symbols, bitstreams) are EXACT on every platform.
Float outputs (likelihoods, GDN) carry a tolerance: they go through exp/erf/rsqrt and
reductions that differ by a few ulp across platforms (../shared/notes/platforms.md).
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import EXACT, Vector, allclose

F64_TOL = allclose(rtol=1e-9, atol=1e-15)   # float64 likelihoods / GDN: ulp-level drift only


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


# --------------------------------------------------------------------------- quantisation
def _quant_inputs() -> dict:
    ties = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1e15 + 0.5, -3.49999], dtype=np.float64)
    x = np.concatenate([ties, _rng(1).normal(0, 4, 24)])
    # the [core.quant_noise] draws are made once here, exactly as add_uniform_noise(PRNGKey(42), x)
    # draws them, and stored, so a port needs no JAX generator
    from ref.core import runtime

    runtime.configure_jax()  # x64 and the partitionable threefry, as in ref.core.quantization
    import jax

    u = jax.random.uniform(jax.random.PRNGKey(42), x.shape, dtype=np.float64, minval=-0.5, maxval=0.5)
    return {"x": x, "u": np.asarray(u, np.float64)}


def _quant_run(inputs) -> dict:
    import jax
    import jax.numpy as jnp

    from ref.core.quantization import quantize, ste_round, to_symbols

    x = jnp.asarray(inputs["x"])
    grad = jax.grad(lambda v: (ste_round(v) * jnp.arange(v.shape[0], dtype=v.dtype)).sum())(x)
    return {
        "round": np.asarray(quantize(x)),
        "symbols": to_symbols(inputs["x"]),
        "noisy": np.asarray(x + jnp.asarray(inputs["u"])),
        "ste_value": np.asarray(ste_round(x)),
        "ste_grad": np.asarray(grad),
    }


# --------------------------------------------------------------------------- GDN
def _gdn_inputs() -> dict:
    r = _rng(2)
    C = 5
    return {
        "beta_stored": r.uniform(-0.2, 1.5, C),          # includes values below the bound
        "gamma_stored": r.uniform(-0.1, 0.6, (C, C)),
        "x": r.normal(0, 2, (2, 3, 4, C)),
    }


def _gdn_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core.gdn import effective_params, gdn

    p = {"beta": jnp.asarray(inputs["beta_stored"]), "gamma": jnp.asarray(inputs["gamma_stored"])}
    beta, gamma = effective_params(p)
    x = jnp.asarray(inputs["x"])
    return {"beta": np.asarray(beta), "gamma": np.asarray(gamma),
            "gdn": np.asarray(gdn(p, x)), "igdn": np.asarray(gdn(p, x, inverse=True))}


# --------------------------------------------------------------------------- likelihoods
def _lik_inputs() -> dict:
    r = _rng(3)
    n = 40
    y = np.rint(r.normal(0, 6, n))
    return {
        "y": y,
        "mean": r.normal(0, 3, n),
        "scale": np.exp(r.uniform(np.log(0.05), np.log(40), n)),
        "gmm_logits": r.normal(0, 1, (n, 3)),
        "gmm_means": r.normal(0, 5, (n, 3)),
        "gmm_scales": np.exp(r.uniform(-2, 3, (n, 3))),
        "fact_y": np.rint(r.normal(0, 8, (10, 3))),
        **_factorized_param_arrays(),
    }


def _factorized_param_arrays(C: int = 3) -> dict:
    """A fixed, non-trivial factorized-density parameter set, stored as vector inputs
    ``H0..H3`` (C, f_{k+1}, f_k), ``b0..b3`` (C, f_{k+1}, 1), ``a0..a2`` (C, f_{k+1}, 1), float64."""
    r = _rng(11)
    f = (1, 3, 3, 3, 1)
    out = {f"H{k}": r.normal(0.3, 0.5, (C, f[k + 1], f[k])) for k in range(4)}
    out.update({f"b{k}": r.uniform(-0.5, 0.5, (C, f[k + 1], 1)) for k in range(4)})
    out.update({f"a{k}": r.normal(0, 0.7, (C, f[k + 1], 1)) for k in range(3)})
    return out


def _factorized_params(inputs: dict) -> dict:
    import jax.numpy as jnp

    return {"matrices": [jnp.asarray(inputs[f"H{k}"]) for k in range(4)],
            "biases": [jnp.asarray(inputs[f"b{k}"]) for k in range(4)],
            "factors": [jnp.asarray(inputs[f"a{k}"]) for k in range(3)]}


def _lik_run(inputs) -> dict:
    import jax.numpy as jnp

    from ref.core import entropy_models as E

    y, mu, s = (jnp.asarray(inputs[k]) for k in ("y", "mean", "scale"))
    return {
        "gaussian": np.asarray(E.gaussian_likelihood(y, mu, s)),
        "laplace": np.asarray(E.laplace_likelihood(y, mu, s)),
        "gmm": np.asarray(E.gmm_likelihood(y, jnp.asarray(inputs["gmm_logits"]),
                                           jnp.asarray(inputs["gmm_means"]), jnp.asarray(inputs["gmm_scales"]))),
        "factorized": np.asarray(E.factorized_likelihood(_factorized_params(inputs), jnp.asarray(inputs["fact_y"]))),
    }


# --------------------------------------------------------------------------- seam + tables
def _index_inputs() -> dict:
    from ref.core.tables import scale_table

    s = scale_table()
    scales = np.concatenate([[0.0, 0.05, 0.11, 1e9], s[::7], np.nextafter(s[::9], np.inf), _rng(4).uniform(0, 300, 16)])
    means = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0625, 0.0625, 0.1875, 3.3, -7.77, 1e6 + 0.25])
    return {"scales": scales, "means": means, "weights": _rng(5).dirichlet(np.ones(4), 6)}


def _index_run(inputs, mean_grid: int) -> dict:
    from ref.core import entropy_models as E

    q, m = E.split_mean(E.mean_index(inputs["means"], mean_grid), mean_grid)
    return {
        "scale_idx": E.scale_index(inputs["scales"]),
        "mean_idx": E.mean_index(inputs["means"], mean_grid),
        "mean_q": q,
        "mean_frac": m,
        "weight_int": E.quantize_weights(inputs["weights"]),
    }


def _masses_inputs() -> dict:
    m = _rng(6).integers(0, 2**20, (5, 9)).astype(np.int64)
    m[0, :] = 0
    m[0, 4] = 1                                     # one-hot row
    m[1, :] = 7                                     # all equal (tie rule)
    m = m * (2**32 // m.sum(axis=1, keepdims=True))
    m[:, -1] += 2**32 - m.sum(axis=1)
    return {"masses": m}


def _masses_run(inputs) -> dict:
    from ref.core.tables import quantize_masses

    return {"freqs": quantize_masses(inputs["masses"])}


def _counts_inputs() -> dict:
    rng = np.random.default_rng(11)
    counts = rng.integers(0, 5000, size=(4, 33)).astype(np.int64)
    counts[1, :30] = 0          # sparse histogram
    counts[2] = 0
    counts[2, 7] = 1            # single observation
    return {"counts": counts}


def _counts_run(inputs) -> dict:
    from ref.core.tables import freqs_from_counts

    return {"freqs": freqs_from_counts(inputs["counts"])}


def _counts_bytes_run(inputs) -> dict:
    from ref.core.histogram import counts_from_bytes, counts_to_bytes

    data = counts_to_bytes(inputs["counts"])
    c = inputs["counts"]
    return {"bytes": data, "decoded": counts_from_bytes(data, c.shape[0], c.shape[1])}


def _table_inputs() -> dict:
    return {"scale_idx": np.array([0, 1, 5, 13, 20, 31, 40, 52, 63], dtype=np.int64),
            "mean_frac": np.array([0, 3, 1, 0, 2, 3, 1, 0, 2], dtype=np.int64),
            "n": np.arange(-300, 301, 7, dtype=np.int64)}


def _table_run(inputs, family: str, radius: int, mean_grid: int) -> dict:
    from ref.core.tables import cdf_fixed, parametric_tables

    return {
        "freqs": parametric_tables(inputs["scale_idx"], inputs["mean_frac"], radius=radius,
                                   mean_grid=mean_grid, family=family),
        "cdf": cdf_fixed(inputs["n"][None, :], mean_grid, inputs["scale_idx"][:, None], family),
    }


def _gmm_inputs() -> dict:
    r = _rng(7)
    n, k = 6, 3
    return {"weights": r.dirichlet(np.ones(k), n), "means": r.normal(0, 6, (n, k)),
            "scales": np.exp(r.uniform(-2.5, 5, (n, k)))}


def _gmm_run(inputs, radius: int, mean_grid: int) -> dict:
    from ref.core import entropy_models as E
    from ref.core.tables import mixture_tables

    si, mi, wi = E.gmm_indices(inputs["weights"], inputs["means"], inputs["scales"], mean_grid)
    ts, centre = mixture_tables(si, mi, wi, radius=radius, mean_grid=mean_grid)
    return {"scale_idx": si, "mean_idx": mi, "weight_int": wi, "centre": centre, "freqs": ts.freqs}


def _fact_table_run(inputs, radius: int) -> dict:
    from ref.core.entropy_models import factorized_tables

    ts, off = factorized_tables(_factorized_params(inputs), radius)
    return {"freqs": ts.freqs, "offsets": off}


# --------------------------------------------------------------------------- bitstreams
def _stream_inputs() -> dict:
    r = _rng(8)
    n = 64
    mean = r.normal(0, 10, n)
    scale = np.exp(r.uniform(np.log(0.08), np.log(300), n))
    y = mean + scale * r.standard_normal(n)
    y[[5, 20, 40, 63]] = [2.0**61 + 12345.0, -(2.0**62), 700.0, -5000.0]    # escapes, incl. near-int64 extremes
    return {"y": y, "mean": mean, "scale": scale}


def _stream_run(inputs, radius: int, mean_grid: int, family: str) -> dict:
    from ref.core import ans
    from ref.core import entropy_models as E

    idx = E.conditional_indices(inputs["mean"], inputs["scale"], mean_grid)
    r = E.quantize_conditional(inputs["y"], idx)
    groups, payload = E.encode_conditional(r, idx, radius=radius, family=family)
    data = ans.encode_groups(groups)
    dec = ans.AnsDecoder(data)
    r_dec = E.decode_conditional(dec, idx, payload, radius=radius, family=family, mean_grid=mean_grid)
    dec.finish()
    return {"scale_idx": idx.scale_idx, "mean_idx": idx.mean_idx, "r": r, "symbols": groups[0][0],
            "table_idx": groups[0][2], "ans": data, "escape": payload, "decoded_r": r_dec,
            "y_hat_num": r_dec * mean_grid + idx.mean_idx}


def _mix_stream_inputs() -> dict:
    r = _rng(9)
    n, k = 32, 2
    w = r.dirichlet(np.ones(k), n)
    mu = r.normal(0, 8, (n, k))
    sc = np.exp(r.uniform(-1, 4, (n, k)))
    y = np.rint(mu[np.arange(n), w.argmax(1)] + r.normal(0, 4, n)).astype(np.int64)
    y[3] = 99999
    return {"y": y, "weights": w, "means": mu, "scales": sc}


def _mix_stream_run(inputs, radius: int, mean_grid: int) -> dict:
    from ref.core import ans
    from ref.core import entropy_models as E

    si, mi, wi = E.gmm_indices(inputs["weights"], inputs["means"], inputs["scales"], mean_grid)
    groups, payload = E.encode_mixture(inputs["y"], si, mi, wi, radius=radius, mean_grid=mean_grid)
    return {"ans": ans.encode_groups(groups), "escape": payload}


_FACT_DOCS = {
    **{f"H{k}": f"float64 (C=3, f{k + 1}, f{k}): matrix H_{k} of [core.lik_factorized] (filters f = (1, 3, 3, 3, 1)), used through softplus" for k in range(4)},
    **{f"b{k}": f"float64 (C=3, f{k + 1}, 1): bias b_{k} of [core.lik_factorized]" for k in range(4)},
    **{f"a{k}": f"float64 (C=3, f{k + 1}, 1): factor a_{k} of [core.lik_factorized] (used through tanh)" for k in range(3)},
}
_TABLE_PARAMS = {"family": "unit CDF family: 'gaussian' (normal_cdf) or 'laplace' (laplace_cdf) of [core.C6]",
                 "radius": "R: symbols 0..2R are residuals -R..R, symbol 2R+1 the escape ([core.C2]); K = 2R+2",
                 "mean_grid": "M: mean grid 1/M ([core.C5])"}


def _table_docs(family: str, eq: str) -> tuple[dict, dict]:
    ins = {"scale_idx": "int64 (9,): scale index s in 0..63 of each table ([core.C4] scale_table[s])",
           "mean_frac": "int64 (9,): sub-integer mean m in [0, M) of each table ([core.C5])",
           "n": "int64 (86,): numerators n = -300, -293, ..., 295 of CDF arguments x = n / (2M)"}
    outs = {"freqs": f"uint32 (9, 2R+2): table i = the [{eq}] table of (scale_idx[i], mean_frac[i]): bin-edge numerators n_j = 2M (j - R) - M - 2m, C_j = C(n_j) by [core.C6] with {family}_cdf, masses C_(j+1) - C_j for j = 0..2R, escape mass C_0 + 2**32 - C_(2R+1), quantised by [core.C3]",
            "cdf": f"int64 (9, 86): cdf[i, j] = C(n[j]) of [core.C6] with table {family}_cdf, mean grid M and scale index scale_idx[i] (integer CDF in units of 2**-32)"}
    return ins, outs


VECTORS = [
    Vector(
        id="core.entropy.quantize",
        equations=("core.quant_round", "core.quant_noise", "core.quant_ste", "core.C1"),
        function="ref.core.quantization.quantize",
        make_inputs=_quant_inputs, run=_quant_run,
        rules={"noisy": allclose(rtol=1e-15, atol=1e-15)},
        description="round half to even, int64 symbols, x + stored U(-1/2,1/2) noise, STE value and gradient",
        inputs_doc={"x": "float64 (32,): latents: ties -2.5..2.5, 1e15+0.5, -3.49999, then 24 normal values",
                    "u": "float64 (32,): the noise u of [core.quant_noise], values in [-0.5, 0.5): drawn once with jax.random.uniform(PRNGKey(42), (32,), float64, -0.5, 0.5) (threefry, partitionable; what ref.core.quantization.add_uniform_noise draws) and stored, so a port needs no JAX generator"},
        outputs_doc={"round": "float64 (32,): round_half_even(x) ([core.quant_round], tie rule [core.C1])",
                     "symbols": "int64 (32,): int64(round_half_even(x))",
                     "noisy": "float64 (32,): x + u elementwise in float64 ([core.quant_noise]); allclose 1e-15",
                     "ste_value": "float64 (32,): value of the straight-through rounding [core.quant_ste] = round_half_even(x)",
                     "ste_grad": "float64 (32,): gradient w.r.t. x of sum_i ste(x)_i * i: the STE passes gradient 1, so element i is i"},
    ),
    Vector(
        id="core.entropy.gdn",
        equations=("core.gdn", "core.gdn_reparam"),
        function="ref.core.gdn.gdn",
        make_inputs=_gdn_inputs, run=_gdn_run, default_rule=F64_TOL,
        description="stored (reparametrised) beta/gamma -> effective values; GDN and IGDN on (2,3,4,5) float64",
        inputs_doc={"beta_stored": "float64 (5,): stored (reparametrised) beta, some below the bound ([core.gdn_reparam])",
                    "gamma_stored": "float64 (5, 5): stored gamma (some negative)",
                    "x": "float64 (2, 3, 4, 5): input, channels last (C = 5)"},
        outputs_doc={"beta": "float64 (5,): effective beta = value(beta_stored; minimum 1e-6) of [core.gdn_reparam]",
                     "gamma": "float64 (5, 5): effective gamma = value(gamma_stored; minimum 0)",
                     "gdn": "float64 (2, 3, 4, 5): z_i = x_i * rsqrt(beta_i + sum_j gamma[i, j] x_j^2) ([core.gdn])",
                     "igdn": "float64 (2, 3, 4, 5): z_i = x_i * sqrt(beta_i + sum_j gamma[i, j] x_j^2) ([core.gdn], inverse)"},
    ),
    Vector(
        id="core.entropy.likelihoods",
        equations=("core.lik_gaussian", "core.lik_laplace", "core.lik_gmm", "core.lik_factorized"),
        function="ref.core.entropy_models.gaussian_likelihood",
        make_inputs=_lik_inputs, run=_lik_run, default_rule=F64_TOL,
        description="float64 training likelihoods (scale bound 0.11, likelihood bound 1e-9)",
        inputs_doc={"y": "float64 (40,): integer-valued latents", "mean": "float64 (40,): means mu",
                    "scale": "float64 (40,): scales (some below the bound 0.11)",
                    "gmm_logits": "float64 (40, 3): mixture logits (weights = softmax over the last axis)",
                    "gmm_means": "float64 (40, 3): component means", "gmm_scales": "float64 (40, 3): component scales",
                    "fact_y": "float64 (10, 3): integer-valued latents for the factorized density, channels last (C = 3)",
                    **_FACT_DOCS},
        outputs_doc={"gaussian": "float64 (40,): P(y) of [core.lik_gaussian] with mu = mean, sigma = scale, lower-bounded by 1e-9",
                     "laplace": "float64 (40,): P(y) of [core.lik_laplace] with b = scale, lower-bounded by 1e-9",
                     "gmm": "float64 (40,): P(y) of [core.lik_gmm] (softmax(gmm_logits), gmm_means, gmm_scales), lower-bounded by 1e-9",
                     "factorized": "float64 (10, 3): P(fact_y) of [core.lik_factorized] with parameters H0..H3, b0..b3, a0..a2 per channel, lower-bounded by 1e-9"},
    ),
    Vector(
        id="core.entropy.indices",
        equations=("core.C4", "core.C5", "core.C8"),
        function="ref.core.entropy_models.scale_index",
        make_inputs=_index_inputs, run=_index_run, params={"mean_grid": 4},
        description="float -> integer seam: scale index, mean index (grid 1/4), split, mixture weight integers",
        params_doc={"mean_grid": "M of [core.C5]"},
        inputs_doc={"scales": "float64 (38,): scales: 0, 0.05, 0.11, 1e9, every 7th table entry, the float64 just above every 9th entry, 16 uniform values in [0, 300)",
                    "means": "float64 (12,): means, including ties of mu*M",
                    "weights": "float64 (6, 4): mixture weights (rows sum to 1)"},
        outputs_doc={"scale_idx": "int64 (38,): scale_idx(sigma) = #{k in 0..62 : s_k < sigma} with the shipped scale_table ([core.C4])",
                     "mean_idx": "int64 (12,): round_half_even(mu * M) ([core.C5])",
                     "mean_q": "int64 (12,): q = mean_idx // M (floor)",
                     "mean_frac": "int64 (12,): m = mean_idx - M q, in [0, M)",
                     "weight_int": "int64 (6, 4): [core.C8] integer weights of each row (b = floor(w / sum w * 2**16) then +-1 corrections; rows sum to 2**16)"},
    ),
    Vector(
        id="core.entropy.quantize_masses",
        equations=("core.C2", "core.C3"),
        function="ref.core.tables.quantize_masses",
        make_inputs=_masses_inputs, run=_masses_run,
        description="largest-remainder quantiser of 2**32-mass rows to 2**24 frequencies",
        inputs_doc={"masses": "int64 (5, 9): integer masses, each row sums to 2**32 (row 0 one-hot, row 1 all equal)"},
        outputs_doc={"freqs": "uint32 (5, 9): [core.C3] with P = 32 per row: f_i = 1 + (m_i A >> 32), A = 2**24 - 9, then the d = 2**24 - sum f largest remainders (m_i A mod 2**32; ties to the lower index) get +1; rows sum to 2**24 ([core.C2])"},
    ),
    Vector(
        id="core.entropy.freqs_from_counts",
        equations=("core.C2", "core.C3"),
        function="ref.core.tables.freqs_from_counts",
        make_inputs=_counts_inputs, run=_counts_run,
        description="histogram counts (arbitrary totals) to 2**24 frequencies",
        inputs_doc={"counts": "int64 (4, 33): histogram counts per row (any total N >= 1; row 1 sparse, row 2 a single observation)"},
        outputs_doc={"freqs": "uint32 (4, 33): histogram form of [core.C3] per row: f_i = 1 + floor(c_i A / N), A = 2**24 - 33, N = row total, remainders c_i A mod N, the d largest get +1 (ties: lower index); rows sum to 2**24 ([core.C2])"},
    ),
    Vector(
        id="core.entropy.counts_bytes",
        equations=("core.counts_bytes",),
        function="ref.core.histogram.counts_to_bytes",
        make_inputs=_counts_inputs, run=_counts_bytes_run,
        description="varint serialisation of fitted histograms",
        inputs_doc={"counts": "int64 (4, 33): histogram counts (every row non-empty)"},
        outputs_doc={"bytes": "[core.counts_bytes] serialisation of the rows in order: per row varint lo, varint hi - lo, then varint c[lo..hi] ([bits.varint])",
                     "decoded": "int64 (4, 33): the bytes parsed back with K = 33 (equals counts)"},
    ),
    Vector(
        id="core.entropy.table_gaussian",
        equations=("core.table_gaussian", "core.C2", "core.C3", "core.C5", "core.C6"),
        function="ref.core.tables.parametric_tables",
        make_inputs=_table_inputs, run=_table_run,
        params={"family": "gaussian", "radius": 40, "mean_grid": 4},
        description="Gaussian tables for 9 (scale_idx, mean_frac) pairs, R=40, M=4, and the fixed-point CDF",
        params_doc=_TABLE_PARAMS,
        inputs_doc=_table_docs("normal", "core.table_gaussian")[0],
        outputs_doc=_table_docs("normal", "core.table_gaussian")[1],
    ),
    Vector(
        id="core.entropy.table_laplace",
        equations=("core.table_laplace", "core.C2", "core.C3", "core.C6"),
        function="ref.core.tables.parametric_tables",
        make_inputs=_table_inputs, run=_table_run,
        params={"family": "laplace", "radius": 40, "mean_grid": 4},
        description="Laplace tables for 9 (scale_idx, mean_frac) pairs, R=40, M=4, and the fixed-point CDF",
        params_doc=_TABLE_PARAMS,
        inputs_doc=_table_docs("laplace", "core.table_laplace")[0],
        outputs_doc=_table_docs("laplace", "core.table_laplace")[1],
    ),
    Vector(
        id="core.entropy.table_gmm",
        equations=("core.table_gmm", "core.C4", "core.C5", "core.C8"),
        function="ref.core.tables.mixture_tables",
        make_inputs=_gmm_inputs, run=_gmm_run, params={"radius": 24, "mean_grid": 8},
        description="3-component Gaussian mixtures: float params -> indices -> per-element tables",
        params_doc={"radius": _TABLE_PARAMS["radius"], "mean_grid": _TABLE_PARAMS["mean_grid"]},
        inputs_doc={"weights": "float64 (6, 3): mixture weights per element (rows sum to 1)",
                    "means": "float64 (6, 3): component means", "scales": "float64 (6, 3): component scales"},
        outputs_doc={"scale_idx": "int64 (6, 3): [core.C4] index of each component scale",
                     "mean_idx": "int64 (6, 3): [core.C5] round_half_even(mean * M) of each component (absolute)",
                     "weight_int": "int64 (6, 3): [core.C8] integer weights (rows sum to 2**16)",
                     "centre": "int64 (6,): centre = mean_idx[e, j*] // M with j* = argmax_j weight_int[e, j] (ties: lowest j), [core.table_gmm]",
                     "freqs": "uint32 (6, 2R+2): per element e the [core.table_gmm] table: C_i = (sum_j weight_int[e, j] * C_gauss(n_ij)) >> 16 with n_ij = 2M (i - R) - M - 2 (mean_idx[e, j] - M centre[e]), masses, escape mass and [core.C3] as in [core.table_gaussian]"},
    ),
    Vector(
        id="core.entropy.table_factorized",
        equations=("core.table_factorized", "core.C9"),
        function="ref.core.entropy_models.factorized_tables",
        make_inputs=_factorized_param_arrays, run=_fact_table_run, params={"radius": 16},
        rules={"freqs": allclose(rtol=0, atol=2)},
        description="checkpoint-time integer tables of a fixed factorized density (float evaluation: +-2 counts)",
        params_doc={"radius": "R of the tables ([core.C2]; K = 2R+2 = 34)"},
        inputs_doc=_FACT_DOCS,
        outputs_doc={"freqs": "uint32 (3, 34): per channel the [core.C9] table: median by 80 bisection steps on [-1e6, 1e6], o = round_half_even(median), C_i = clip(round_half_even(c(o + i - R - 1/2) * 2**32), 0, 2**32) for i = 0..2R+1 made monotone by a running maximum, then masses/escape/[core.C3] as [core.table_gaussian]; tolerance +-2 counts (float evaluation)",
                     "offsets": "int64 (3,): o_c per channel, exact"},
    ),
    Vector(
        id="core.entropy.stream_gaussian_escape",
        equations=("core.table_gaussian", "core.C4", "core.C5", "core.C7", "core.C1", "core.C31"),
        function="ref.core.entropy_models.encode_conditional",
        make_inputs=_stream_inputs, run=_stream_run,
        params={"radius": 64, "mean_grid": 2, "family": "gaussian"},
        description="Gaussian conditional quantiser + escape: indices, r = round(y - mean_idx/M), ANS bytes, "
                    "escape payload, decoded r and the y_hat numerator",
        inputs_doc={"y": "(64,) float64 latents (4 escape-sized values)", "mean": "(64,) float64 means",
                    "scale": "(64,) float64 scales"},
        params_doc={"radius": "R of the zero-mean tables", "mean_grid": "M of [core.C5]",
                    "family": "table family"},
        outputs_doc={"scale_idx": "[core.C4] of scale", "mean_idx": "[core.C5] round_half_even(mean * M)",
                     "r": "[core.C31] round_half_even(y - mean_idx / M), int64",
                     "symbols": "ANS symbols of r ([core.C7]: r + R, or 2R+1 for escapes)",
                     "table_idx": "table of each symbol = scale_idx (zero-mean tables, table_set(family, R, 1))",
                     "ans": "core.ans stream of the one group", "escape": "[core.C7] escape payload",
                     "decoded_r": "r decoded back", "y_hat_num": "M * r + mean_idx: y_hat = y_hat_num / M ([core.C31])"},
    ),
    Vector(
        id="core.entropy.stream_mixture",
        equations=("core.table_gmm", "core.C7", "core.C8"),
        function="ref.core.entropy_models.encode_mixture",
        make_inputs=_mix_stream_inputs, run=_mix_stream_run, params={"radius": 20, "mean_grid": 4},
        description="2-component mixture coding: ANS bytes and escape payload",
        params_doc={"radius": _TABLE_PARAMS["radius"], "mean_grid": _TABLE_PARAMS["mean_grid"]},
        inputs_doc={"y": "int64 (32,): integer latents (y[3] = 99999 escapes)",
                    "weights": "float64 (32, 2): mixture weights", "means": "float64 (32, 2): component means",
                    "scales": "float64 (32, 2): component scales"},
        outputs_doc={"ans": "[core.ans_bytes] stream of one group: element e coded with its own [core.table_gmm] table (table index e) from the [core.C8]/[core.C4]/[core.C5] indices of (weights, scales, means), residual y - centre mapped by [core.C7]",
                     "escape": "[core.C7] escape payload of the escaped residuals in element order"},
    ),
]

__all__ = ["VECTORS", "EXACT"]
