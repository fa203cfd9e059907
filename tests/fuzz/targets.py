"""Fuzz targets: one registration per container system.

A target gives the fuzzer small, deterministic seed containers and tells the classifier
how to judge a mutated stream that decoded with exit 0 to a *different* image:

* ``sections``: section name -> policy
    - ``"canonical"``: the payload is a canonical code of what it decodes to (ANS streams,
      fitted tables, histograms); the stream is conforming only if ``reencode`` gives the
      mutated bytes back exactly;
    - ``"validated"``: the decoder checks the payload completely (e.g. Easz's mask: row
      counts); any accepted payload is conforming;
    - ``"delegated"``: a payload in a format the spec delegates to another standard (JPEG,
      WebP, PNG inside Easz / moc); it is conforming when that format's decoder accepts
      it at the size the header implies (which the system decoder checks).
* ``reencode(container) -> bytes``: the canonical container re-derived from the decoded
  content (only needed when some section is ``canonical``).
* ``strings``: vocabulary for semantic edits of string fields (valid and invalid values).

Adding a system (e.g. hcf) is one call at the bottom::

    register(Target("hcf", make_seeds=_hcf_seeds, sections={...}, reencode=_hcf_reencode))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

TARGETS: dict[str, "Target"] = {}


@dataclass
class Target:
    name: str
    make_seeds: Callable[[], list[tuple[str, bytes]]]
    sections: dict[str, str]
    reencode: Callable | None = None
    strings: tuple[str, ...] = ()
    available: Callable[[], bool] = field(default=lambda: True)


def register(target: Target) -> None:
    TARGETS[target.name] = target


def _photo(h: int, w: int, c: int, y0: int = 0, x0: int = 0) -> np.ndarray:
    """A crop of the bundled photograph (real image statistics), uint8 (h, w, c)."""
    from ref.data.imageio import bundled_image_path, read_image

    img = read_image(bundled_image_path())[y0:y0 + h, x0:x0 + w]
    if c == 1:
        img = np.rint(img.astype(np.float64) @ [0.299, 0.587, 0.114])[:, :, None].astype(np.uint8)
    return np.ascontiguousarray(img)


# ----------------------------------------------------------------------------- core (demo)
def _core_seeds():
    from ref.app.demo import core_encode

    return [("core_rgb_12x10", core_encode(_photo(12, 10, 3, 200, 300))),
            ("core_grey_9x14", core_encode(_photo(9, 14, 1, 100, 100)))]


def _core_reencode(container) -> bytes:
    from ref.app.demo import core_decode_container, core_encode

    return core_encode(core_decode_container(container))


register(Target("core", _core_seeds, {"counts": "canonical", "ans": "canonical"}, _core_reencode,
                strings=("", "x")))


# ----------------------------------------------------------------------------- easz
def _easz_seeds():
    from ref.easz.codec import EaszParams, encode

    seeds = [
        ("easz_jpeg_interp", encode(_photo(40, 56, 3, 120, 200),
                                    EaszParams(n=16, b=4, T=1, inner="jpeg", quality=60, recon="interp"))),
        ("easz_png_grey_interp", encode(_photo(24, 20, 1, 300, 400),
                                        EaszParams(n=8, b=2, T=1, inner="png", quality=0, recon="interp"))),
        ("easz_webp_random", encode(_photo(16, 16, 3, 50, 50),
                                    EaszParams(n=8, b=1, T=3, mask="random", inner="webp", quality=50,
                                               recon="interp", seed=5))),
    ]
    from ref.easz.analyses import model_status

    if model_status(32, 4) is None:
        seeds.append(("easz_jpeg_model", encode(_photo(32, 40, 3, 10, 10),
                                                EaszParams(n=32, b=4, T=2, inner="jpeg", quality=75,
                                                           recon="model"))))
    return seeds


register(Target("easz", _easz_seeds, {"mask": "validated", "inner": "delegated"},
                strings=("sampler", "random", "diagonal", "sr2x", "jpeg", "webp", "png", "model",
                         "interp", "gif", "", "JPEG", "x" * 300)))


# ----------------------------------------------------------------------------- moc
def _moc_seeds():
    from ref.moc.codec import encode_image, get_model

    out = []
    for label, model, mode, img in (
            ("moc_rgb16_webp", "rgb_16x", "webp", _photo(16, 24, 3, 200, 200)),
            ("moc_rgb16_ans", "rgb_16x", "ans", _photo(20, 16, 3, 250, 320)),
            ("moc_grey_png", "linear_gray_16x", "png", _photo(16, 16, 1, 64, 64)),
            ("moc_grey_ans", "linear_gray_16x", "ans", _photo(8, 24, 1, 300, 10))):
        params, cfg, _ = get_model(model)
        out.append((label, encode_image(img, params, cfg, model=model, lossless=mode)[0]))
    return out


def _moc_reencode(container) -> bytes:
    from ref.core.container import pack
    from ref.moc import packing
    from ref.moc.codec import parse_header, read_symbols

    hd = parse_header(container)
    sym = read_symbols(container, hd)
    if hd.mode != "ans":
        return pack("moc", container.header, list(container.sections))
    table, stream = packing.ans_encode(sym, hd.cfg.latent_bits)
    return pack("moc", container.header, [("table", table), ("ans", stream)])


register(Target("moc", _moc_seeds, {"latent": "delegated", "table": "canonical", "ans": "canonical"},
                _moc_reencode,
                strings=("rgb_16x", "rgb_4x", "linear_rgb_16x", "linear_rgb_4x", "linear_gray_16x",
                         "linear_gray_4x", "webp", "png", "ans", "tiff", "", "../../etc/passwd",
                         "rgb_16x\x00", "x" * 300)))


# ----------------------------------------------------------------------------- hcf
#: the level the fuzz seeds are coded at (one level: one checkpoint, one jit per padded shape)
HCF_FUZZ_LEVEL = 1


def _hcf_seeds():
    from ref.hcf.codec import encode_image

    # both pad to 64x64 (hcf.C3): one latent shape, one synthesis compilation
    return [("hcf_rgb_24x40", encode_image(_photo(24, 40, 3, 220, 180), HCF_FUZZ_LEVEL)),
            ("hcf_grey_20x16", encode_image(_photo(20, 16, 1, 90, 300), HCF_FUZZ_LEVEL))]


def _hcf_reencode(container) -> bytes:
    """The canonical container of what decoded: y^ and z^ re-coded with the same integer
    indices (r = round(y^ - mu) gives back r exactly), the header kept as it is."""
    from ref.core import hyperprior as HP
    from ref.core.container import pack
    from ref.core.intnet import int_conditional_indices
    from ref.hcf.codec import decode_latent

    y_hat, _, m = decode_latent(container)
    z_hat = HP.decode_hyperprior(container, m.z_tables, m.z_offsets,
                                 lambda z: int_conditional_indices(m.p_int, z))[1]
    sections, _ = HP.encode_hyperprior(y_hat, z_hat, m.z_tables, m.z_offsets,
                                       lambda z: int_conditional_indices(m.p_int, z), radius=m.cfg.radius)
    return pack("hcf", container.header, [(k, sections[k]) for k in HP.SECTIONS])


register(Target("hcf", _hcf_seeds, {"shape": "canonical", "z": "canonical", "z_esc": "canonical",
                                    "y": "canonical", "y_esc": "canonical"}, _hcf_reencode,
                strings=("hcf_q1", "hcf_q2", "", "x" * 300, "hcf_q1\x00")))
