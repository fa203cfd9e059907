"""Golden ``rejects`` vector of ecf: crafted non-conforming inputs that a conforming ecf decoder
must refuse with exit status 3 (spec/ecf.md [ecf.bits], [ecf.bits_bound]; [bits.C3]).

Every input but three has a valid CRC and container structure, so that the ecf checks
themselves are exercised (header fields, quality and model identity, the `shape` section
against the header and the model before any entropy decoding, the section list, the
[core.C7g] escape frame, the ANS end check of a group, the latent bound); the other three are
a damaged file (CRC mismatch), a truncated file and another system's container.  Output
``exit_code[i]`` is the exit status of decoding input i (inputs in sorted name order).
Generated only when a checkpoint is shipped (ref/weights/ecf_q<Q>.safetensors, lowest Q).
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector
from ref.conformance.rejects import exit_codes
from ref.core.container import encode_varint, pack, unpack

_BASE = ("the ecf container (lowest shipped quality) of the 64 x 64 crop rows 200..263, columns "
         "300..363 of the bundled photograph (ref.data.imageio.bundled_image_path)")
INPUT_DOCS = {
    "missing_model": f"{_BASE} without header field model ([ecf.bits]: exactly five fields)",
    "unknown_field": f"{_BASE} with an extra header field zz_extra = 1",
    "height_is_str": f"{_BASE} with height = '64' (a str; height is uint)",
    "quality_7": f"{_BASE} with quality = 7 (no such quality: no checkpoint)",
    "other_quality": f"{_BASE} with quality = Q + 1 (another quality: no checkpoint, or another one)",
    "other_checkpoint": f"{_BASE} with model = 'ecf_q<Q>-0000000000000000' (a checkpoint this decoder lacks)",
    "channels_2": f"{_BASE} with channels = 2 (1 or 3)",
    "height_15": f"{_BASE} with height = 15 ([ecf.bits_image]: sides 16..8192; too small)",
    "huge_8192x8192": f"{_BASE} with height = width = 8192: 2**26 pixels, over the 2**24 pixel cap (bits.C3)",
    "height_4096_shape_kept": f"{_BASE} with height = 4096 and its 8 x 8 latent `shape` kept (mismatch)",
    "shape_claims_huge_latent": f"{_BASE} whose `shape` declares a 512 x 512 latent for the 64 x 64 header",
    "shape_radius_other": f"{_BASE} whose `shape` has radius 65 ([ecf.bits]: R = 64)",
    "shape_n_cs_2": f"{_BASE} whose `shape` has N_cs = 2 (the model's is 4)",
    "missing_y3": f"{_BASE} without section y3 (a coding group is missing)",
    "groups_out_of_order": f"{_BASE} with sections y0 and y1 in swapped positions (names and payloads)",
    "extra_section": f"{_BASE} with an extra empty section 'extra' after 'y_esc'",
    "y2_truncated": f"{_BASE} with the last 4 bytes of section y2 removed (ANS end check of group 2)",
    "y_esc_trailing": f"{_BASE} with one zero byte appended to y_esc ([core.C7g]: nothing after the last group)",
    "y_esc_truncated": f"{_BASE} with y_esc cut to 3 bytes ([core.C7g]: truncated length of group 0)",
    "latent_over_bound": f"{_BASE} whose y0 / y_esc code group 0 with the value 40000 at its first element "
                         "(the group's own tables, an escape): [ecf.bits_bound] |y^| < 2**15",
    "crc_mismatch": f"{_BASE} with one payload byte of y0 flipped and the CRC-32 left as it was (a damaged file)",
    "file_truncated": f"{_BASE} cut to its first half (a truncated file)",
    "hcf_container": "an hcf container (system 2) carrying the base's header and sections: another system's "
                     "file given to the ecf decoder",
}


def _base():
    from ref.ecf.codec import encode_image, shipped_qualities
    from ref.ecf.codec_vectors import _crop

    q = shipped_qualities()[0]
    return q, encode_image(_crop(), q)


def _over_bound(c, m) -> list[tuple[str, bytes]]:
    """Sections of c with group 0 re-coded so that its first element is 40000 (tables of group 0
    depend on z^ only, [ecf.sfg], so the decoder reproduces them)."""
    from ref.core import ans
    from ref.core.escape import encode_values, frame_escape_groups, split_escape_groups
    from ref.core.tables import mixture_tables
    from ref.ecf.codec import Y_RADIUS, decode_latents, latent_size

    H, W, _, _ = latent_size(c.header["height"], c.header["width"])
    y_hat, z_hat = decode_latents(c, m, H, W)
    psi = m.int_model.hyper(z_hat.astype(np.int32))
    s, mu, w = m.int_model.decoder(psi).table_inputs(0)
    ts, centre = mixture_tables(s, mu, w, radius=Y_RADIUS, mean_grid=m.cfg.mean_grid)
    p = np.asarray(m.int_model.group_positions(0, H, W))
    vals = y_hat[p[:, 0], p[:, 1], p[:, 2]].copy()
    vals[0] = 40000
    groups, esc0 = encode_values(vals - centre, np.arange(vals.shape[0], dtype=np.int32), ts)
    esc = split_escape_groups(c.section("y_esc"), 2 * m.cfg.n_cs)
    esc[0] = esc0
    return [(n, ans.encode_groups(groups) if n == "y0" else frame_escape_groups(esc) if n == "y_esc" else p_)
            for n, p_ in c.sections]


def crafted() -> dict[str, bytes]:
    """name -> crafted input bytes."""
    from ref.ecf.codec import Y_RADIUS, get_model, read_shape

    q, base = _base()
    c = unpack(base)
    m = get_model(q)
    sec = dict(c.sections)
    names = [n for n, _ in c.sections]

    def edit(drop=(), sections=None, system="ecf", **fields) -> bytes:
        header = {k: v for k, v in c.header.items() if k not in drop}
        header.update(fields)
        return pack(system, header, list(c.sections) if sections is None else sections)

    def with_section(name, payload) -> list:
        return [(n, payload if n == name else sec[n]) for n in names]

    def shape(**kw) -> bytes:
        keys = ("H", "W", "M", "h", "w", "N", "n_cs", "grid", "R")
        vals = dict(zip(keys, read_shape(c)))
        vals.update(kw)
        return b"".join(encode_varint(int(vals[k])) for k in keys)

    swapped = list(c.sections)
    i0, i1 = names.index("y0"), names.index("y1")
    swapped[i0], swapped[i1] = swapped[i1], swapped[i0]
    damaged = bytearray(base)
    pos = base.index(sec["y0"]) + len(sec["y0"]) // 2
    damaged[pos] ^= 0x40
    return {
        "missing_model": edit(drop=("model",)),
        "unknown_field": edit(zz_extra=1),
        "height_is_str": edit(height="64"),
        "quality_7": edit(quality=7),
        "other_quality": edit(quality=q + 1),
        "other_checkpoint": edit(model=f"ecf_q{q}-0000000000000000"),
        "channels_2": edit(channels=2),
        "height_15": edit(height=15),
        "huge_8192x8192": edit(height=8192, width=8192),
        "height_4096_shape_kept": edit(height=4096),
        "shape_claims_huge_latent": edit(sections=with_section("shape", shape(H=512, W=512, h=128, w=128))),
        "shape_radius_other": edit(sections=with_section("shape", shape(R=Y_RADIUS + 1))),
        "shape_n_cs_2": edit(sections=with_section("shape", shape(n_cs=2))),
        "missing_y3": edit(sections=[(n, sec[n]) for n in names if n != "y3"]),
        "groups_out_of_order": edit(sections=swapped),
        "extra_section": edit(sections=list(c.sections) + [("extra", b"")]),
        "y2_truncated": edit(sections=with_section("y2", sec["y2"][:-4])),
        "y_esc_trailing": edit(sections=with_section("y_esc", sec["y_esc"] + b"\0")),
        "y_esc_truncated": edit(sections=with_section("y_esc", sec["y_esc"][:3])),
        "latent_over_bound": edit(sections=_over_bound(c, m)),
        "crc_mismatch": bytes(damaged),
        "file_truncated": base[:len(base) // 2],
        "hcf_container": edit(system="hcf"),
    }


def run_rejects(inputs: dict) -> dict:
    from ref.ecf.codec import decode_bytes

    return exit_codes(decode_bytes, {k: bytes(v) for k, v in inputs.items()})


def _vectors() -> list[Vector]:
    from ref.ecf.codec import shipped_qualities

    if not shipped_qualities():
        return []
    return [Vector(
        id="ecf.rejects.crafted",
        equations=("ecf.bits", "ecf.bits_bound", "ecf.bits_image", "bits.C3"),
        function="ref.ecf.codec.decode_bytes",
        make_inputs=crafted,
        run=run_rejects,
        description="crafted and damaged inputs that a conforming ecf decoder rejects; exit_code[i] = 3 for "
                    "every input, sorted by name",
        inputs_doc={k: "bytes: " + v for k, v in INPUT_DOCS.items()},
        outputs_doc={"exit_code": "uint8 (n_inputs,): the decoder's exit status for each input in sorted name "
                                  "order under [bits.C3]: 3 (non-conforming stream) for all of them; 0 would be a "
                                  "silent decode, 2 or 70 a contract violation"},
    )]


VECTORS = _vectors()
