"""Container format (spec/bitstream.md): layout, varints, fields, sections, CRC,
canonical form, and rejection of every malformed input with BitstreamError."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ref.core.container import (
    MAX_SECTIONS,
    SYSTEM_IDS,
    Container,
    describe,
    encode_varint,
    pack,
    unpack,
)
from ref.conformance.core_vectors.container_vectors import _bad_containers
from ref.core.crc import CRC32_CHECK, crc32, crc32_bitwise
from ref.core.errors import BitstreamError, InputError

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
names = st.text(NAME_CHARS, min_size=1, max_size=12)
values = st.one_of(
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([0, 127, 128, -1, -(2**63), 2**64 - 1]),
    st.text(max_size=20),
    st.binary(max_size=20),
)
headers = st.dictionaries(names, values, max_size=6)
sections = st.lists(st.tuples(names, st.binary(max_size=40)), max_size=4, unique_by=lambda t: t[0])
systems = st.sampled_from(sorted(SYSTEM_IDS))


def _recrc(body: bytes) -> bytes:
    return body + zlib.crc32(body).to_bytes(4, "little")


# ---------------------------------------------------------------------- CRC
@pytest.mark.eq("bits.crc")
def test_crc32_check_value():
    assert crc32(b"123456789") == CRC32_CHECK == 0xCBF43926
    assert crc32_bitwise(b"123456789") == 0xCBF43926
    assert crc32(b"") == crc32_bitwise(b"") == 0


@pytest.mark.eq("bits.crc")
@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_crc32_bitwise_equals_zlib(data):
    assert crc32_bitwise(data) == zlib.crc32(data) == crc32(data)


@pytest.mark.eq("bits.crc", "bits.layout")
def test_crc_is_last_four_bytes_little_endian():
    b = pack("moc", {"k": 1}, [("s", b"xyz")])
    assert b[-4:] == zlib.crc32(b[:-4]).to_bytes(4, "little")


# ---------------------------------------------------------------------- varint
@pytest.mark.eq("bits.varint")
def test_varint_examples():
    assert encode_varint(0) == b"\x00"
    assert encode_varint(127) == b"\x7f"
    assert encode_varint(128) == b"\x80\x01"
    assert encode_varint(300) == b"\xac\x02"
    assert encode_varint(2**64 - 1) == b"\xff" * 9 + b"\x01"
    for bad in (-1, 2**64):
        with pytest.raises(InputError):
            encode_varint(bad)


@pytest.mark.eq("bits.varint", "bits.header")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_varint_roundtrip_through_header(v):
    c = unpack(pack("core", {"v": v}, []))
    assert c.header == {"v": v}


# ---------------------------------------------------------------------- layout
@pytest.mark.eq("bits.layout", "bits.systems")
def test_minimal_container_layout():
    for name, sid in SYSTEM_IDS.items():
        b = pack(name, {}, [])
        assert b[:8] == b"CREF\x01" + bytes([sid]) + b"\x00\x00"
        assert len(b) == 12
        c = unpack(b)
        assert (c.system, c.version, c.header, c.sections) == (name, 1, {}, ())


@pytest.mark.eq("bits.header", "bits.C2")
def test_field_encoding_bytes():
    b = pack("core", {"b": -1, "a": "é", "c": b"\x00", "d": 300}, [])
    body = b[6:-4]
    assert body == (b"\x04"
                    b"\x01a\x02\x02\xc3\xa9"      # str "é" (UTF-8, 2 bytes)
                    b"\x01b\x01\x00"              # nint -1 -> n = 0
                    b"\x01c\x03\x01\x00"          # bytes
                    b"\x01d\x00\xac\x02"          # uint 300
                    b"\x00")                      # no sections


@pytest.mark.eq("bits.sections")
def test_sections_keep_order_and_section_lookup():
    secs = [("z", b"1"), ("a", b""), ("m.2", b"\x00" * 300)]
    c = unpack(pack("ecf", {}, secs))
    assert c.sections == tuple(secs)
    assert c.section("m.2") == b"\x00" * 300
    with pytest.raises(BitstreamError, match="no section 'nope'"):
        c.section("nope")


@pytest.mark.eq("bits.layout", "bits.header", "bits.sections", "bits.C2")
@settings(max_examples=80, deadline=None)
@given(systems, headers, sections)
def test_roundtrip_and_canonical(system, header, secs):
    b = pack(system, header, secs)
    c = unpack(b, expect_system=system)
    assert c.system == system and c.version == 1
    assert c.header == header
    assert list(c.header) == sorted(header, key=lambda k: k.encode())
    assert c.sections == tuple(secs)
    assert pack(c.system, c.header, list(c.sections)) == b
    # dict order does not change the bytes
    assert pack(system, dict(reversed(list(header.items()))), secs) == b


# ---------------------------------------------------------------------- corruption
def _small_containers():
    return st.builds(lambda s, h, x: pack(s, h, x), systems,
                     st.dictionaries(names, values, max_size=3),
                     st.lists(st.tuples(names, st.binary(max_size=12)), max_size=2,
                              unique_by=lambda t: t[0]))


@pytest.mark.eq("bits.crc", "bits.C1")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_small_containers())
def test_every_single_bit_flip_is_rejected(b):
    for i in range(len(b)):
        for bit in range(8):
            bad = bytearray(b)
            bad[i] ^= 1 << bit
            with pytest.raises(BitstreamError):
                unpack(bytes(bad))


@pytest.mark.eq("bits.C1")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_small_containers())
def test_every_truncation_is_rejected(b):
    for n in range(len(b)):
        with pytest.raises(BitstreamError):
            unpack(b[:n])
    # truncation with a recomputed CRC (a "clean" cut) is still caught structurally
    for n in range(6, len(b) - 4):
        with pytest.raises(BitstreamError):
            unpack(_recrc(b[:n]))


@pytest.mark.eq("bits.C1")
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.booleans())
def test_arbitrary_bytes_only_raise_bitstream_error(tail, fix_crc):
    data = b"CREF\x01" + tail
    if fix_crc:
        data = _recrc(data)
    try:
        c = unpack(data)
    except BitstreamError:
        return
    assert isinstance(c, Container)
    assert pack(c.system, c.header, list(c.sections)) == data  # accepted => canonical


EXPECTED_MESSAGES = {
    "empty": "truncated",
    "short": "truncated",
    "bad_magic": "magic",
    "bad_version": "version 2",
    "bad_crc": "CRC-32 mismatch",
    "bit_flip_body": "CRC-32 mismatch",
    "truncated": "past the end",
    "trailing_after_crc": "trailing byte",
    "unknown_system": "unknown system ID 9",
    "trailing_before_crc": "trailing byte",
    "section_len_past_end": "past the end",
    "field_len_past_end": "past the end",
    "varint_non_minimal": "not minimally encoded",
    "varint_too_long": "longer than 10 bytes",
    "varint_over_u64": "exceeds 2**64",
    "duplicate_key": "duplicate header key",
    "unordered_keys": "ascending order",
    "duplicate_section": "duplicate section name",
    "unknown_type": "unknown type tag",
    "bad_utf8": "UTF-8",
    "bad_key_char": "characters outside",
    "empty_key": "length 0",
    "too_many_sections": "257 sections",
    "too_many_fields": "257 header fields",
    "nint_below_min": "below -2**63",
    "str_over_limit": "limit 65535",
}


@pytest.mark.eq("bits.C1", "bits.varint", "bits.header", "bits.sections", "bits.systems")
@pytest.mark.parametrize("name", sorted(EXPECTED_MESSAGES))
def test_malformed_corpus_clear_messages(name):
    data = _bad_containers()[name]
    with pytest.raises(BitstreamError, match=EXPECTED_MESSAGES[name].replace("*", r"\*")):
        unpack(data)


@pytest.mark.eq("bits.C1")
def test_corpus_is_covered():
    assert set(_bad_containers()) == set(EXPECTED_MESSAGES)


@pytest.mark.eq("bits.C1")
def test_huge_declared_length_does_not_allocate():
    body = b"CREF\x01\x00\x00\x01\x01s" + encode_varint(2**32 - 1)
    with pytest.raises(BitstreamError, match="past the end"):
        unpack(_recrc(body))
    body = b"CREF\x01\x00\x00\x01\x01s" + encode_varint(2**40)
    with pytest.raises(BitstreamError, match="limit"):
        unpack(_recrc(body))


@pytest.mark.eq("bits.systems")
def test_expect_system_and_non_bytes():
    b = pack("hcf", {}, [])
    assert unpack(b, expect_system="hcf").system == "hcf"
    with pytest.raises(BitstreamError, match="expected 'easz'"):
        unpack(b, expect_system="easz")
    with pytest.raises(BitstreamError):
        unpack("CREF")  # type: ignore[arg-type]
    assert unpack(bytearray(b)).system == "hcf"
    assert unpack(memoryview(b)).system == "hcf"


# ---------------------------------------------------------------------- writer errors
@pytest.mark.eq("bits.C1", "bits.C2")
def test_pack_rejects_bad_arguments():
    bad_calls = [
        lambda: pack("nope", {}, []),
        lambda: pack("core", {"": 1}, []),
        lambda: pack("core", {"a b": 1}, []),
        lambda: pack("core", {"k" * 65: 1}, []),
        lambda: pack("core", {"k": True}, []),
        lambda: pack("core", {"k": 2**64}, []),
        lambda: pack("core", {"k": -(2**63) - 1}, []),
        lambda: pack("core", {"k": 1.5}, []),
        lambda: pack("core", {"k": "x" * 65536}, []),
        lambda: pack("core", {"k": b"x" * (2**20 + 1)}, []),
        lambda: pack("core", {}, [("s", b""), ("s", b"")]),
        lambda: pack("core", {}, [("s", "text")]),
        lambda: pack("core", {}, [("", b"")]),
        lambda: pack("core", {}, [("s%d" % i, b"") for i in range(MAX_SECTIONS + 1)]),
        lambda: pack("core", {f"k{i}": 0 for i in range(257)}, []),
    ]
    for call in bad_calls:
        with pytest.raises(InputError):
            call()
    # limits themselves are accepted
    b = pack("core", {"k" * 64: "x" * 65535}, [("s%d" % i, b"") for i in range(MAX_SECTIONS)])
    assert len(unpack(b).sections) == MAX_SECTIONS


@pytest.mark.eq("bits.header")
def test_numpy_integers_accepted():
    import numpy as np

    c = unpack(pack("core", {"h": np.int64(480), "n": np.int32(-3), "u": np.uint64(2**64 - 1)}, []))
    assert c.header == {"h": 480, "n": -3, "u": 2**64 - 1}
    assert all(type(v) is int for v in c.header.values())


# ---------------------------------------------------------------------- describe / CLI
@pytest.mark.eq("bits.layout")
def test_describe_lists_everything():
    b = pack("easz", {"height": 480, "name": "x", "blob": b"\x01\x02"}, [("mask", b"\x00" * 128), ("ans", b"12")])
    lines = dict(describe(unpack(b), len(b)))
    assert lines["magic"] == "CREF" and lines["format version"] == "1"
    assert lines["system"] == "easz (id 1)"
    assert lines["size"] == f"{len(b)} bytes"
    assert lines["crc-32"] == f"0x{zlib.crc32(b[:-4]):08x} ok"
    assert lines["  height"] == "480" and lines["  name"] == "'x'" and lines["  blob"].startswith("bytes[2]")
    assert lines["  [0] mask"] == "128 bytes" and lines["  [1] ans"] == "2 bytes"


@pytest.mark.eq("bits.layout")
def test_cli_inspect(tmp_path):
    from click.testing import CliRunner

    from ref.cli import cli

    p = tmp_path / "x.cref"
    p.write_bytes(pack("hcf", {"q": 3}, [("latents", b"abc")]))
    res = CliRunner().invoke(cli, ["inspect", str(p)])
    assert res.exit_code == 0, res.output
    assert "hcf (id 2)" in res.output and "latents" in res.output
    p.write_bytes(p.read_bytes()[:-1])
    res = CliRunner().invoke(cli, ["inspect", str(p)])
    assert res.exit_code != 0
    assert "CRC-32 mismatch" in res.output or "CRC-32 mismatch" in str(res.exception)


@pytest.mark.eq("bits.crc", "bits.C1")
def test_exhaustive_flips_and_truncations_of_a_full_container():
    """Every bit flip and every prefix of a container using every field type."""
    from ref.conformance.core_vectors.container_vectors import _typed_header, _typed_sections

    b = pack("easz", _typed_header(), _typed_sections())
    for i in range(len(b)):
        with pytest.raises(BitstreamError):
            unpack(b[:i])
        for bit in range(8):
            bad = bytearray(b)
            bad[i] ^= 1 << bit
            with pytest.raises(BitstreamError):
                unpack(bytes(bad))
