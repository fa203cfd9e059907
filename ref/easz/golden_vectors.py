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


def _sampler_vector(g, T, delta, Delta, seed) -> Vector:
    return Vector(
        id=f"easz.sampler.g{g}_T{T}_d{delta}_D{Delta}_seed{seed}",
        equations=SAMPLER_IDS,
        function="ref.easz.sampler.sample_erased_columns",
        make_inputs=lambda: {},
        run=_run_sampler,
        params={"g": g, "T": T, "delta": delta, "Delta": Delta, "seed": seed},
        description="G_r: keep template, erased columns in draw order, relaxation level per draw, serialised mask",
    )


def _run_random(inputs, g, T, seed):
    keep = random_mask(g, T, seed)
    return {"keep": keep, "mask_bytes": serialize_mask(keep)}


def _run_special(inputs, kind, g):
    if kind == "diagonal":
        keep = diagonal_mask(g)
    elif kind == "sr2x":
        keep = sr2x_mask(g)
    else:  # g = 2, T = 1, delta = 0, Delta = 0 sampler over seeds 0..7: always a diagonal
        keep = np.stack([row_sampler_mask(SamplerConfig(2, 1, 0, 0), s) for s in range(8)])
    return {"keep": keep}


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
           params={"g": 8, "T": 3, "seed": 5}),
    Vector(id="easz.special.diagonal_g8", equations=("easz.diagonal",), function="ref.easz.sampler.diagonal_mask",
           make_inputs=lambda: {}, run=_run_special, params={"kind": "diagonal", "g": 8}),
    Vector(id="easz.special.sr2x_g8", equations=("easz.sr2x",), function="ref.easz.sampler.sr2x_mask",
           make_inputs=lambda: {}, run=_run_special, params={"kind": "sr2x", "g": 8}),
    Vector(id="easz.special.g2_T1_seeds0to7", equations=("easz.diagonal", "easz.row_sampler"),
           function="ref.easz.sampler.row_sampler_mask", make_inputs=lambda: {}, run=_run_special,
           params={"kind": "g2", "g": 2}),
    Vector(id="easz.mask_io.g32", equations=("easz.C9",), function="ref.easz.mask_io.serialize_mask",
           make_inputs=lambda: {"keep": row_sampler_mask(SamplerConfig(32, 16), 1)}, run=_run_mask_io),
    Vector(id="easz.mask_io.g5_padding", equations=("easz.C9",), function="ref.easz.mask_io.serialize_mask",
           make_inputs=_mask_inputs_g5, run=_run_mask_io),
    Vector(id="easz.erase_ratio", equations=("easz.C8",), function="ref.easz.sampler.erase_ratio_to_T",
           make_inputs=lambda: {}, run=_run_ratio, params={"ratios": list(RATIOS), "grids": [2, 4, 8, 16, 32]},
           description="T per (grid, ratio); -1 where the encoder refuses (T > g-1)"),
    Vector(id="easz.patchify.n4_b2", equations=("easz.patchify", "easz.C1", "easz.C7", "easz.C11"),
           function="ref.easz.patchify.subpatchify",
           make_inputs=lambda: {"image": _u8_image(5, 7, 3, 1), "keep": sr2x_mask(2)},
           run=_run_patchify, params={"n": 4, "b": 2}),
    Vector(id="easz.squeeze.n32_b4_T2", equations=("easz.squeeze", "easz.unsqueeze", "easz.C10"),
           function="ref.easz.squeeze.squeeze", make_inputs=_squeeze_inputs(64, 96, 3, 32, 4, 2, 7),
           run=_run_squeeze, params={"n": 32, "b": 4}),
    Vector(id="easz.squeeze.n32_b2_T4_gray", equations=("easz.squeeze", "easz.unsqueeze", "easz.C10"),
           function="ref.easz.squeeze.squeeze", make_inputs=_squeeze_inputs(32, 64, 1, 32, 2, 4, 3),
           run=_run_squeeze, params={"n": 32, "b": 2}),
    Vector(id="easz.squeeze.n8_b1_sr2x_float32", equations=("easz.squeeze", "easz.unsqueeze", "easz.sr2x"),
           function="ref.easz.squeeze.squeeze",
           make_inputs=_squeeze_inputs(16, 24, 3, 8, 1, 4, 0, kind="sr2x", dtype="float32"),
           run=_run_squeeze, params={"n": 8, "b": 1}),
    Vector(id="easz.complexity", equations=("easz.complexity", "easz.C15"),
           function="ref.easz.complexity.attention_cost", make_inputs=lambda: {}, run=_run_complexity,
           params={"cases": [[256, 256, 32, 4], [512, 768, 32, 2], [256, 256, 32, 1]]},
           description="columns: full_pixel, stage1, per_patch_pixel, two_stage, paper_ratio, formula_ratio"),
    Vector(id="easz.codec.png_interp",
           equations=("easz.container", "easz.C11", "easz.C12", "easz.C13", "easz.C14", "easz.C16"),
           function="ref.easz.codec.decode", make_inputs=_codec_inputs, run=_run_codec,
           description="decode a stored 70x100 PNG-inner, interp-recon container (n=32, b=4, T=2)"),
    Vector(id="easz.interp.n16_b2", equations=("easz.C16",), function="ref.easz.interp.interpolate",
           make_inputs=_interp_inputs, run=_run_interp, rules={"recon": allclose(0.0, 1e-9)}),
]

assert all(v.default_rule == EXACT for v in VECTORS)
