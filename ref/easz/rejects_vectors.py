"""Golden ``rejects`` vectors of Easz: crafted non-conforming containers, each with a valid
CRC and container structure, that a conforming Easz decoder must refuse (exit 3).

Output ``exit_code[i]`` is the exit status of decoding input i (inputs in sorted name
order) under the error contract of bits.C3: 3 for every one.
"""

from __future__ import annotations

import io

import numpy as np

from ref.conformance.golden import Vector
from ref.conformance.rejects import exit_codes
from ref.core.container import pack, unpack


_BASE = "the 40 x 56 RGB easz container (n = 16, b = 4, T = 1, jpeg:60, interp)"
INPUT_DOCS = {
    "missing_height": f"{_BASE} without header field height (easz.container)",
    "height_is_str": f"{_BASE} with height = '40' (a str; easz.container: uint)",
    "width_zero": f"{_BASE} with width = 0 (range 1..65536)",
    "channels_2": f"{_BASE} with channels = 2 (1 or 3)",
    "format_2": f"{_BASE} with easz_format = 2 (this decoder reads 1)",
    "n_not_multiple_of_b": f"{_BASE} with n = 18 (b = 4 must divide n)",
    "b_zero": f"{_BASE} with b = 0",
    "T_equals_g": f"{_BASE} with T = 4 = g (at least one sub-patch per row is kept)",
    "inner_gif": f"{_BASE} with inner = 'gif' (jpeg | webp | png)",
    "jpeg_quality_0": f"{_BASE} with quality = 0 (jpeg: 1..100)",
    "recon_unknown": f"{_BASE} with recon = 'magic' (model | interp)",
    "huge_declared_size": f"{_BASE} with height = width = 65536: 2**32 pixels, over the 2**24 cap (bits.C3)",
    "unknown_field": f"{_BASE} with an extra header field zz_extra = 1 (bits.C3: no unknown keys)",
    "extra_section": f"{_BASE} with a third, empty section 'extra'",
    "missing_mask_section": f"{_BASE} with only the 'inner' section",
    "sections_swapped": f"{_BASE} with sections in the order inner, mask",
    "mask_wrong_length": f"{_BASE} with one byte appended to the mask (easz.C9: ceil(g*g/8) bytes)",
    "mask_row_count_wrong": f"{_BASE} with bit 0 of the mask flipped: row 0 keeps g - T - 1 or g - T + 1",
    "inner_is_png_not_jpeg": f"{_BASE} whose inner payload is the squeezed image as PNG (header: jpeg)",
    "inner_size_mismatch": f"{_BASE} whose inner JPEG is one row shorter than ceil(H/n) n",
    "inner_declares_30000x30000": f"{_BASE} with inner = png and a 1 x 1 PNG whose IHDR declares 30000 x 30000 (about 100 bytes): rejected before decoding pixels",
    "inner_animated_webp": f"{_BASE} with inner = webp and a 2-frame animated WebP of the right size",
    "inner_truncated": f"{_BASE} whose inner JPEG is cut to its first third",
    "recon_model_wrong_geometry": f"{_BASE} with recon = model: the shipped model reconstructs n = 32, b = 4 only (a valid file this decoder cannot decode: exit 3)",
}


def _seed() -> bytes:
    from ref.data.imageio import bundled_image_path, read_image
    from ref.easz.codec import EaszParams, encode

    img = np.ascontiguousarray(read_image(bundled_image_path())[100:140, 200:256])
    return encode(img, EaszParams(n=16, b=4, T=1, inner="jpeg", quality=60, recon="interp"))


def _edit(data: bytes, drop=(), sections=None, **fields) -> bytes:
    c = unpack(data)
    header = {k: v for k, v in c.header.items() if k not in drop}
    header.update(fields)
    return pack("easz", header, list(c.sections) if sections is None else sections)


def _image_bytes(arr: np.ndarray, fmt: str, **kw) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A 1 x 1 grey PNG whose IHDR is patched to declare width x height (chunk CRC fixed):
    a few dozen bytes that claim a huge image."""
    import struct
    import zlib

    png = bytearray(_image_bytes(np.zeros((1, 1), np.uint8), "PNG"))
    png[16:24] = struct.pack(">II", width, height)          # IHDR data starts at byte 16
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def crafted() -> dict[str, bytes]:
    """name -> crafted container (every one has a valid CRC and container structure)."""
    from PIL import Image

    seed = _seed()
    c = unpack(seed)
    mask, inner = c.section("mask"), c.section("inner")
    sq = np.asarray(Image.open(io.BytesIO(inner)).convert("RGB"))
    frames = [Image.fromarray(sq), Image.fromarray(255 - sq)]
    anim = io.BytesIO()
    frames[0].save(anim, format="WEBP", save_all=True, append_images=frames[1:], quality=60)
    bad_rows = bytes([mask[0] ^ 0x80]) + mask[1:]
    return {
        "missing_height": _edit(seed, drop=("height",)),
        "height_is_str": _edit(seed, height="40"),
        "width_zero": _edit(seed, width=0),
        "channels_2": _edit(seed, channels=2),
        "format_2": _edit(seed, easz_format=2),
        "n_not_multiple_of_b": _edit(seed, n=18),
        "b_zero": _edit(seed, b=0),
        "T_equals_g": _edit(seed, T=4),
        "inner_gif": _edit(seed, inner="gif"),
        "jpeg_quality_0": _edit(seed, quality=0),
        "recon_unknown": _edit(seed, recon="magic"),
        "huge_declared_size": _edit(seed, height=65536, width=65536),
        "unknown_field": _edit(seed, zz_extra=1),
        "extra_section": pack("easz", c.header, list(c.sections) + [("extra", b"")]),
        "missing_mask_section": pack("easz", c.header, [("inner", inner)]),
        "sections_swapped": pack("easz", c.header, [("inner", inner), ("mask", mask)]),
        "mask_wrong_length": _edit(seed, sections=[("mask", mask + b"\x00"), ("inner", inner)]),
        "mask_row_count_wrong": _edit(seed, sections=[("mask", bad_rows), ("inner", inner)]),
        "inner_is_png_not_jpeg": _edit(seed, sections=[("mask", mask), ("inner", _image_bytes(sq, "PNG"))]),
        "inner_size_mismatch": _edit(seed, sections=[("mask", mask), ("inner", _image_bytes(sq[:-1], "JPEG"))]),
        "inner_declares_30000x30000": _edit(seed, sections=[("mask", mask), ("inner", png_declaring(30000, 30000))],
                                            inner="png", quality=0),
        "inner_animated_webp": _edit(seed, sections=[("mask", mask), ("inner", anim.getvalue())],
                                     inner="webp"),
        "inner_truncated": _edit(seed, sections=[("mask", mask), ("inner", inner[:len(inner) // 3])]),
        "recon_model_wrong_geometry": _edit(seed, recon="model"),
    }


def run_rejects(inputs: dict) -> dict:
    from ref.easz.codec import decode

    return exit_codes(decode, inputs)


VECTORS = [
    Vector(
        id="easz.rejects.crafted",
        equations=("easz.container", "easz.C9", "easz.C13", "bits.C3"),
        function="ref.easz.codec.decode",
        make_inputs=crafted,
        run=run_rejects,
        description="crafted Easz containers with valid CRCs that a conforming decoder rejects; "
                    "exit_code[i] = 3 for every input, sorted by name",
        inputs_doc={k: "bytes: a complete easz container (valid CRC): " + v for k, v in INPUT_DOCS.items()},
        outputs_doc={
            "exit_code": "uint8 (n_inputs,): the decoder's exit status per input in sorted name "
                         "order under [bits.C3]: 3 (non-conforming stream) for every input",
        },
    ),
]
