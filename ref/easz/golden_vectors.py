"""Golden vectors of the Easz edge side and bitstream (ids ``easz.<name>``).

Masks from (seed, parameters), serialised masks, patchify/squeeze outputs and complexity
numbers are EXACT; the decoder's pixels from a stored PNG + interp container are EXACT
(lossless inner codec, float64 interpolation, round half up).  Inputs are made with the
core PRNG so a port can also regenerate them.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import EXACT, Vector, allclose
from ref.core.prng import Pcg32
from ref.easz.codec import EaszParams, encode, parse, reconstruct_parts
from ref.easz.interp import interpolate
from ref.easz.complexity import attention_cost
from ref.easz.mask_io import deserialize_mask, serialize_mask
from ref.easz.patchify import pad_to_multiple, patchify, pixel_keep, subpatchify
from ref.easz.sampler import (EASZ_MASK_STREAM, SamplerConfig, diagonal_mask, erase_ratio_to_T, erased_to_keep,
                              random_mask, row_sampler_mask, sample_erased_columns, sr2x_mask)
from ref.easz.squeeze import SqueezePlan, squeeze, unsqueeze

SAMPLER_IDS = ("easz.1", "easz.inter_row", "easz.row_sampler", "easz.C2", "easz.C3", "easz.C4", "easz.C5",
               "easz.C6", "easz.C9")


def _u8_image(h: int, w: int, c: int, seed: int) -> np.ndarray:
    """Deterministic test image: PCG32 bytes (stream 1), smoothed by a 2x2 box so PNG/JPEG see
    some structure."""
    raw = (Pcg32(seed, 1).u32_array(h * w * c) & 0xFF).astype(np.int64).reshape(h, w, c)
    yy, xx = np.indices((h, w))
    ramp = ((yy * 3 + xx * 2) % 256)[:, :, None]
    return ((raw + 3 * ramp) // 4).astype(np.uint8)


# --------------------------------------------------------------------------- sampler
def _run_sampler(inputs, g, T, delta, Delta, seed):
    erased, levels = sample_erased_columns(SamplerConfig(g, T, delta, Delta), Pcg32(seed, EASZ_MASK_STREAM))
    keep = erased_to_keep(erased, g)
    return {"keep": keep, "erased": np.array(erased, dtype=np.int32).reshape(g, T),
            "levels": np.array(levels, dtype=np.int32).reshape(g, T, 2), "mask_bytes": serialize_mask(keep)}


_SAMPLER_PARAMS = {
    "g": "template side g = n / b ([easz.row_sampler])",
    "T": "erased sub-patches per template row ([easz.C2])",
    "delta": "intra-row threshold of [easz.1] (strict >)",
    "Delta": "inter-row threshold of [easz.inter_row] (strict >; -1 = off)",
    "seed": "u64 mask seed: generator Pcg32(seed, 0x45415A53) ([easz.C5], [core.prng_seed])",
}
_KEEP = "uint8 (g, g): keep template, 1 = kept, 0 = erased ([easz.C2])"
_MASK_BYTES = "[easz.C9] serialisation of keep: row-major bits, MSB first, zero-padded, ceil(g*g/8) bytes"
_SAMPLER_OUT = {
    "keep": _KEEP + ": keep[i, c] = 0 for the erased columns c of row i drawn by [easz.row_sampler]",
    "erased": "int32 (g, T): row i's erased columns in draw order t = 0..T-1: c = A[bounded(len(A))] with A the ascending admissible columns ([easz.1], [easz.inter_row], [easz.C3]) at the first non-empty relaxation level",
    "levels": "int32 (g, T, 2): the (delta', Delta') level of [easz.C6] at which each draw was made ((delta, Delta) unless relaxed)",
    "mask_bytes": _MASK_BYTES,
}
_SQUEEZE_PARAMS = {"n": "patch side n ([easz.patchify])", "b": "sub-patch side b; g = n / b ([easz.C1])"}
_SQUEEZE_IN = {"keep": "uint8 (g, g): keep template applied to every n x n patch ([easz.C7]); every row keeps k = g - T",
               "image": "the image X (H, W, C), H and W multiples of n"}
_SQUEEZE_OUT = {"squeezed": "X_sq (H, W k / g, C), dtype of X: in every image row y the pixels with K[y, x] = 1 in left-to-right order ([easz.squeeze], [easz.C10]), K[y, x] = keep[(y mod n) // b, (x mod n) // b]",
                "unsqueezed": "X_u (H, W, C): squeezed put back at the kept positions, 0 at erased ones ([easz.unsqueeze])"}


def _sampler_vector(g, T, delta, Delta, seed) -> Vector:
    return Vector(
        id=f"easz.sampler.g{g}_T{T}_d{delta}_D{Delta}_seed{seed}",
        equations=SAMPLER_IDS,
        function="ref.easz.sampler.sample_erased_columns",
        make_inputs=lambda: {},
        run=_run_sampler,
        params={"g": g, "T": T, "delta": delta, "Delta": Delta, "seed": seed},
        description="G_r: keep template, erased columns in draw order, relaxation level per draw, serialised mask",
        params_doc=_SAMPLER_PARAMS,
        outputs_doc=_SAMPLER_OUT,
    )


def _run_random(inputs, g, T, seed):
    keep = random_mask(g, T, seed)
    return {"keep": keep, "mask_bytes": serialize_mask(keep)}


def _run_special(inputs, kind, g):
    if kind == "diagonal":
        keep = diagonal_mask(g)
    elif kind == "sr2x":
        keep = sr2x_mask(g)
    return {"keep": keep}


def _run_seeds(inputs, g, T, delta, Delta, seeds):
    """G_r(g, T, delta, Delta) for each seed (g = 2, T = 1, delta = 0, Delta = 0: always a diagonal)."""
    return {"keep": np.stack([row_sampler_mask(SamplerConfig(g, T, delta, Delta), s) for s in seeds])}


# --------------------------------------------------------------------------- mask_io, ratio
def _mask_inputs_g5():
    return {"keep": (np.arange(25).reshape(5, 5) % 3 != 0).astype(np.uint8)}


def _run_mask_io(inputs):
    keep = inputs["keep"]
    data = serialize_mask(keep)
    back = deserialize_mask(data, keep.shape[0])
    return {"mask_bytes": data, "roundtrip": back}


RATIOS = ("0", "0.0625", "0.1", "0.125", "0.2", "0.25", "0.3", "0.4", "0.5", "0.75", "0.9")


def _run_ratio(inputs, ratios, grids):
    out = np.array([[erase_ratio_to_T(r, g) if erase_ratio_to_T_ok(r, g) else -1 for r in ratios] for g in grids],
                   dtype=np.int32)
    return {"T": out}


def erase_ratio_to_T_ok(r: str, g: int) -> bool:
    from fractions import Fraction

    return int((Fraction(r) * g + Fraction(1, 2)) // 1) <= g - 1


# --------------------------------------------------------------------------- patchify, squeeze
def _run_patchify(inputs, n, b):
    img = inputs["image"]
    padded = pad_to_multiple(img, n)
    patches = patchify(padded, n)
    keep = inputs["keep"]
    return {"padded": padded, "patches": patches, "tokens": subpatchify(patches, b),
            "pixel_keep": pixel_keep(keep, n, b, *padded.shape[:2]).astype(np.uint8)}


def _squeeze_inputs(h, w, c, n, b, T, seed, kind="sampler", dtype="uint8"):
    def make():
        img = _u8_image(h, w, c, seed + 100)
        p = EaszParams(n=n, b=b, T=T, seed=seed, mask=kind)
        from ref.easz.codec import make_mask

        return {"image": img.astype(dtype), "keep": make_mask(p)}
    return make


def _run_squeeze(inputs, n, b):
    plan = SqueezePlan.build(inputs["keep"], n, b)
    sq = squeeze(inputs["image"], plan)
    return {"squeezed": sq, "unsqueezed": unsqueeze(sq, plan, inputs["image"].shape[1])}


# --------------------------------------------------------------------------- complexity
def _run_complexity(inputs, cases):
    rows = []
    for h, w, n, b in cases:
        c = attention_cost(h, w, n, b)
        rows.append([c.full_pixel, c.stage1, c.per_patch_pixel, c.two_stage, c.paper_ratio, c.formula_ratio])
    return {"costs": np.array(rows, dtype=np.int64)}


# --------------------------------------------------------------------------- codec
def _codec_inputs():
    img = _u8_image(70, 100, 3, 42)  # not a multiple of 32: exercises padding and crop
    p = EaszParams(n=32, b=4, T=2, seed=9, inner="png", quality=0, recon="interp")
    return {"container": encode(img, p), "image": img}


def _run_codec(inputs):
    from ref.core.container import unpack

    parts = parse(unpack(inputs["container"], expect_system="easz"))
    return {"keep": parts.keep, "squeezed": parts.squeezed, "decoded": reconstruct_parts(parts)}


def _interp_inputs():
    img = _u8_image(32, 48, 3, 5).astype(np.float64)
    keep = pixel_keep(row_sampler_mask(SamplerConfig(8, 3), 11), 16, 2, 32, 48)
    return {"image": np.where(keep[:, :, None], img, 0.0), "keep": keep.astype(np.uint8)}


def _run_interp(inputs):
    return {"recon": interpolate(inputs["image"], inputs["keep"].astype(bool))}


VECTORS: list[Vector] = [
    _sampler_vector(8, 2, 1, 0, 7),
    _sampler_vector(16, 4, 1, 0, 0),
    _sampler_vector(32, 16, 1, 0, 1),
    _sampler_vector(16, 6, 2, 1, 3),
    _sampler_vector(8, 0, 1, 0, 0),
    Vector(id="easz.random.g8_T3_seed5", equations=("easz.random_mask", "easz.C5", "easz.C9"),
           function="ref.easz.sampler.random_mask", make_inputs=lambda: {}, run=_run_random,
           params={"g": 8, "T": 3, "seed": 5},
           description="random-mask baseline: G_r with delta = 0, Delta = -1",
           params_doc={"g": _SAMPLER_PARAMS["g"], "T": _SAMPLER_PARAMS["T"], "seed": _SAMPLER_PARAMS["seed"]},
           outputs_doc={"keep": _KEEP + ": [easz.random_mask] = [easz.row_sampler] with delta = 0, Delta = -1 (T distinct columns per row, one bounded draw each)",
                        "mask_bytes": _MASK_BYTES}),
    Vector(id="easz.special.diagonal_g8", equations=("easz.diagonal",), function="ref.easz.sampler.diagonal_mask",
           make_inputs=lambda: {}, run=_run_special, params={"kind": "diagonal", "g": 8},
           description="the deterministic diagonal mask (T = 1, shift 0)",
           params_doc={"kind": "which special mask: 'diagonal' ([easz.diagonal])", "g": "template side"},
           outputs_doc={"keep": _KEEP + ": keep[i, j] = 0 iff j = i mod g (shift 0), [easz.diagonal]"}),
    Vector(id="easz.special.sr2x_g8", equations=("easz.sr2x",), function="ref.easz.sampler.sr2x_mask",
           make_inputs=lambda: {}, run=_run_special, params={"kind": "sr2x", "g": 8},
           description="the 2x super-resolution checkerboard (b = 1, T = g/2), phase 0",
           params_doc={"kind": "which special mask: 'sr2x' ([easz.sr2x])", "g": "template side"},
           outputs_doc={"keep": _KEEP + ": keep[i, j] = 1 iff (i + j) mod 2 = 0 (phase 0), [easz.sr2x]"}),
    Vector(id="easz.special.g2_T1_seeds0to7", equations=("easz.diagonal", "easz.row_sampler"),
           function="ref.easz.sampler.row_sampler_mask", make_inputs=lambda: {}, run=_run_seeds,
           params={"g": 2, "T": 1, "delta": 0, "Delta": 0, "seeds": list(range(8))},
           description="G_r(g = 2, T = 1, delta = 0, Delta = 0) for seeds 0..7: always a diagonal",
           params_doc={**{k: _SAMPLER_PARAMS[k] for k in ("g", "T", "delta", "Delta")},
                       "seeds": "the mask seeds, one template each (generator Pcg32(seed, 0x45415A53), [easz.C5])"},
           outputs_doc={"keep": "uint8 (8, 2, 2): keep[s] = the [easz.row_sampler] template for seeds[s]; each is a main or anti-diagonal ([easz.diagonal])"}),
    Vector(id="easz.mask_io.g32", equations=("easz.C9",), function="ref.easz.mask_io.serialize_mask",
           make_inputs=lambda: {"keep": row_sampler_mask(SamplerConfig(32, 16), 1)}, run=_run_mask_io,
           description="a 32 x 32 template (b = 1 at n = 32) serialised to the paper's 128 bytes",
           inputs_doc={"keep": "uint8 (32, 32): a keep template (G_r with g = 32, T = 16, delta = 1, Delta = 0, seed 1)"},
           outputs_doc={"mask_bytes": "[easz.C9] serialisation of keep: 128 bytes, bit k of the row-major template is bit 7 - (k mod 8) of byte k // 8",
                        "roundtrip": "uint8 (32, 32): mask_bytes parsed back by [easz.C9] with g = 32 (equals keep)"}),
    Vector(id="easz.mask_io.g5_padding", equations=("easz.C9",), function="ref.easz.mask_io.serialize_mask",
           make_inputs=_mask_inputs_g5, run=_run_mask_io,
           description="a 5 x 5 template: 25 bits in 4 bytes, the last padded with 7 zero bits",
           inputs_doc={"keep": "uint8 (5, 5): keep[i, j] = 0 iff (5 i + j) mod 3 = 0"},
           outputs_doc={"mask_bytes": "[easz.C9] serialisation: ceil(25 / 8) = 4 bytes, MSB first, the 7 padding bits 0",
                        "roundtrip": "uint8 (5, 5): mask_bytes parsed back with g = 5 (equals keep)"}),
    Vector(id="easz.erase_ratio", equations=("easz.C8",), function="ref.easz.sampler.erase_ratio_to_T",
           make_inputs=lambda: {}, run=_run_ratio, params={"ratios": list(RATIOS), "grids": [2, 4, 8, 16, 32]},
           description="T per (grid, ratio); -1 where the encoder refuses (T > g-1)",
           params_doc={"ratios": "erase ratios R as exact decimal strings", "grids": "template sides g"},
           outputs_doc={"T": "int32 (len(grids), len(ratios)): T[i, j] = floor(R_j * g_i + 1/2) computed exactly on the decimal R_j ([easz.C8]), or -1 where that exceeds g_i - 1 (the encoder refuses)"}),
    Vector(id="easz.patchify.n4_b2", equations=("easz.patchify", "easz.C1", "easz.C7", "easz.C11"),
           function="ref.easz.patchify.subpatchify",
           make_inputs=lambda: {"image": _u8_image(5, 7, 3, 1), "keep": sr2x_mask(2)},
           run=_run_patchify, params={"n": 4, "b": 2},
           description="pad a 5 x 7 image to 8 x 8, two-stage patchify, per-pixel keep mask",
           params_doc=_SQUEEZE_PARAMS,
           inputs_doc={"image": "uint8 (5, 7, 3): image X (not a multiple of n)", "keep": "uint8 (2, 2): keep template (the sr2x checkerboard of g = 2)"},
           outputs_doc={"padded": "uint8 (8, 8, 3): [easz.C11] edge replication X_p[y, x] = X[min(y, 4), min(x, 6)]",
                        "patches": "uint8 (4, 4, 4, 3): stage 1 of [easz.patchify]: patch p = X_p[(p div 2) n : +n, (p mod 2) n : +n], row-major",
                        "tokens": "uint8 (4, 4, 12): stage 2 of [easz.patchify]: token (p, k) = sub-patch (k div g, k mod g) of patch p, its b x b x C pixels in (row, column, channel) order ([easz.C1])",
                        "pixel_keep": "uint8 (8, 8): K[y, x] = keep[(y mod n) // b, (x mod n) // b] ([easz.C7])"}),
    Vector(id="easz.squeeze.n32_b4_T2", equations=("easz.squeeze", "easz.unsqueeze", "easz.C10"),
           function="ref.easz.squeeze.squeeze", make_inputs=_squeeze_inputs(64, 96, 3, 32, 4, 2, 7),
           run=_run_squeeze, params={"n": 32, "b": 4},
           description="64 x 96 RGB, n = 32, b = 4, sampler template with T = 2 (seed 7)",
           params_doc=_SQUEEZE_PARAMS,
           inputs_doc={"image": "uint8 (64, 96, 3): " + _SQUEEZE_IN["image"], "keep": _SQUEEZE_IN["keep"]},
           outputs_doc=_SQUEEZE_OUT),
    Vector(id="easz.squeeze.n32_b2_T4_gray", equations=("easz.squeeze", "easz.unsqueeze", "easz.C10"),
           function="ref.easz.squeeze.squeeze", make_inputs=_squeeze_inputs(32, 64, 1, 32, 2, 4, 3),
           run=_run_squeeze, params={"n": 32, "b": 2},
           description="32 x 64 grayscale (C = 1), n = 32, b = 2, sampler template with T = 4 (seed 3)",
           params_doc=_SQUEEZE_PARAMS,
           inputs_doc={"image": "uint8 (32, 64, 1): " + _SQUEEZE_IN["image"], "keep": _SQUEEZE_IN["keep"]},
           outputs_doc=_SQUEEZE_OUT),
    Vector(id="easz.squeeze.n8_b1_sr2x_float32", equations=("easz.squeeze", "easz.unsqueeze", "easz.sr2x"),
           function="ref.easz.squeeze.squeeze",
           make_inputs=_squeeze_inputs(16, 24, 3, 8, 1, 4, 0, kind="sr2x", dtype="float32"),
           run=_run_squeeze, params={"n": 8, "b": 1},
           description="16 x 24 float32 image, pixel sub-patches (b = 1) with the sr2x checkerboard",
           params_doc=_SQUEEZE_PARAMS,
           inputs_doc={"image": "float32 (16, 24, 3): " + _SQUEEZE_IN["image"], "keep": _SQUEEZE_IN["keep"]},
           outputs_doc=_SQUEEZE_OUT),
    Vector(id="easz.complexity", equations=("easz.complexity", "easz.C15"),
           function="ref.easz.complexity.attention_cost", make_inputs=lambda: {}, run=_run_complexity,
           params={"cases": [[256, 256, 32, 4], [512, 768, 32, 2], [256, 256, 32, 1]]},
           description="columns: full_pixel, stage1, per_patch_pixel, two_stage, paper_ratio, formula_ratio",
           params_doc={"cases": "list of [h, w, n, b]: image height and width, patch side, sub-patch side"},
           outputs_doc={"costs": "int64 (cases, 6): per case the [easz.complexity] counts [full_pixel = (h w)^2, stage1 = (h w / n^2)^2, per_patch_pixel = n^4, two_stage = h w n^2 / b^4, paper_ratio = full_pixel / per_patch_pixel, formula_ratio = full_pixel / two_stage] (exact integer quotients; [easz.C15] says which is the paper's number)"}),
    Vector(id="easz.codec.png_interp",
           equations=("easz.container", "easz.C11", "easz.C12", "easz.C13", "easz.C14", "easz.C16",
                      "easz.C29"),
           function="ref.easz.codec.decode", make_inputs=_codec_inputs, run=_run_codec,
           description="decode a stored 70x100 PNG-inner, interp-recon container (n=32, b=4, T=2)",
           inputs_doc={"container": "an [easz.container] file (system 1): 70 x 100 RGB, n = 32, b = 4, T = 2, mask seed 9, inner png ([easz.C13]), recon interp ([easz.C16])",
                       "image": "uint8 (70, 100, 3): the image it was encoded from (informative: not read by the decoder; with the lossless inner codec the kept pixels of decoded equal it)"},
           outputs_doc={"keep": "uint8 (8, 8): the template read from the mask section ([easz.C9], [easz.C14])",
                        "squeezed": "uint8 (96, 96, 3): the inner PNG decoded: the squeezed padded image, height ceil(70/32) 32 = 96, width ceil(100/32) 32 (g - T) / g = 96",
                        "decoded": "uint8 (70, 100, 3): [easz.container] decoding: unsqueeze, [easz.C16] interpolation of erased pixels (float64), [easz.C12] output (kept pixels pasted, erased ones clip(floor(R + 1/2), 0, 255)), crop to 70 x 100 ([easz.C11])"}),
    Vector(id="easz.interp.n16_b2", equations=("easz.C16",), function="ref.easz.interp.interpolate",
           make_inputs=_interp_inputs, run=_run_interp, rules={"recon": allclose(0.0, 1e-9)},
           description="model-free reconstruction of a 32 x 48 image with a b = 2 template (n = 16)",
           inputs_doc={"image": "float64 (32, 48, 3): X_u, the unsqueezed image (0 at erased pixels)",
                       "keep": "uint8 (32, 48): per-pixel keep mask K (template g = 8, T = 3, seed 11, tiled with n = 16, b = 2)"},
           outputs_doc={"recon": "float64 (32, 48, 3): [easz.C16] R: at an erased pixel the mean of the available linear interpolations along its row and its column between the nearest kept pixels on either side (the nearest kept pixel when only one side has one; a line with no kept pixel is not used); kept pixels unchanged"}),
]

assert all(v.default_rule == EXACT for v in VECTORS)
