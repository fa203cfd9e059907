"""Golden vectors for the mean-scale hyperprior (spec/core-hyperprior.md).

* ``core.hyperprior.networks``: h_a and h_s (float32, tolerance) and the float path's indices
  (exact: the stored inputs keep every scale and mean * M at least 1e-3 relative away from a
  bin boundary, checked when the vector is made, so platform drift of an ulp cannot flip them).
* ``core.hyperprior.rate_terms``: the training forward in float64 (tolerance).
* ``core.hyperprior.stream``: coding of a fixed small latent with fixed integer indices and
  fixed integer z tables: every section byte EXACT, with escapes in both streams.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.trees import flatten as _flat
from ref.conformance.golden import Vector, allclose

F32_TOL = allclose(rtol=1e-4, atol=1e-4)
F64_TOL = allclose(rtol=1e-9, atol=1e-9)
N_, M_ = 3, 4


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _conv_p(r, k, ci, co, dtype) -> dict:
    s = 1.0 / np.sqrt(ci * k * k)
    return {"w": r.uniform(-s, s, (k, k, ci, co)).astype(dtype), "b": r.uniform(-0.2, 0.2, co).astype(dtype)}


def _unflat_nets(inputs: dict) -> dict:
    import jax.numpy as jnp

    p: dict = {"h_a": {}, "h_s": {}}
    for name, v in inputs.items():
        parts = name.split(".")
        if parts[0] in ("h_a", "h_s"):
            p[parts[0]].setdefault(parts[1], {})[parts[2]] = jnp.asarray(v)
    return p


def _z_prior(inputs: dict) -> dict:
    import jax.numpy as jnp

    return {k: [jnp.asarray(inputs[f"z_prior.{k}.{i}"]) for i in range(n)]
            for k, n in (("matrices", 4), ("biases", 4), ("factors", 3))}


def _nets(r, dtype) -> dict:
    M, N = M_, N_
    return {"h_a": {"conv0": _conv_p(r, 3, M, N, dtype), "conv1": _conv_p(r, 5, N, N, dtype),
                    "conv2": _conv_p(r, 5, N, N, dtype)},
            "h_s": {"deconv0": _conv_p(r, 5, N, M, dtype), "deconv1": _conv_p(r, 5, M, 3 * M // 2, dtype),
                    "conv2": _conv_p(r, 3, 3 * M // 2, 2 * M, dtype)}}


# --------------------------------------------------------------------------- networks
def _net_inputs() -> dict:
    from ref.core.tables import scale_table

    for seed in range(200, 400):                         # first seed whose float indices have margin
        r = _rng(seed)
        inputs = {"y": r.normal(0, 2, (1, 6, 7, M_)).astype(np.float32),
                  "z_hat": r.integers(-6, 7, (1, 2, 2, N_)).astype(np.int64), **_flat(_nets(r, np.float32))}
        out = _net_run(inputs, 8, _margin_only=True)
        sc, mu = out["scale"].astype(np.float64), out["mean"].astype(np.float64) * 8
        s = scale_table()[:-1]
        d_s = np.min(np.abs(sc[..., None] - s) / s, axis=-1)
        d_m = np.abs(mu - np.floor(mu) - 0.5)
        if d_s.min() > 1e-3 and d_m.min() > 1e-3 * np.maximum(1, np.abs(mu)).max():
            return inputs
    raise RuntimeError("no seed with margin")


def _net_run(inputs, mean_grid: int, _margin_only: bool = False) -> dict:
    import jax.numpy as jnp

    from ref.core import entropy_models as E
    from ref.core.hyperprior import hyper_analysis, hyper_synthesis

    p = _unflat_nets(inputs)
    z = np.asarray(hyper_analysis(p, jnp.asarray(inputs["y"])))
    scale, mean = (np.asarray(a) for a in hyper_synthesis(p, jnp.asarray(inputs["z_hat"])))
    out = {"z": z, "scale": scale, "mean": mean}
    if not _margin_only:
        idx = E.conditional_indices(mean, scale, mean_grid)
        out.update(scale_idx=idx.scale_idx, mean_idx=idx.mean_idx)
    return out


# --------------------------------------------------------------------------- rate terms
def _rate_inputs() -> dict:
    r = _rng(401)
    from ref.conformance.core_vectors.entropy_vectors import _factorized_param_arrays

    fp = _factorized_param_arrays(N_)
    return {"y": r.normal(0, 2.5, (1, 6, 7, M_)), **_flat(_nets(r, np.float64)),
            **{f"z_prior.matrices.{i}": fp[f"H{i}"] for i in range(4)},
            **{f"z_prior.biases.{i}": fp[f"b{i}"] for i in range(4)},
            **{f"z_prior.factors.{i}": fp[f"a{i}"] for i in range(3)}}


def _rate_run(inputs, seed: int, mean_grid: int) -> dict:
    import jax
    import jax.numpy as jnp

    from ref.core.hyperprior import rate_terms

    p = {**_unflat_nets(inputs), "z_prior": _z_prior(inputs)}
    out = rate_terms(p, jnp.asarray(inputs["y"]), jax.random.PRNGKey(seed), mean_grid=mean_grid)
    return {k: np.asarray(out[k]) for k in ("y_hat", "z_hat", "bits_y", "bits_z", "lik_y", "lik_z")}


# --------------------------------------------------------------------------- stream
def _stream_inputs() -> dict:
    from ref.conformance.core_vectors.entropy_vectors import _factorized_param_arrays, _factorized_params
    from ref.core.entropy_models import factorized_tables

    r = _rng(402)
    H, W = 5, 6
    ts, off = factorized_tables(_factorized_params(_factorized_param_arrays(N_)), 8)
    z_hat = (off + r.integers(-3, 4, (1, 2, 2, N_))).astype(np.int64)
    z_hat[0, 1, 1, 2] = off[2] + 40                               # z escape (R_z = 8)
    scale_idx = r.integers(0, 64, (1, 8, 8, M_)).astype(np.int64)  # (1, 4h, 4w, M): cropped to 5x6
    mean_idx = r.integers(-80, 81, (1, 8, 8, M_)).astype(np.int64)
    from ref.core.tables import scale_table

    y = mean_idx[:, :H, :W] / 8 + scale_table()[scale_idx[:, :H, :W]] * r.standard_normal((1, H, W, M_))
    y[0, 0, 0, 0] = 500.25                                        # y escapes (R = 24)
    y[0, 4, 5, 3] = -3000.0
    return {"y": y, "z_hat": z_hat, "z_freqs": ts.freqs, "z_offsets": off, "scale_idx": scale_idx,
            "mean_idx": mean_idx}


def _stream_run(inputs, mean_grid: int, radius: int) -> dict:
    from ref.core import entropy_models as E
    from ref.core.hyperprior import decode_hyperprior, encode_hyperprior
    from ref.core.tables import TableSet

    ts = TableSet(np.asarray(inputs["z_freqs"]), (inputs["z_freqs"].shape[1] - 2) // 2)
    idx = E.ConditionalIndices(inputs["scale_idx"], inputs["mean_idx"], mean_grid)
    fn = lambda z_hat: idx  # noqa: E731  (fixed indices stand for the decoder-critical path)
    sec, y_hat = encode_hyperprior(inputs["y"], inputs["z_hat"], ts, inputs["z_offsets"], fn, radius=radius)
    y_dec, z_dec = decode_hyperprior(sec, ts, inputs["z_offsets"], fn, expect_mean_grid=mean_grid)
    H, W = inputs["y"].shape[1:3]
    crop = idx.crop((1, H, W, M_))
    r = E.quantize_conditional(inputs["y"], crop)
    return {**{f"section.{k}": v for k, v in sec.items()}, "r": r, "y_hat_num": r * mean_grid + crop.mean_idx,
            "y_hat": y_hat, "decoded_y_hat": y_dec, "decoded_z_hat": z_dec}


_NET_DOC = ("'h_a.convK.w'/'.b', 'h_s.deconvK.w'/'.b', 'h_s.conv2.w'/'.b': conv weights HWIO (deconv: correlation "
            "form [core.C30]) and biases")

VECTORS = [
    Vector(
        id="core.hyperprior.networks",
        equations=("core.hp_analysis", "core.hp_synthesis", "core.C33", "core.C32"),
        function="ref.core.hyperprior.hyper_synthesis",
        make_inputs=_net_inputs, run=_net_run, params={"mean_grid": 8},
        rules={"z": F32_TOL, "scale": F32_TOL, "mean": F32_TOL},
        description="h_a on a (1,6,7,4) float32 latent (N=3, M=4); h_s on a fixed (1,2,2,3) z_hat; float-path indices",
        inputs_doc={"y": "(1,6,7,4) float32 latent", "z_hat": "(1,2,2,3) int64 hyper-latent (input of h_s)",
                    "h_a.*": _NET_DOC, "h_s.*": _NET_DOC},
        params_doc={"mean_grid": "M_g of [core.C5]"},
        outputs_doc={"z": "[core.hp_analysis] h_a(y): (1,2,2,3)",
                     "scale": "[core.hp_synthesis] channels 0..3 of h_s(z_hat): (1,8,8,4)",
                     "mean": "[core.hp_synthesis] channels 4..7 of h_s(z_hat)",
                     "scale_idx": "[core.C4] of scale (float path [core.C32]; inputs keep >= 1e-3 relative margin)",
                     "mean_idx": "[core.C5] round_half_even(mean * 8) (float path; margin as above)"},
    ),
    Vector(
        id="core.hyperprior.rate_terms",
        equations=("core.hp_rate", "core.C31", "core.lik_gaussian", "core.lik_factorized"),
        function="ref.core.hyperprior.rate_terms",
        make_inputs=_rate_inputs, run=_rate_run, params={"seed": 7, "mean_grid": 8},
        default_rule=F64_TOL,
        description="training forward in float64: y_hat = ste(y - mu_g) + mu_g, noisy rate terms of y and z",
        inputs_doc={"y": "(1,6,7,4) float64 latent", "h_a.*": _NET_DOC, "h_s.*": _NET_DOC,
                    "z_prior.*": "factorized density (N=3, filters 3,3,3): matrices.k (3,f_k+1,f_k), biases.k, "
                                 "factors.k [core.lik_factorized]"},
        params_doc={"seed": "jax.random.PRNGKey(seed), split into (key_y, key_z) [core.hp_rate]",
                    "mean_grid": "M_g"},
        outputs_doc={"y_hat": "ste_round(y - mu_g) + mu_g, mu_g = round(mean*8)/8 of h_s(ste_round(h_a(y)))",
                     "z_hat": "round(h_a(y))", "lik_y": "P_N(y + u_y | mu_g, max(scale, 0.11))",
                     "lik_z": "P_fact(z + u_z)", "bits_y": "sum -log2 lik_y", "bits_z": "sum -log2 lik_z"},
    ),
    Vector(
        id="core.hyperprior.stream",
        equations=("core.hp_sections", "core.C31", "core.C7", "core.C9", "core.C5"),
        function="ref.core.hyperprior.encode_hyperprior",
        make_inputs=_stream_inputs, run=_stream_run, params={"mean_grid": 8, "radius": 24},
        description="coding of a fixed (1,5,6,4) latent with fixed indices (1,8,8,4) cropped to 5x6, fixed z tables; "
                    "escapes in both streams; all section bytes exact",
        inputs_doc={"y": "(1,5,6,4) float64 latent (two escape-sized values)",
                    "z_hat": "(1,2,2,3) int64 hyper-latent (one value 40 above its offset: escape with R_z = 8)",
                    "z_freqs": "(3,18) uint32 factorized tables of the checkpoint [core.C9], R_z = 8",
                    "z_offsets": "(3,) int64 offsets o_c [core.C9]",
                    "scale_idx": "(1,8,8,4) int64 [core.C4] indices = what indices_fn returns (any path)",
                    "mean_idx": "(1,8,8,4) int64 [core.C5] indices on grid 1/8"},
        params_doc={"mean_grid": "M_g carried by the indices and written to the shape section",
                    "radius": "R of the y tables"},
        outputs_doc={"section.shape": "varints H=5, W=6, M=4, h=2, w=2, N=3, M_g=8, R=24 [core.hp_sections]",
                     "section.z": "core.ans bytes of z_hat - o_c, table c", "section.z_esc": "[core.C7] payload of z",
                     "section.y": "core.ans bytes of r, zero-mean table scale_idx (cropped) [core.C31]",
                     "section.y_esc": "[core.C7] payload of y",
                     "r": "round_half_even(y - mean_idx/8) on the cropped indices",
                     "y_hat_num": "8*r + mean_idx", "y_hat": "float32(y_hat_num / 8) (encoder's copy)",
                     "decoded_y_hat": "decoder output, equal to y_hat", "decoded_z_hat": "decoder's z_hat"},
    ),
]
