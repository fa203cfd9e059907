"""Golden vectors for k-NN distances and the Kozachenko-Leonenko estimate (spec/core-knn.md).

Max-norm distances are EXACT (bit-identical float64: no rounding beyond one subtraction per
term); Euclidean distances allclose(rtol=1e-13); entropies allclose(rtol=1e-12).
Inputs come from the codecref PRNG (exact multiples of 2**-24 or small integers), so a
porter can also regenerate them.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector, allclose
from ref.core.errors import InputError
from ref.core.kl_entropy import dither_quantised, kl_entropy_from_distances, latent_samples
from ref.core.knn import knn_distances
from ref.core.prng import Pcg32

H_RULE = allclose(rtol=1e-12, atol=0.0)
EUCLID_RULE = allclose(rtol=1e-13, atol=0.0)


def _uniform_inputs(seed: int, n: int, d: int) -> dict:
    """x = 8 * uniform01 - 4 (exact), uniform01 from Pcg32(seed, 0), row-major (n, d)."""
    u = Pcg32(seed, 0).uniform01_array(n * d)
    return {"x": (8.0 * u - 4.0).reshape(n, d)}


def _estimate(inputs, k: int, norm: str) -> dict:
    x = inputs["x"]
    rho = knn_distances(x, k, norm, progress=False)
    return {
        "rho": rho,
        "h_nats": np.float64(kl_entropy_from_distances(rho[:, k - 1], x.shape[1], k, norm, "nats")),
        "h_bits": np.float64(kl_entropy_from_distances(rho[:, k - 1], x.shape[1], k, norm, "bits")),
    }


def _duplicates_inputs() -> dict:
    """40 samples in d = 2 with integer coordinates 0..2 (bounded(3) draws, Pcg32(5, 0))."""
    return {"x": Pcg32(5, 0).bounded_array(3, 80).astype(np.float64).reshape(40, 2)}


def _duplicates(inputs, k: int) -> dict:
    x = inputs["x"]
    rho = knn_distances(x, k, "max", progress=False)
    try:
        kl_entropy_from_distances(rho[:, k - 1], x.shape[1], k, "max")
        raised = 0
    except InputError:
        raised = 1
    return {"rho": rho, "zero_rho_k": np.int64(np.count_nonzero(rho[:, k - 1] == 0.0)),
            "estimate_raises": np.uint8(raised)}


def _latent_inputs() -> dict:
    """An integer latent (1, 6, 7, 4): bounded(9) - 4 draws from Pcg32(9, 0), NHWC order."""
    q = Pcg32(9, 0).bounded_array(9, 6 * 7 * 4).astype(np.int64) - 4
    return {"latent": q.reshape(1, 6, 7, 4).astype(np.float64)}


def _latent(inputs, seed: int, k: int) -> dict:
    x = dither_quantised(latent_samples(inputs["latent"]), seed)
    rho = knn_distances(x, k, "max", progress=False)
    return {
        "samples": x,
        "rho": rho,
        "h_nats": np.float64(kl_entropy_from_distances(rho[:, k - 1], x.shape[1], k, "max", "nats")),
        "h_bits": np.float64(kl_entropy_from_distances(rho[:, k - 1], x.shape[1], k, "max", "bits")),
    }


_X_DOC = "x (N, d) float64: 8*u - 4 with u = uniform01 draws of Pcg32(seed, 0) ([core.prng_uniform01]), row-major"
_EST_OUT = {
    "rho": "(N, k) float64: row i = the k smallest distances from x_i to x_j, j != i, ascending [core.knn_search]",
    "h_nats": "psi(N) - psi(k) + log c_d + d * mean(log(2 * rho[:, k-1])) [core.kl_entropy]",
    "h_bits": "h_nats / ln 2 [core.C23]",
}

VECTORS = [
    Vector(
        id="core.knn.max_n96_d6_k4",
        equations=("core.knn_search", "core.kl_entropy", "core.C23"),
        function="ref.core.knn.knn_distances",
        description="max-norm k-NN distances (bit-exact) and the KL estimate, N=96, d=6, k=4",
        make_inputs=lambda: _uniform_inputs(101, 96, 6),
        run=_estimate,
        params={"k": 4, "norm": "max"},
        rules={"h_nats": H_RULE, "h_bits": H_RULE},
        inputs_doc={"x": _X_DOC + " (seed 101)"},
        params_doc={"k": "neighbour rank", "norm": "max-norm: dist = max_j |x_j - y_j|, c_d = 1"},
        outputs_doc=_EST_OUT,
    ),
    Vector(
        id="core.knn.euclid_n80_d3_k2",
        equations=("core.knn_search", "core.kl_entropy", "core.C23"),
        function="ref.core.knn.knn_distances",
        description="Euclidean k-NN distances and the KL estimate, N=80, d=3, k=2",
        make_inputs=lambda: _uniform_inputs(102, 80, 3),
        run=_estimate,
        params={"k": 2, "norm": "euclidean"},
        rules={"rho": EUCLID_RULE, "h_nats": H_RULE, "h_bits": H_RULE},
        inputs_doc={"x": _X_DOC + " (seed 102)"},
        params_doc={"k": "neighbour rank",
                    "norm": "Euclidean: dist = sqrt(sum_j (x_j - y_j)^2), c_d = pi^(d/2) / (2^d Gamma(d/2 + 1))"},
        outputs_doc=_EST_OUT,
    ),
    Vector(
        id="core.knn.duplicates_k2",
        equations=("core.knn_search", "core.C20"),
        function="ref.core.kl_entropy.check_positive",
        description="integer samples with many duplicates: zero distances are neighbours (self excluded by "
                    "index); the estimate is refused",
        make_inputs=_duplicates_inputs,
        run=_duplicates,
        params={"k": 2},
        inputs_doc={"x": "x (40, 2) float64: Pcg32(5, 0).bounded(3) draws, row-major ([core.prng_bounded])"},
        params_doc={"k": "neighbour rank"},
        outputs_doc={
            "rho": "(40, 2) float64 max-norm k-NN distances [core.knn_search], zeros for duplicates",
            "zero_rho_k": "number of i with rho[i, k-1] = 0",
            "estimate_raises": "1: the estimator raises InputError because zero_rho_k > 0 [core.C20]",
        },
    ),
    Vector(
        id="core.knn.latent_dither_k4",
        equations=("core.C21", "core.C22", "core.knn_search", "core.kl_entropy", "core.C23"),
        function="ref.core.kl_entropy.dither_quantised",
        description="integer NHWC latent -> (B*H*W, C) samples -> U(-1/2, 1/2) PCG32 dither -> max-norm KL",
        make_inputs=_latent_inputs,
        run=_latent,
        params={"seed": 0, "k": 4},
        rules={"h_nats": H_RULE, "h_bits": H_RULE},
        inputs_doc={"latent": "(1, 6, 7, 4) float64 integers in [-4, 4]: Pcg32(9, 0).bounded(9) - 4, C-order"},
        params_doc={"seed": "dither seed of [core.C22]", "k": "neighbour rank"},
        outputs_doc={
            "samples": "(42, 4) float64: latent reshaped to (B*H*W, C) [core.C21] plus the dither "
                       "v_t = ((Pcg32(derive_seed(seed, 'core', 'kl_dither'), 0).next_u32() >> 8) + 1/2) * 2^-24 - 1/2 "
                       "in row-major order [core.C22] (exact)",
            "rho": "(42, 4) float64 max-norm k-NN distances of samples [core.knn_search] (exact)",
            "h_nats": "[core.kl_entropy] of samples, max-norm (c_d = 1)",
            "h_bits": "h_nats / ln 2 [core.C23]",
        },
    ),
]
