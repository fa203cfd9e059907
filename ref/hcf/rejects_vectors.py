"""Golden ``rejects`` vectors of hcf: crafted non-conforming containers, each with a valid
CRC and container structure, that a conforming hcf decoder must refuse (exit 3).

The checks of hcf.C6 (header fields: presence, type, range; the pixel cap of bits.C3; the
`shape` section against (height, width) and the model, before anything is entropy-decoded;
exactly the five sections of core.hp_sections in order) and the end check of the ANS streams
(spec/core-ans.md (E1)/(E2)).  Not here: an *empty* `y` or `z` section, which is a conforming
stream (it decodes to symbol 0, r = -R, everywhere and re-encodes to the same empty bytes;
docs/reliability.md "The ANS end-of-stream condition").  Output ``exit_code[i]`` is the exit status of decoding input i
(inputs in sorted name order): 3 for every one.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector
from ref.conformance.rejects import exit_codes
from ref.core.container import pack, unpack

#: the quality level of the base container (shipped checkpoint ref/weights/hcf_q1.safetensors)
BASE_LEVEL = 1

_BASE = ("the hcf level-1 container of the 24 x 40 RGB crop rows 220..243, columns 180..219 of "
         "the bundled photograph (ref.data.imageio.bundled_image_path)")
INPUT_DOCS = {
    "missing_model": f"{_BASE} without header field model (hcf.C6: every field present)",
    "missing_height": f"{_BASE} without header field height",
    "unknown_field": f"{_BASE} with an extra header field zz_extra = 1 (hcf.C6: exactly five fields)",
    "height_is_str": f"{_BASE} with height = '24' (a str; hcf.C6: height is uint)",
    "level_7": f"{_BASE} with level = 7 (hcf.C2: levels 1..6)",
    "level_0": f"{_BASE} with level = 0",
    "channels_2": f"{_BASE} with channels = 2 (hcf.C4: 1 or 3)",
    "height_15": f"{_BASE} with height = 15 (hcf.C6: sides 16..8192)",
    "width_8193": f"{_BASE} with width = 8193 (hcf.C6: sides 16..8192)",
    "huge_8192x8192": f"{_BASE} with height = width = 8192: 2**26 pixels, over the decoder's 2**24 "
                      "pixel cap (bits.C3)",
    "height_4096_shape_kept": f"{_BASE} with height = 4096 (within the cap) and its 4 x 4 latent "
                              "`shape` section kept: the shape does not match the header (hcf.C6)",
    "shape_claims_huge_latent": f"{_BASE} whose `shape` section declares a 512 x 512 latent "
                                "(z 128 x 128) for the 24 x 40 header: refused before any "
                                "entropy decoding or allocation",
    "shape_radius_255": f"{_BASE} whose `shape` section has radius 255 (hcf.C6: 256)",
    "shape_grid_4": f"{_BASE} whose `shape` section has mean grid 4 (hcf.C6: 8)",
    "model_of_level_2": f"{_BASE} with model = the identity of the level-2 checkpoint",
    "extra_section": f"{_BASE} with an extra empty section 'extra' after 'y_esc'",
    "sections_swapped": f"{_BASE} with sections z and y swapped (hcf.C6: shape, z, z_esc, y, y_esc)",
    "y_truncated": f"{_BASE} with the last 4 bytes of the `y` section removed",
}


def _photo() -> np.ndarray:
    from ref.data.imageio import bundled_image_path, read_image

    return np.ascontiguousarray(read_image(bundled_image_path())[220:244, 180:220])


def _varints(vals) -> bytes:
    out = bytearray()
    for v in vals:
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                break
    return bytes(out)


def crafted() -> dict[str, bytes]:
    """name -> crafted container (every one has a valid CRC and container structure)."""
    from ref.hcf.codec import encode_image, get_model

    base = encode_image(_photo(), BASE_LEVEL)
    c = unpack(base)
    sec = dict(c.sections)
    names = [n for n, _ in c.sections]

    def edit(drop=(), sections=None, **fields) -> bytes:
        header = {k: v for k, v in c.header.items() if k not in drop}
        header.update(fields)
        return pack("hcf", header, list(c.sections) if sections is None else sections)

    def with_section(name, payload) -> list:
        return [(n, payload if n == name else sec[n]) for n in names]

    M, N = get_model(BASE_LEVEL).cfg.M, get_model(BASE_LEVEL).cfg.N
    swapped = [(n, sec[{"z": "y", "y": "z"}.get(n, n)]) for n in names]
    return {
        "missing_model": edit(drop=("model",)),
        "missing_height": edit(drop=("height",)),
        "unknown_field": edit(zz_extra=1),
        "height_is_str": edit(height="24"),
        "level_7": edit(level=7),
        "level_0": edit(level=0),
        "channels_2": edit(channels=2),
        "height_15": edit(height=15),
        "width_8193": edit(width=8193),
        "huge_8192x8192": edit(height=8192, width=8192),
        "height_4096_shape_kept": edit(height=4096),
        "shape_claims_huge_latent": edit(sections=with_section("shape", _varints((512, 512, M, 128, 128, N, 8, 256)))),
        "shape_radius_255": edit(sections=with_section("shape", _varints((4, 4, M, 1, 1, N, 8, 255)))),
        "shape_grid_4": edit(sections=with_section("shape", _varints((4, 4, M, 1, 1, N, 4, 256)))),
        "model_of_level_2": edit(model=get_model(2).model_id),
        "extra_section": edit(sections=list(c.sections) + [("extra", b"")]),
        "sections_swapped": edit(sections=swapped),
        "y_truncated": edit(sections=with_section("y", sec["y"][:-4])),
    }


def run_rejects(inputs: dict) -> dict:
    from ref.hcf.codec import decode_bytes

    return exit_codes(decode_bytes, inputs)


VECTORS = [
    Vector(
        id="hcf.rejects.crafted",
        equations=("hcf.C6", "bits.C3"),
        function="ref.hcf.codec.decode_bytes",
        make_inputs=crafted,
        run=run_rejects,
        description="crafted hcf containers with valid CRCs that a conforming decoder rejects "
                    "(issue 11); exit_code[i] = 3 for every input, sorted by name",
        inputs_doc={k: "bytes: a complete hcf container (valid CRC): " + v for k, v in INPUT_DOCS.items()},
        outputs_doc={
            "exit_code": "uint8 (n_inputs,): the decoder's exit status for each input in sorted "
                         "name order under the error contract of [bits.C3]: 3 (non-conforming "
                         "stream) for all of them; 0 would be a silent decode, 2 or 70 a "
                         "contract violation",
        },
    ),
]
