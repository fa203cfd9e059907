"""Golden vectors for the container format (spec/bitstream.md).  All EXACT."""

from __future__ import annotations

import numpy as np

from ref.core.container import encode_varint, pack, unpack
from ref.core.crc import crc32, crc32_bitwise
from ref.core.errors import BitstreamError
from ref.conformance.golden import Vector

VARINT_VALUES = [0, 1, 127, 128, 255, 300, 16383, 16384, 2**32 - 1, 2**32, 2**63, 2**64 - 1]


def _typed_header() -> dict:
    return {
        "u_zero": 0,
        "u_127": 127,
        "u_128": 128,
        "u_max": 2**64 - 1,
        "n_minus1": -1,
        "n_min": -(2**63),
        "s_empty": "",
        "s_text": "größe ✓",
        "b_raw": b"\x00\xff\x10",
        "b_empty": b"",
        "height": 480,
        "width": 736,
    }


def _typed_sections() -> list[tuple[str, bytes]]:
    return [("z_first", b"written first"), ("empty", b""), ("payload.1", bytes(range(256)) + b"\x01" * 44)]


_TYPE_OF = {int: "uint", str: "str", bytes: "bytes"}


def _field_type(v) -> str:
    if isinstance(v, int):
        return "uint" if v >= 0 else "nint"
    return _TYPE_OF[type(v)]


def _typed_inputs() -> dict:
    """The header and sections of bits.container.typed_fields_easz as stored inputs:
    ``field.<key>.<type>`` (uint: uint64 (1,), nint: int64 (1,), str: UTF-8 bytes, bytes:
    bytes), in the (unsorted) order given to the writer, then ``section.<i>.<name>``."""
    out: dict = {}
    for key, v in _typed_header().items():
        typ = _field_type(v)
        if typ == "uint":
            out[f"field.{key}.uint"] = np.array([v], dtype=np.uint64)
        elif typ == "nint":
            out[f"field.{key}.nint"] = np.array([v], dtype=np.int64)
        else:
            out[f"field.{key}.{typ}"] = v.encode("utf-8") if typ == "str" else v
    for i, (name, payload) in enumerate(_typed_sections()):
        out[f"section.{i}.{name}"] = payload
    return out


def _inputs_to_content(inputs) -> tuple[dict, list[tuple[str, bytes]]]:
    """Inverse of :func:`_typed_inputs`: (header, sections in index order)."""
    header: dict = {}
    sections = []
    for name, v in inputs.items():
        kind, rest = name.split(".", 1)
        if kind == "field":
            key, typ = rest.rsplit(".", 1)
            header[key] = int(v[0]) if typ in ("uint", "nint") else (bytes(v).decode("utf-8") if typ == "str" else bytes(v))
        elif kind == "section":
            idx, sname = rest.split(".", 1)
            sections.append((int(idx), sname, bytes(v)))
    return header, [(n, p) for _, n, p in sorted(sections)]


def _pack_run(inputs, system: str) -> dict:
    header, sections = _inputs_to_content(inputs)
    return {"container": pack(system, header, sections)}


def _typed_docs() -> dict:
    docs = {}
    for name in _typed_inputs():
        kind, rest = name.split(".", 1)
        if kind == "field":
            key, typ = rest.rsplit(".", 1)
            store = {"uint": "uint64 array of shape (1,)", "nint": "int64 array of shape (1,)",
                     "str": "its UTF-8 bytes", "bytes": "the raw bytes"}[typ]
            docs[name] = (f"header field key {key!r}, [bits.header] type {typ} "
                          f"(tag {['uint', 'nint', 'str', 'bytes'].index(typ)}); value stored as {store}")
        else:
            idx, sname = rest.split(".", 1)
            docs[name] = f"payload of section {sname!r}, written as section number {idx} ([bits.sections])"
    return docs


def _varints(inputs) -> dict:
    vals = [int(v) for v in inputs["values"]]
    return {"encoded": b"".join(encode_varint(v) for v in vals)}


def _crc(inputs) -> dict:
    msgs = [inputs["check"], inputs["data"], b""]
    return {"crc32": np.array([crc32(m) for m in msgs], dtype=np.uint32),
            "crc32_bitwise": np.array([crc32_bitwise(m) for m in msgs], dtype=np.uint32)}


def _roundtrip(inputs) -> dict:
    c = unpack(inputs["container"])
    return {"repacked": pack(c.system, c.header, list(c.sections)),
            "section_names": "\n".join(n for n, _ in c.sections).encode(),
            "payloads": b"".join(p for _, p in c.sections)}


def _recrc(body: bytes) -> bytes:
    return body + crc32(body).to_bytes(4, "little")


def _bad_containers() -> dict[str, bytes]:
    """One malformed container per defect class of bits.C1 (CRC made valid where the
    defect is structural, so that a reader must find it by parsing)."""
    good = pack("easz", {"a": 1, "b": "x"}, [("s", b"abc")])
    pre = b"CREF\x01\x01"
    cases = {
        "empty": b"",
        "short": good[:11],
        "bad_magic": b"CREG" + good[4:],
        "bad_version": _recrc(b"CREF\x02" + good[5:-4]),
        "bad_crc": good[:-1] + bytes([good[-1] ^ 0x01]),
        "bit_flip_body": good[:8] + bytes([good[8] ^ 0x20]) + good[9:],
        "truncated": good[:-5] + good[-4:],
        "trailing_after_crc": good + b"\x00",
        "unknown_system": _recrc(b"CREF\x01\x09" + good[6:-4]),
        "trailing_before_crc": _recrc(good[:-4] + b"\x00"),
        "section_len_past_end": _recrc(pre + b"\x00\x01\x01s\x10abc"),
        "field_len_past_end": _recrc(pre + b"\x01\x01k\x02\x7fabc\x00"),
        "varint_non_minimal": _recrc(pre + b"\x80\x00\x00"),
        "varint_too_long": _recrc(pre + b"\x00\x01\x01s" + b"\xff" * 10 + b"\x01"),
        "varint_over_u64": _recrc(pre + b"\x01\x01k\x00" + b"\xff" * 9 + b"\x02\x00"),
        "duplicate_key": _recrc(pre + b"\x02\x01k\x00\x01\x01k\x00\x02\x00"),
        "unordered_keys": _recrc(pre + b"\x02\x01b\x00\x01\x01a\x00\x02\x00"),
        "duplicate_section": _recrc(pre + b"\x00\x02\x01s\x00\x01s\x00"),
        "unknown_type": _recrc(pre + b"\x01\x01k\x07\x00\x00"),
        "bad_utf8": _recrc(pre + b"\x01\x01k\x02\x02\xc3\x28\x00"),
        "bad_key_char": _recrc(pre + b"\x01\x01 \x00\x01\x00"),
        "empty_key": _recrc(pre + b"\x01\x00\x00\x01\x00"),
        "too_many_sections": _recrc(pre + b"\x00" + encode_varint(257)),
        "too_many_fields": _recrc(pre + encode_varint(257)),
        "nint_below_min": _recrc(pre + b"\x01\x01k\x01" + encode_varint(2**63) + b"\x00"),
        "str_over_limit": _recrc(pre + b"\x01\x01k\x02" + encode_varint(65536) + b"\x00"),
    }
    return cases


def _rejects(inputs) -> dict:
    names = sorted(inputs)
    flags = []
    for n in names:
        try:
            unpack(inputs[n])
        except BitstreamError:
            flags.append(1)
        else:
            flags.append(0)
    return {"rejected": np.array(flags, dtype=np.uint8)}


VECTORS = [
    Vector(
        id="bits.container.empty_core",
        equations=("bits.layout", "bits.systems", "bits.crc"),
        function="ref.core.container.pack",
        description='pack("core", {}, []): the 12-byte minimal container',
        make_inputs=lambda: {},
        run=_pack_run,
        params={"system": "core"},
        params_doc={"system": "system name; its [bits.systems] ID is the byte after the version (core = 0)"},
        outputs_doc={"container": "[bits.layout] bytes of a container with no header field and no section: "
                                  "magic 43 52 45 46, version 01, system 00, n_fields varint 0, n_sections "
                                  "varint 0, then the [bits.crc] CRC-32 of those 8 bytes as u32le"},
    ),
    Vector(
        id="bits.container.typed_fields_easz",
        equations=("bits.layout", "bits.header", "bits.sections", "bits.systems", "bits.varint",
                   "bits.crc", "bits.C2"),
        function="ref.core.container.pack",
        description="every field type and boundary value (uint 0/127/128/2**64-1, nint -1/-2**63, "
                    "str empty/UTF-8, bytes empty/raw), keys given unsorted, three sections "
                    "(one empty) kept in order; the header and sections are the inputs",
        make_inputs=_typed_inputs,
        run=_pack_run,
        params={"system": "easz"},
        params_doc={"system": "system name; [bits.systems] ID 1 (easz) is written after the version byte"},
        inputs_doc=_typed_docs(),
        outputs_doc={"container": "pack(system, header, sections) per [bits.layout]: the header fields "
                                  "given by the field.<key>.<type> inputs written in strictly ascending "
                                  "byte order of their keys ([bits.header], canonical per [bits.C2]: "
                                  "minimal varints), the sections in input index order ([bits.sections]), "
                                  "then the [bits.crc] CRC-32 as u32le"},
    ),
    Vector(
        id="bits.container.varint_values",
        equations=("bits.varint",),
        function="ref.core.container.encode_varint",
        description="concatenated LEB128 encodings of the input values",
        make_inputs=lambda: {"values": np.array(VARINT_VALUES, dtype=np.uint64)},
        run=_varints,
        inputs_doc={"values": "uint64 (12,): the integers to encode, including 0, 127/128, 2**32 and 2**64-1"},
        outputs_doc={"encoded": "[bits.varint] canonical unsigned LEB128 of values[0], values[1], ... "
                                "concatenated with no separator (1 to 10 bytes each)"},
    ),
    Vector(
        id="bits.container.crc32_check",
        equations=("bits.crc",),
        function="ref.core.crc.crc32",
        description='CRC-32 of b"123456789" (0xCBF43926), of 1000 pseudo-random bytes and of b""',
        make_inputs=lambda: {"check": b"123456789",
                             "data": bytes((i * 151 + 7) % 256 for i in range(1000))},
        run=_crc,
        inputs_doc={"check": 'the 9 ASCII bytes "123456789" (the CRC catalogue check string)',
                    "data": "1000 bytes, byte i = (151 i + 7) mod 256"},
        outputs_doc={"crc32": "uint32 (3,): [bits.crc] CRC-32/ISO-HDLC of check, of data and of the empty "
                              "string (0), in that order; crc32[0] = 0xCBF43926",
                     "crc32_bitwise": "uint32 (3,): the same three CRCs computed with the bit-serial "
                                      "definition of [bits.crc] (must equal crc32)"},
    ),
    Vector(
        id="bits.container.roundtrip_hcf",
        equations=("bits.layout", "bits.header", "bits.sections", "bits.C2"),
        function="ref.core.container.unpack",
        description="unpack then pack reproduces the input bytes (canonical form); section "
                    "names (newline-separated) and concatenated payloads",
        make_inputs=lambda: {"container": pack(
            "hcf", {"policy": "cnn-rl", "lambda_idx": 3, "offset": -7, "tables": b"\x01\x02"},
            [("latents", bytes(range(100))), ("hyper", b"\x00" * 17), ("aux", b"")])},
        run=_roundtrip,
        inputs_doc={"container": "a valid hcf container ([bits.layout], system 2) with four header fields "
                                 "(str, uint, nint, bytes) and three sections latents, hyper, aux (empty)"},
        outputs_doc={"repacked": "parse the input per [bits.layout]/[bits.header]/[bits.sections], then "
                                 "pack(system, header, sections) again: equal to the input ([bits.C2])",
                     "section_names": "the section names in stored order joined by a newline byte 0x0a "
                                      "(no trailing newline): b'latents\\nhyper\\naux'",
                     "payloads": "the section payloads in stored order, concatenated"},
    ),
    Vector(
        id="bits.container.rejects",
        equations=("bits.C1", "bits.crc", "bits.varint", "bits.header", "bits.sections"),
        function="ref.core.container.unpack",
        description="a corpus of malformed containers (input names say the defect); "
                    "output rejected[i] = 1 for every input in sorted name order: a conforming "
                    "reader rejects them all",
        make_inputs=_bad_containers,
        run=_rejects,
        inputs_doc={name: f"a malformed container with defect {name!r} of [bits.C1] (when the defect "
                          "is structural the CRC is made valid, so a reader must find it by parsing)"
                    for name in _bad_containers()},
        outputs_doc={"rejected": "uint8 (26,): for each input in ascending byte order of its name "
                                 "(bad_crc, bad_key_char, bad_magic, ...), 1 if a [bits.C1] reader "
                                 "rejects it with a bitstream error, 0 if it parses; all 1"},
    ),
]
