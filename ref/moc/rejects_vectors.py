"""Golden ``rejects`` vectors of moc: crafted non-conforming containers, each with a valid
CRC and container structure, that a conforming moc decoder must refuse (exit 3).

They are the reproducers of issue 11 (missing / mistyped / out-of-range header fields,
huge declared sizes, ANS streams read past their end, an unknown model) plus the other
checks of moc.C14 / moc.C12 / moc.C8 / bits.C3.  Output ``exit_code[i]`` is the exit
status of decoding input i (inputs in sorted name order): 3 for every one.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector
from ref.conformance.rejects import exit_codes
from ref.core import ans
from ref.core.container import pack, unpack


_BASE = "the 16 x 24 rgb_16x webp container"
_ANS = "the 64 x 64 rgb_16x ans container"
INPUT_DOCS = {
    "missing_model": f"{_BASE} without header field model (moc.C14: every field present)",
    "missing_c": f"{_BASE} without header field c",
    "h_is_str": f"{_BASE} with h = '16' (a str, moc.C14: h is uint)",
    "h_is_bytes": f"{_BASE} with h = bytes 10 (moc.C14: h is uint)",
    "levels_negative": f"{_BASE} with levels = -3 (must equal the model's J = 3)",
    "c_64": f"{_BASE} with c = 64 (moc.C14: c is 1 or 3)",
    "unknown_model": f"{_BASE} naming model 'rgb_1000x', which no decoder has (bits.C3: exit 3)",
    "unknown_field": f"{_BASE} with an extra header field zz_extra = 1 (bits.C3: no unknown keys)",
    "extra_section": f"{_BASE} with an extra empty section 'extra' after 'latent'",
    "lossless_tiff": f"{_BASE} with lossless = 'tiff' (moc.C14: webp | png | ans)",
    "levels_mismatch": f"{_BASE} with levels = 2 (model rgb_16x has J = 3)",
    "ans_huge_h": f"{_ANS} with h = 2**20: 2**26 pixels, over the 2**24 cap (bits.C3)",
    "ans_huge_hw": f"{_ANS} with h = w = 2**20 (2**40 pixels)",
    "ans_h_past_cap": f"{_ANS} with h = 2**24 / 64 + 8: 16,777,728 pixels, just over the cap",
    "ans_empty_stream": f"{_ANS} with an empty 'ans' section: decodes to all-0 symbols, which moc.C8 "
                        "excludes and whose fitted table differs from the stored one (moc.C12)",
    "ans_h_plus_one_block": f"{_ANS} with h = 72: one more latent row than coded, so the stream is "
                            "read past its end (spec/core-ans.md (E1)/(E2), moc.C12)",
    "ans_stream_truncated": f"{_ANS} with the last 8 bytes of the 'ans' section removed",
    "ans_h_4096_within_cap": f"{_ANS} with h = 4096 (within the cap): an over-read of 63 extra "
                             "latent rows, caught by the ANS end check or the fitted-table check",
    "ans_table_not_fitted": "a 16 x 16 rgb_16x ans container whose table is uniform (16 per symbol) "
                            "and whose stream codes symbols 1..12 with it: decodes and ends "
                            "cleanly, but the table is not the fitted table of those symbols (moc.C12)",
    "mosaic_symbol_zero": f"{_BASE} whose latent mosaic (re-coded as PNG) has one symbol 0 (moc.C8: "
                          "symbols lie in [1, 255])",
    "mosaic_declares_4096x4096": f"{_BASE} whose latent payload is a 4096 x 4096 PNG (the header "
                                 "implies 6 x 4): rejected before its pixels are decoded",
    "webp_payload_is_gif": f"{_BASE} whose latent payload is a 1 x 1 GIF (moc.C11: WebP or PNG)",
}


def _photo(h: int, w: int, c: int) -> np.ndarray:
    from ref.data.imageio import bundled_image_path, read_image

    img = read_image(bundled_image_path())[200:200 + h, 300:300 + w]
    if c == 1:
        img = img[:, :, 1:2]
    return np.ascontiguousarray(img)


def _encode(model: str, mode: str, img: np.ndarray) -> bytes:
    from ref.moc.codec import encode_image, get_model

    params, cfg, _ = get_model(model)
    return encode_image(img, params, cfg, model=model, lossless=mode)[0]


def _edit(data: bytes, drop=(), sections=None, **fields) -> bytes:
    c = unpack(data)
    header = {k: v for k, v in c.header.items() if k not in drop}
    header.update(fields)
    return pack("moc", header, c.sections if sections is None else sections)


def crafted() -> dict[str, bytes]:
    """name -> crafted container (every one has a valid CRC and container structure)."""
    webp = _encode("rgb_16x", "webp", _photo(16, 24, 3))
    ansd = _encode("rgb_16x", "ans", _photo(64, 64, 3))
    sec = dict(unpack(ansd).sections)
    # the mosaic of the webp seed with one symbol set to 0 (moc.C8: symbols are >= 1)
    from ref.moc import packing

    mos = packing.image_decode(dict(unpack(webp).sections)["latent"], 3).copy()
    mos[0, 0, 0] = 0
    sym0 = pack("moc", unpack(webp).header, [("latent", packing.image_encode(mos, "png"))])
    # a latent image declaring a huge size in a small payload
    big_mosaic = packing.image_encode(np.full((4096, 4096, 3), 128, np.uint8), "png")
    return {
        "missing_model": _edit(webp, drop=("model",)),
        "missing_c": _edit(webp, drop=("c",)),
        "h_is_str": _edit(webp, h="16"),
        "h_is_bytes": _edit(webp, h=b"\x10"),
        "levels_negative": _edit(webp, levels=-3),
        "c_64": _edit(webp, c=64),
        "unknown_model": _edit(webp, model="rgb_1000x"),
        "unknown_field": _edit(webp, zz_extra=1),
        "extra_section": pack("moc", unpack(webp).header, list(unpack(webp).sections) + [("extra", b"")]),
        "lossless_tiff": _edit(webp, lossless="tiff"),
        "levels_mismatch": _edit(webp, levels=2),
        "ans_huge_h": _edit(ansd, h=1 << 20),
        "ans_huge_hw": _edit(ansd, h=1 << 20, w=1 << 20),
        "ans_h_past_cap": _edit(ansd, h=(1 << 24) // 64 + 8),
        "ans_empty_stream": pack("moc", unpack(ansd).header, [("table", sec["table"]), ("ans", b"")]),
        "ans_h_plus_one_block": _edit(ansd, h=72),
        "ans_stream_truncated": pack("moc", unpack(ansd).header,
                                     [("table", sec["table"]), ("ans", sec["ans"][:-8])]),
        "ans_h_4096_within_cap": _edit(ansd, h=4096),
        "ans_table_not_fitted": pack("moc", {**unpack(ansd).header, "h": 16, "w": 16}, [
            ("table", packing.counts_to_bytes(np.full((12, 256), 16, np.int64))),
            ("ans", ans.encode(np.tile(np.arange(1, 13), 4), packing.freqs_from_counts(
                np.full((12, 256), 16, np.int64)), np.arange(48) % 12))]),
        "mosaic_symbol_zero": sym0,
        "mosaic_declares_4096x4096": _edit(webp, sections=[("latent", big_mosaic)]),
        "webp_payload_is_gif": _edit(webp, sections=[("latent", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")]),
    }


def run_rejects(inputs: dict) -> dict:
    from ref.moc.codec import decode_bytes

    return exit_codes(decode_bytes, inputs)


VECTORS = [
    Vector(
        id="moc.rejects.crafted",
        equations=("moc.C14", "moc.C12", "moc.C8", "bits.C3"),
        function="ref.moc.codec.decode_bytes",
        make_inputs=crafted,
        run=run_rejects,
        description="crafted moc containers with valid CRCs that a conforming decoder rejects "
                    "(issue 11 reproducers); exit_code[i] = 3 for every input, sorted by name",
        inputs_doc={k: "bytes: a complete moc container (valid CRC): " + v for k, v in INPUT_DOCS.items()},
        outputs_doc={
            "exit_code": "uint8 (n_inputs,): the decoder's exit status for each input in sorted "
                         "name order under the error contract of [bits.C3]: 3 (non-conforming "
                         "stream) for all of them; 0 would be a silent decode, 2 or 70 a "
                         "contract violation",
        },
    ),
]
