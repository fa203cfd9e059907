"""Golden vectors of the HCF analysis protocols (ids ``hcf.analysis.*``; spec/hcf-analyses.md).

* ``hcf.analysis.entropy``: the Fig. 3 policies for s = 6 (exact) and pooled KL stage
  entropies of two fixed small "images" of latents, unquantised and rounded (float64).
* ``hcf.analysis.drf``: the Tab. 2 paths from s = 6 (exact) and BD-rate / BD-quality of a
  fixed test curve against a fixed anchor curve, PSNR and MS-SSIM dB (float64).
* ``hcf.analysis.cross``: the points of the path 6 -> 1 and the Tab. 4 pairs (exact).

Regenerate: ``codecref golden regen --id hcf.analysis --write``.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector, allclose

S = 6


def _pad(rows, width: int) -> np.ndarray:
    """Rows of unequal length as int64 (len(rows), width), missing entries -1."""
    out = np.full((len(rows), width), -1, np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


# --------------------------------------------------------------------------- entropy
def _entropy_make():
    rng = np.random.default_rng(14)
    return {"y_a": rng.normal(0, 0.7, (1, 6, 8, 4)).astype(np.float32),
            "y_b": rng.normal(0, 0.7, (1, 5, 8, 4)).astype(np.float32)}


def _entropy_run(inputs):
    from ref.hcf.analysis_entropy import fig3_policies, stage_entropies

    stages = [[(2, False, inputs[n]), (2, True, np.round(inputs[n]))] for n in ("y_a", "y_b")]
    rows = stage_entropies(stages)
    return {"policies": np.array(fig3_policies(S), np.int64),
            "h_bits": np.array([r["h_bits"] for r in rows], np.float64),
            "increase_bits": np.array(rows[1]["increase_bits"], np.float64)}


# --------------------------------------------------------------------------- drf
def _drf_make():
    r = np.array([0.08, 0.15, 0.3, 0.55, 1.0])
    anchor = np.stack([r, 26.0 + 6.0 * np.log10(r / 0.08) ** 0.9, 9.0 + 4.0 * np.sqrt(r)], 1)
    test = np.stack([1.07 * r, anchor[:, 1] - 0.1 * np.arange(5), anchor[:, 2] - 0.05], 1)
    return {"anchor": anchor.astype(np.float64), "test": test.astype(np.float64)}


def _drf_run(inputs):
    from ref.hcf.analysis_drf import bd_compare, tab2_paths

    out = {}
    for config, items in tab2_paths(S).items():
        key = config.replace("-", "_")
        out[f"{key}_d"] = np.array([d for d, _, _ in items], np.int64)
        out[f"{key}_hcf_policy"] = _pad([pi for _, pi, _ in items], S)
        out[f"{key}_drf_levels"] = _pad([lv for _, _, lv in items], S)

    def pts(a):
        return [{"bpp": float(v[0]), "psnr": float(v[1]), "ms_ssim_db": float(v[2])} for v in a]

    p = bd_compare(pts(inputs["anchor"]), pts(inputs["test"]), "psnr")
    m = bd_compare(pts(inputs["anchor"]), pts(inputs["test"]), "ms_ssim_db")
    out["bd"] = np.array([p["bd_rate_pct"], p["bd_quality_db"], m["bd_rate_pct"], m["bd_quality_db"]], np.float64)
    return out


def _drf_docs():
    docs = {}
    for config, what in (("2_stage", "π^edge(6, d; 2)"), ("per_level", "π^*(6, d)")):
        docs[f"{config}_d"] = "int64 (5,): destination levels d = 5 .. 1 of the configuration ([hcf.analysis_drf])"
        docs[f"{config}_hcf_policy"] = (f"int64 (5, 6): HCF policy {what} per d, (π_6, ..., π_d), padded with -1 "
                                        "([hcf.16], [hcf.ref_policies])")
        docs[f"{config}_drf_levels"] = ("int64 (5, 6): DRF transmission levels t_1 > ... > t_n per d, padded with -1: "
                                        + ("(6, d)" if config == "2_stage" else "(6, 5, ..., d)") +
                                        " ([hcf.analysis_drf])")
    docs["bd"] = ("float64 (4,): [BD-rate % and BD-quality dB with PSNR (column 1) as the metric, the same with "
                  "MS-SSIM dB (column 2)] of test against anchor: core.bd_rate / core.bd_psnr, pchip "
                  "([core.bd_rate], [core.C12]); rate = column 0 (bpp)")
    return docs


# --------------------------------------------------------------------------- cross
def _cross_run(inputs):
    from ref.hcf.analysis_cross import path_points, tab4_comparisons

    pts = path_points(S, 1)
    return {"k": np.array([k for k, _ in pts], np.int64), "policy": _pad([pi for _, pi in pts], S),
            "pairs": np.array(tab4_comparisons(S, 1), np.int64)}


VECTORS = [
    Vector(
        id="hcf.analysis.entropy",
        equations=("hcf.analysis_entropy",),
        function="ref.hcf.analysis_entropy.stage_entropies",
        make_inputs=_entropy_make,
        run=lambda inputs: _entropy_run(inputs),
        rules={"h_bits": allclose(1e-9, 1e-9), "increase_bits": allclose(1e-9, 1e-9)},
        description="Fig. 3 policies (s = 6) and pooled KL stage entropies of two small latents, plain and rounded",
        inputs_doc={"y_a": "float32 (1, 6, 8, 4): the unquantised stage ỹ^2 of image a",
                    "y_b": "float32 (1, 5, 8, 4): the unquantised stage ỹ^2 of image b"},
        outputs_doc={"policies": "int64 (3, 4): fig3_policies(6) = Π(6, 3; 2) in the order of [hcf.policy_space]",
                     "h_bits": "float64 (2,): [h(ỹ), h(ŷ)] in bits: stage ỹ pools latent_samples of y_a then y_b "
                               "([core.C21], N = 88, dim 4); stage ŷ pools round_half_even(y_a), round_half_even(y_b) "
                               "and dithers them ([core.C22], seed 0); kl_entropy k = 4, Euclidean "
                               "([core.kl_entropy], [hcf.analysis_entropy])",
                     "increase_bits": "float64 (): h_bits[1] - h_bits[0] (Δh after quantisation)"},
    ),
    Vector(
        id="hcf.analysis.drf",
        equations=("hcf.analysis_drf",),
        function="ref.hcf.analysis_drf.tab2_paths",
        make_inputs=_drf_make,
        run=lambda inputs: _drf_run(inputs),
        rules={"bd": allclose(1e-9, 1e-9)},
        description="Tab. 2 paths from s = 6 (HCF policy and DRF hops per d) and a BD comparison of fixed curves",
        inputs_doc={"anchor": "float64 (5, 3): anchor curve, per row (bpp, PSNR dB, MS-SSIM dB) ([hcf.C22] units)",
                    "test": "float64 (5, 3): test curve, same columns"},
        outputs_doc=_drf_docs(),
    ),
    Vector(
        id="hcf.analysis.cross",
        equations=("hcf.analysis_cross",),
        function="ref.hcf.analysis_cross.path_points",
        make_inputs=lambda: {},
        run=lambda inputs: _cross_run(inputs),
        description="points of the path 6 -> 1 and the Tab. 4 pairs",
        outputs_doc={"k": "int64 (6,): levels 6 .. 1 at which the path 6 -> 1 is decoded ([hcf.analysis_cross])",
                     "policy": "int64 (6, 6): the policy decoded at each k, (π_6, ..., π_k) padded with -1: [1] at "
                               "k = 6, π^edge(6, k; 2) below ([hcf.16])",
                     "pairs": "int64 (3, 2): (shorter source, longer source) of tab4_comparisons(6, 1): "
                              "(5, 6), (4, 5), (3, 4)"},
    ),
]
