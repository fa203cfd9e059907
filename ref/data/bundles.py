"""Readers for the two bundle formats that hold corpus photographs (standard library only).

* Qt resource bundles (``.rcc``), as GCompris ships them;
* EET archives (``.edj``), as Enlightenment ships its wallpapers.

Layouts (big-endian) are summarised in spec/data.md ("Bundle formats"); both readers
return ``{path: bytes}`` for the file entries and raise :class:`InputError` on a
malformed bundle (never a partial answer).
"""

from __future__ import annotations

import struct
import zlib

from ref.core.errors import InputError

RCC_MAGIC = b"qres"
RCC_DIR, RCC_ZLIB = 0x2, 0x1
JPEG_SOI = b"\xff\xd8\xff"


def _u16(b: bytes, o: int) -> int:
    if o < 0 or o + 2 > len(b):
        raise InputError(f"bundle truncated at offset {o}")
    return struct.unpack_from(">H", b, o)[0]


def _u32(b: bytes, o: int) -> int:
    if o < 0 or o + 4 > len(b):
        raise InputError(f"bundle truncated at offset {o}")
    return struct.unpack_from(">I", b, o)[0]


def read_rcc(data: bytes) -> dict[str, bytes]:
    """Every file of a Qt ``.rcc`` bundle: ``{"/dir/name": uncompressed bytes}``.

    Header: ``qres``, u32 version, u32 tree offset, u32 data offset, u32 names offset.
    Tree entries are 14 bytes (version 1) or 22 bytes (version >= 2): u32 name offset,
    u16 flags, then for a directory (flags & 2) u32 child count + u32 first child index,
    else u16 country + u16 language + u32 data offset.  A name is u16 length, u32 hash,
    then UTF-16BE characters.  A data entry is u32 length + bytes; with flags & 1 the bytes
    are a u32 uncompressed size followed by a zlib stream.  Entry 0 is the root directory.
    """
    if data[:4] != RCC_MAGIC:
        raise InputError("not a Qt resource bundle (magic 'qres' missing)")
    version, tree, dat, names = (_u32(data, 4 + 4 * i) for i in range(4))
    if version not in (1, 2, 3):
        raise InputError(f"unsupported .rcc version {version}")
    esize = 14 if version == 1 else 22

    def name_of(off: int) -> str:
        n = _u16(data, names + off)
        start = names + off + 6
        if start + 2 * n > len(data):
            raise InputError("bundle truncated in a name")
        return data[start:start + 2 * n].decode("utf-16-be")

    out: dict[str, bytes] = {}
    seen: set[int] = set()

    def walk(index: int, prefix: str) -> None:
        if index in seen:
            raise InputError("malformed .rcc: directory cycle")
        seen.add(index)
        e = tree + index * esize
        flags = _u16(data, e + 4)
        if flags & RCC_DIR:
            count, first = _u32(data, e + 6), _u32(data, e + 10)
            for c in range(first, first + count):
                ce = tree + c * esize
                walk(c, prefix + "/" + name_of(_u32(data, ce)))
            return
        off = dat + _u32(data, e + 10)
        size = _u32(data, off)
        if off + 4 + size > len(data):
            raise InputError(f"bundle truncated in the data of {prefix}")
        blob = data[off + 4:off + 4 + size]
        if flags & RCC_ZLIB:
            want = _u32(blob, 0)
            try:
                blob = zlib.decompress(blob[4:])
            except zlib.error as exc:
                raise InputError(f"{prefix}: bad zlib stream ({exc})") from None
            if len(blob) != want:
                raise InputError(f"{prefix}: uncompressed size {len(blob)} != declared {want}")
        out[prefix] = blob

    if not _u16(data, tree + 4) & RCC_DIR:
        raise InputError("malformed .rcc: root entry is not a directory")
    walk(0, "")
    return out


def read_eet_jpegs(data: bytes) -> dict[str, bytes]:
    """The plain JPEG entries of an EET archive (``.edj``): ``{entry name: JPEG bytes}``.

    Header: u32 magic, u32 number of directory entries, u32 hash-table size, then
    24-byte entries: u32 data offset, u32 size, u32 uncompressed size, u32 name offset,
    u32 name size, u32 flags.  Only entries with flags 0 whose data starts with FF D8 FF
    are returned (other entries are compressed or encoded EET data).
    """
    if len(data) < 12:
        raise InputError("not an EET archive (too short)")
    count = _u32(data, 4)
    if 12 + 24 * count > len(data):
        raise InputError(f"not an EET archive (directory of {count} entries exceeds the file)")
    out: dict[str, bytes] = {}
    for i in range(count):
        off, size, _usize, noff, nsize, flags = struct.unpack_from(">6I", data, 12 + 24 * i)
        if noff + nsize > len(data) or off + size > len(data):
            raise InputError(f"EET entry {i} points outside the file")
        name = data[noff:noff + nsize].split(b"\0", 1)[0].decode("utf-8", "replace")
        if flags == 0 and data[off:off + 3] == JPEG_SOI:
            out[name] = data[off:off + size]
    return out
