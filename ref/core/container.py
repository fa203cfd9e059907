"""The codecref container: one file format for every system (spec/bitstream.md).

Layout (format version 1; all multi-byte fixed-width integers little-endian)::

    magic      4 bytes   b"CREF"
    version    u8        1
    system     u8        core=0, easz=1, hcf=2, moc=3, ecf=4
    n_fields   varint    0..256
    field*     key (varint length 1..64 + ASCII), type u8, value      keys strictly ascending
    n_sections varint    0..256
    section*   name (varint length 1..64 + ASCII), length varint, payload   names unique, order kept
    crc32      u32 LE    CRC-32 (IEEE, zlib) of every byte before it

Varints are unsigned LEB128, at most 10 bytes, value < 2**64, minimal (canonical).
Field types: 0 = unsigned int (varint), 1 = negative int (varint n, value = -1 - n),
2 = UTF-8 string (varint length + bytes), 3 = raw bytes (varint length + bytes).
The encoding is canonical: ``pack(*fields of unpack(b)) == b`` for every valid ``b``.

:func:`unpack` raises :class:`~ref.core.errors.BitstreamError` (never anything else,
never hangs, never allocates more than the input's size) for every malformed input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ref.core.crc import crc32
from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements

MAGIC = b"CREF"
FORMAT_VERSION = 1
#: System name -> system ID byte (bits.systems).
SYSTEM_IDS: dict[str, int] = {"core": 0, "easz": 1, "hcf": 2, "moc": 3, "ecf": 4}
SYSTEM_NAMES: dict[int, str] = {v: k for k, v in SYSTEM_IDS.items()}

# Field type tags (bits.header).
T_UINT, T_NINT, T_STR, T_BYTES = 0, 1, 2, 3
TYPE_NAMES = {T_UINT: "uint", T_NINT: "nint", T_STR: "str", T_BYTES: "bytes"}

# Limits (bits.C1): refuse absurd allocations and make every length checkable.
MAX_FIELDS = 256
MAX_SECTIONS = 256
MAX_NAME_LEN = 64
MAX_STR_LEN = 65535
MAX_BYTES_LEN = 1 << 20
MAX_SECTION_LEN = (1 << 32) - 1
MAX_VARINT_BYTES = 10
U64_MAX = (1 << 64) - 1
NINT_MAX_N = (1 << 63) - 1  # most negative value: -2**63
NAME_RE = re.compile(rb"^[A-Za-z0-9_.\-]{1,64}$")
FIXED_OVERHEAD = len(MAGIC) + 2 + 1 + 1 + 4  # magic, version, system, two counts, crc


# ---------------------------------------------------------------------- varint
@implements("bits.varint")
def encode_varint(value: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, least significant group first, high bit =
    "more bytes follow".  0 <= value < 2**64 (1..10 bytes, minimal)."""
    if not 0 <= value <= U64_MAX:
        raise InputError(f"varint value {value} outside [0, 2**64)")
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class _Reader:
    """Bounds-checked cursor over ``data[:end]`` (the CRC is excluded)."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def fail(self, msg: str) -> BitstreamError:
        return BitstreamError(f"bitstream: {msg}")

    def u8(self, what: str) -> int:
        if self.pos >= self.end:
            raise self.fail(f"truncated: {what} at byte {self.pos} is past the end of the data")
        v = self.data[self.pos]
        self.pos += 1
        return v

    @implements("bits.varint")
    def varint(self, what: str) -> int:
        start = self.pos
        value = 0
        for i in range(MAX_VARINT_BYTES):
            if self.pos >= self.end:
                raise self.fail(f"truncated: {what} (varint at byte {start}) runs past the end of the data")
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if i > 0 and b == 0:
                    raise self.fail(f"{what} (varint at byte {start}) is not minimally encoded")
                if value > U64_MAX:
                    raise self.fail(f"{what} (varint at byte {start}) exceeds 2**64 - 1")
                return value
        raise self.fail(f"{what} (varint at byte {start}) is longer than {MAX_VARINT_BYTES} bytes")

    def take(self, n: int, what: str) -> bytes:
        if n > self.end - self.pos:
            raise self.fail(
                f"{what} at byte {self.pos} declares {n} bytes but only {self.end - self.pos} remain "
                "(length field points past the end)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def name(self, what: str) -> str:
        n = self.varint(f"length of {what}")
        if not 1 <= n <= MAX_NAME_LEN:
            raise self.fail(f"{what} length {n} outside 1..{MAX_NAME_LEN}")
        raw = self.take(n, what)
        if not NAME_RE.match(raw):
            raise self.fail(f"{what} {raw!r} has characters outside [A-Za-z0-9_.-]")
        return raw.decode("ascii")


# ---------------------------------------------------------------------- container
@dataclass(frozen=True)
class Container:
    """A parsed container.

    system:   system name ("core" | "easz" | "hcf" | "moc" | "ecf").
    version:  format version (1).
    header:   {key: int | str | bytes}, keys in ascending byte order.
    sections: ((name, payload), ...) in file order.
    crc32:    the (verified) CRC-32 stored in the file, or None if not parsed from bytes.
    """

    system: str
    version: int
    header: dict
    sections: tuple[tuple[str, bytes], ...]
    crc32: int | None = None

    def section(self, name: str) -> bytes:
        """Payload of section ``name``; BitstreamError if the container has none."""
        for n, payload in self.sections:
            if n == name:
                return payload
        have = ", ".join(n for n, _ in self.sections) or "none"
        raise BitstreamError(f"bitstream: {self.system} container has no section {name!r} (sections: {have})")

    def get(self, key: str, kind: type | tuple[type, ...] | None = None):
        """Header field ``key`` (optionally type-checked); BitstreamError if absent/wrong type."""
        if key not in self.header:
            raise BitstreamError(f"bitstream: {self.system} container header has no field {key!r}")
        v = self.header[key]
        if kind is not None and not isinstance(v, kind):
            raise BitstreamError(f"bitstream: header field {key!r} has type {type(v).__name__}")
        return v


def _check_name(name: object, what: str) -> bytes:
    if not isinstance(name, str):
        raise InputError(f"{what} must be a str, got {type(name).__name__}")
    raw = name.encode("utf-8")
    if not NAME_RE.match(raw):
        raise InputError(f"{what} {name!r} must be 1..{MAX_NAME_LEN} characters of [A-Za-z0-9_.-]")
    return raw


@implements("bits.header", "bits.C2")
def encode_field(key: str, value: int | str | bytes) -> bytes:
    """key (varint length + ASCII), type u8, value (see module docstring)."""
    raw_key = _check_name(key, "header key")
    out = encode_varint(len(raw_key)) + raw_key
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"header field {key!r}: bool is not a field type (use 0/1)")
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if 0 <= v <= U64_MAX:
            return out + bytes([T_UINT]) + encode_varint(v)
        if -(NINT_MAX_N + 1) <= v < 0:
            return out + bytes([T_NINT]) + encode_varint(-1 - v)
        raise InputError(f"header field {key!r}: int {v} outside [-2**63, 2**64)")
    if isinstance(value, str):
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"header field {key!r}: string is not encodable as UTF-8") from exc
        if len(raw) > MAX_STR_LEN:
            raise InputError(f"header field {key!r}: string of {len(raw)} UTF-8 bytes > {MAX_STR_LEN}")
        return out + bytes([T_STR]) + encode_varint(len(raw)) + raw
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) > MAX_BYTES_LEN:
            raise InputError(f"header field {key!r}: {len(raw)} bytes > {MAX_BYTES_LEN}")
        return out + bytes([T_BYTES]) + encode_varint(len(raw)) + raw
    raise InputError(f"header field {key!r}: unsupported value type {type(value).__name__} "
                     "(int, str or bytes)")


@implements("bits.layout", "bits.systems", "bits.sections", "bits.C2")
def pack(system: str, header: Mapping[str, int | str | bytes],
         sections: Sequence[tuple[str, bytes]]) -> bytes:
    """Serialise a container (spec/bitstream.md).  Raises InputError on bad arguments.

    system:   one of SYSTEM_IDS.
    header:   {key: int | str | bytes}; written in ascending key order (canonical).
    sections: [(name, payload bytes), ...] written in the given order; names unique.
    """
    if system not in SYSTEM_IDS:
        raise InputError(f"unknown system {system!r} (known: {', '.join(SYSTEM_IDS)})")
    if not isinstance(header, Mapping):
        raise InputError(f"header must be a mapping, got {type(header).__name__}")
    if len(header) > MAX_FIELDS:
        raise InputError(f"{len(header)} header fields > {MAX_FIELDS}")
    sections = list(sections)
    if len(sections) > MAX_SECTIONS:
        raise InputError(f"{len(sections)} sections > {MAX_SECTIONS}")
    out = bytearray(MAGIC)
    out.append(FORMAT_VERSION)
    out.append(SYSTEM_IDS[system])
    keys = sorted(header, key=lambda k: _check_name(k, "header key"))
    out += encode_varint(len(keys))
    for k in keys:
        out += encode_field(k, header[k])
    out += encode_varint(len(sections))
    seen: set[str] = set()
    for item in sections:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InputError("each section must be a (name, bytes) pair")
        name, payload = item
        raw_name = _check_name(name, "section name")
        if name in seen:
            raise InputError(f"duplicate section name {name!r}")
        seen.add(name)
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise InputError(f"section {name!r}: payload must be bytes, got {type(payload).__name__}")
        payload = bytes(payload)
        if len(payload) > MAX_SECTION_LEN:
            raise InputError(f"section {name!r}: {len(payload)} bytes > {MAX_SECTION_LEN}")
        out += encode_varint(len(raw_name)) + raw_name + encode_varint(len(payload)) + payload
    out += write_crc(bytes(out))
    return bytes(out)


@implements("bits.crc")
def write_crc(body: bytes) -> bytes:
    """The 4 trailing bytes: CRC-32 of ``body`` as u32 little-endian."""
    return crc32(body).to_bytes(4, "little")


def _parse_body(data: bytes) -> tuple[dict, tuple[tuple[str, bytes], ...]]:
    """Parse fields and sections of ``data`` (magic/version/system/CRC already checked)."""
    r = _Reader(data, 6, len(data) - 4)
    n_fields = r.varint("number of header fields")
    if n_fields > MAX_FIELDS:
        raise r.fail(f"{n_fields} header fields > limit {MAX_FIELDS}")
    header: dict[str, int | str | bytes] = {}
    prev: str | None = None
    for i in range(n_fields):
        key = r.name(f"header key #{i}")
        if prev is not None and key.encode() <= prev.encode():
            if key == prev or key in header:
                raise r.fail(f"duplicate header key {key!r}")
            raise r.fail(f"header keys not in ascending order ({prev!r} before {key!r})")
        prev = key
        tag = r.u8(f"type of header field {key!r}")
        if tag == T_UINT:
            header[key] = r.varint(f"value of header field {key!r}")
        elif tag == T_NINT:
            n = r.varint(f"value of header field {key!r}")
            if n > NINT_MAX_N:
                raise r.fail(f"negative int field {key!r} below -2**63")
            header[key] = -1 - n
        elif tag in (T_STR, T_BYTES):
            n = r.varint(f"length of header field {key!r}")
            limit = MAX_STR_LEN if tag == T_STR else MAX_BYTES_LEN
            if n > limit:
                raise r.fail(f"header field {key!r} length {n} > limit {limit}")
            raw = r.take(n, f"value of header field {key!r}")
            if tag == T_STR:
                try:
                    header[key] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise r.fail(f"header field {key!r} is not valid UTF-8") from None
            else:
                header[key] = raw
        else:
            raise r.fail(f"header field {key!r} has unknown type tag {tag}")
    n_sections = r.varint("number of sections")
    if n_sections > MAX_SECTIONS:
        raise r.fail(f"{n_sections} sections > limit {MAX_SECTIONS}")
    sections: list[tuple[str, bytes]] = []
    names: set[str] = set()
    for i in range(n_sections):
        name = r.name(f"name of section #{i}")
        if name in names:
            raise r.fail(f"duplicate section name {name!r}")
        names.add(name)
        n = r.varint(f"length of section {name!r}")
        if n > MAX_SECTION_LEN:
            raise r.fail(f"section {name!r} length {n} > limit {MAX_SECTION_LEN}")
        sections.append((name, r.take(n, f"payload of section {name!r}")))
    if r.pos != r.end:
        extra = r.end - r.pos
        raise r.fail(f"{extra} trailing byte{'s' if extra != 1 else ''} after the last section "
                     f"(at byte {r.pos})")
    return header, tuple(sections)


@implements("bits.layout", "bits.systems", "bits.sections", "bits.header", "bits.C1")
def unpack(data: bytes, expect_system: str | None = None) -> Container:
    """Parse and validate a container; BitstreamError on any defect.

    Checks, in order: type and minimum size; magic; format version; CRC-32; system ID;
    fields and sections (lengths, limits, order, duplicates, UTF-8); trailing bytes;
    ``expect_system``.  When the CRC fails the structural diagnosis is appended.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BitstreamError(f"bitstream: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    n = len(data)
    if n < FIXED_OVERHEAD:
        raise BitstreamError(f"bitstream: truncated: {n} bytes, a container has at least {FIXED_OVERHEAD}")
    if data[:4] != MAGIC:
        raise BitstreamError(f"bitstream: not a codecref container (magic {data[:4]!r}, expected {MAGIC!r})")
    stored = int.from_bytes(data[-4:], "little")
    computed = crc32(data[:-4])
    version = data[4]
    if version != FORMAT_VERSION:
        hint = "" if stored == computed else "; its CRC-32 does not match either: probably corrupted"
        raise BitstreamError(f"bitstream: unsupported format version {version} "
                             f"(this reader supports {FORMAT_VERSION}){hint}")
    structure_error: BitstreamError | None = None
    try:
        header, sections = _parse_body(data)
    except BitstreamError as exc:
        structure_error = exc
    if stored != computed:
        detail = f"; structure: {str(structure_error).removeprefix('bitstream: ')}" if structure_error else ""
        raise BitstreamError(
            f"bitstream: CRC-32 mismatch (stored 0x{stored:08x}, computed 0x{computed:08x}): "
            f"the file is corrupted or truncated{detail}")
    system_id = data[5]
    if system_id not in SYSTEM_NAMES:
        raise BitstreamError(f"bitstream: unknown system ID {system_id} "
                             f"(known: {', '.join(f'{k}={v}' for k, v in SYSTEM_IDS.items())})")
    if structure_error is not None:
        raise structure_error
    system = SYSTEM_NAMES[system_id]
    if expect_system is not None and system != expect_system:
        raise BitstreamError(f"bitstream: container holds a {system!r} stream, expected {expect_system!r}")
    return Container(system, version, header, sections, crc32=stored)


def _show(value: int | str | bytes) -> str:
    if isinstance(value, bytes):
        head = value[:16].hex()
        return f"bytes[{len(value)}] {head}{'...' if len(value) > 16 else ''}"
    if isinstance(value, str):
        s = value if len(value) <= 60 else value[:57] + "..."
        return repr(s)
    return str(value)


def describe(container: Container, nbytes: int) -> list[tuple[str, str]]:
    """(key, value) lines for ``codecref inspect``: magic, version, system, size, CRC,
    each header field, each section (name and size)."""
    sid = SYSTEM_IDS.get(container.system, "?")
    crc = "ok" if container.crc32 is None else f"0x{container.crc32:08x} ok"
    lines = [
        ("magic", MAGIC.decode("ascii")),
        ("format version", str(container.version)),
        ("system", f"{container.system} (id {sid})"),
        ("size", f"{nbytes} bytes"),
        ("crc-32", crc),
        ("header fields", str(len(container.header))),
    ]
    for k, v in container.header.items():
        lines.append((f"  {k}", _show(v)))
    lines.append(("sections", str(len(container.sections))))
    for i, (name, payload) in enumerate(container.sections):
        lines.append((f"  [{i}] {name}", f"{len(payload)} bytes"))
    return lines
