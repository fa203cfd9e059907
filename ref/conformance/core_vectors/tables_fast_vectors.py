"""Golden vectors for the mixture-table fast path and grouped escape payloads (issue 15).

``core.entropy.table_gmm_r64`` pins integer mixture tables at the size ecf codes with
(k = 3, R = 64, M = 8), with component offsets far beyond the CDF saturation distance so
that the fast path's clipping ([core.table_gmm] implementation note) is exercised.
``core.entropy.escape_groups`` pins the [core.C7g] framing.  All outputs EXACT.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector


def _rng(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _r64_inputs() -> dict:
    r = _rng(15)
    n, k = 16, 3
    s = r.integers(0, 64, (n, k)).astype(np.int64)
    mu = r.integers(-200, 200, (n, k)).astype(np.int64)
    mu[3] = [-(1 << 30), 17, 1 << 30]              # far components (clipped in the fast path)
    mu[4] = [5, 5 + 8 * 4200, 5 - 8 * 4200]        # just beyond the largest scale's saturation
    w = r.integers(1, 9, (n, k)).astype(np.int64)
    w = (w * 65536) // w.sum(1, keepdims=True)
    w[:, 0] += 65536 - w.sum(1)
    w[5] = [0, 65536, 0]
    w[6] = [21845, 21845, 21846]                   # j* = 2 (the single largest weight)
    return {"scale_idx": s, "mean_idx": mu, "weight_int": w}


def _r64_run(inputs, radius: int, mean_grid: int, family: str) -> dict:
    from ref.core.tables import mixture_tables

    ts, centre = mixture_tables(inputs["scale_idx"], inputs["mean_idx"], inputs["weight_int"],
                                radius=radius, mean_grid=mean_grid, family=family)
    return {"freqs": ts.freqs, "centre": centre}


def _esc_inputs() -> dict:
    return {"r0": np.array([0, 1, -2], dtype=np.int64),
            "r1": np.array([9, -3, -70, 4, 1000], dtype=np.int64),
            "r2": np.array([-5, 5], dtype=np.int64)}


def _esc_run(inputs, radius: int) -> dict:
    from ref.core.escape import frame_escape_groups, values_to_symbols

    pays = [values_to_symbols(inputs[f"r{g}"], radius)[1] for g in range(3)]
    return {"section": frame_escape_groups(pays)}


VECTORS = [
    Vector(
        id="core.entropy.table_gmm_r64",
        equations=("core.table_gmm", "core.C3", "core.C6", "core.C8"),
        function="ref.core.tables.mixture_tables",
        make_inputs=_r64_inputs, run=_r64_run,
        params={"radius": 64, "mean_grid": 8, "family": "gaussian"},
        description="3-component integer mixture tables at R = 64, M = 8 (far offsets included)",
        params_doc={"radius": "R ([core.C2]; K = 2R + 2 = 130)", "mean_grid": "M of [core.C5]",
                    "family": "component family of [core.C6] (shipped normal CDF)"},
        inputs_doc={"scale_idx": "int64 (16, 3): [core.C4] scale index per component",
                    "mean_idx": "int64 (16, 3): absolute component means in units of 1/M; rows 3 and 4 hold offsets beyond the CDF saturation distance",
                    "weight_int": "int64 (16, 3): [core.C8] integer weights, rows sum to 2**16 (row 5 one-hot, row 6 a near-tie)"},
        outputs_doc={"centre": "int64 (16,): mean_idx[e, j*] // M, j* = first argmax_j weight_int[e, j] ([core.table_gmm])",
                     "freqs": "uint32 (16, 130): [core.table_gmm] per element: C_i = (sum_j weight_int[e, j] * C_gauss(2M (i - R) - M - 2 (mean_idx[e, j] - M centre[e]); M, scale_idx[e, j])) >> 16, i = 0..2R+1, masses = differences, escape = both tails, [core.C3] quantiser"},
    ),
    Vector(
        id="core.entropy.escape_groups",
        equations=("core.C7g", "core.C7"),
        function="ref.core.escape.frame_escape_groups",
        make_inputs=_esc_inputs, run=_esc_run, params={"radius": 3},
        description="three groups' escape payloads framed in one section (group 0 has no escape)",
        params_doc={"radius": "R of the tables: |r| > R escapes ([core.C7])"},
        inputs_doc={"r0": "int64 (3,): residuals of group 0 (no escape)",
                    "r1": "int64 (5,): residuals of group 1 (escapes 9, -70, 4, 1000)",
                    "r2": "int64 (2,): residuals of group 2 (escapes -5, 5)"},
        outputs_doc={"section": "bytes: [core.C7g] concat over g of uint32_be(len(p_g)) || p_g, p_g = the [core.C7] payload of the escaped residuals of r<g> in order"},
    ),
]
