"""The .rcc and .edj readers, on small bundles written here from the published layouts."""

import io
import struct
import zlib

import pytest

from ref.core.errors import InputError
from ref.data.bundles import read_eet_jpegs, read_rcc


def _qt_hash(name: str) -> int:  # qt_hash as rcc writes it (value is not checked by readers)
    h = 0
    for ch in name:
        h = ((h << 4) + ord(ch)) & 0xFFFFFFFF
        h ^= (h & 0xF0000000) >> 23
        h &= 0x0FFFFFFF
    return h


def make_rcc(tree: dict, version: int = 2, compress: set = frozenset()) -> bytes:
    """A Qt resource bundle for a nested dict {name: bytes | dict} (breadth-first entries,
    children of a directory contiguous, as rcc lays them out)."""
    names, data = bytearray(), bytearray()
    name_off = {}

    def add_name(n):
        if n not in name_off:
            name_off[n] = len(names)
            enc = n.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(n), _qt_hash(n)) + enc)
        return name_off[n]

    entries = [None]  # index 0: root
    queue = [(0, "", tree)]
    records = {}
    while queue:
        idx, nm, node = queue.pop(0)
        if isinstance(node, dict):
            first = len(entries)
            kids = sorted(node.items())
            entries.extend([None] * len(kids))
            records[idx] = ("dir", nm, len(kids), first)
            for i, (k, v) in enumerate(kids):
                queue.append((first + i, k, v))
        else:
            payload = node
            flags = 0
            if nm in compress:
                payload = struct.pack(">I", len(node)) + zlib.compress(node)
                flags = 1
            off = len(data)
            data.extend(struct.pack(">I", len(payload)) + payload)
            records[idx] = ("file", nm, flags, off)
    esize = 14 if version == 1 else 22
    tree_b = bytearray()
    for i in range(len(entries)):
        kind, nm, a, b = records[i]
        noff = add_name(nm) if i else 0
        if kind == "dir":
            e = struct.pack(">IHII", noff, 2, a, b)
        else:
            e = struct.pack(">IHHHI", noff, a, 0, 1, b)
        if version >= 2:
            e += b"\0" * 8  # last-modified
        assert len(e) == esize
        tree_b += e
    header = 20
    tree_off = header
    data_off = tree_off + len(tree_b)
    names_off = data_off + len(data)
    return b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off) + tree_b + data + names


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_reads_nested_plain_and_zlib_entries(version):
    tree = {"gcompris": {"a.webp": b"RIFF-plain-bytes", "resource": {"b.txt": b"hello" * 50, "c": b""}}}
    blob = make_rcc(tree, version, compress={"b.txt"})
    got = read_rcc(blob)
    assert got == {"/gcompris/a.webp": b"RIFF-plain-bytes", "/gcompris/resource/b.txt": b"hello" * 50,
                   "/gcompris/resource/c": b""}


def test_rcc_rejects_bad_magic_truncation_and_bad_zlib():
    blob = make_rcc({"x": b"abc" * 20}, compress={"x"})
    with pytest.raises(InputError, match="qres"):
        read_rcc(b"QRES" + blob[4:])
    with pytest.raises(InputError):
        read_rcc(blob[:30])
    broken = bytearray(blob)
    i = broken.index(zlib.compress(b"abc" * 20)[:4])
    broken[i + 2] ^= 0xFF
    with pytest.raises(InputError):
        read_rcc(bytes(broken))


def make_eet(entries: list[tuple[str, int, bytes]]) -> bytes:
    """An EET archive with (name, flags, data) entries (header, directory, names, data)."""
    n = len(entries)
    base = 12 + 24 * n
    names = b"".join(nm.encode() + b"\0" for nm, _, _ in entries)
    directory, blobs = b"", b""
    noff = base
    doff = base + len(names)
    for nm, flags, data in entries:
        directory += struct.pack(">6I", doff + len(blobs), len(data), len(data), noff, len(nm) + 1, flags)
        noff += len(nm) + 1
        blobs += data
    return struct.pack(">III", 0x1EE7FF00, n, 0) + directory + names + blobs


def _jpeg(w, h):
    from PIL import Image

    b = io.BytesIO()
    Image.new("RGB", (w, h), (10, 200, 30)).save(b, format="JPEG")
    return b.getvalue()


def test_eet_returns_only_plain_jpeg_entries():
    small, big = _jpeg(8, 8), _jpeg(64, 40)
    blob = make_eet([("edje/images/0", 0, big), ("edje/images/1", 0, small),
                     ("edje/images/2", 1, small),  # compressed flag: skipped
                     ("edje/data", 0, b"not a jpeg")])
    assert read_eet_jpegs(blob) == {"edje/images/0": big, "edje/images/1": small}


def test_eet_rejects_directory_past_end():
    blob = make_eet([("a", 0, _jpeg(4, 4))])
    with pytest.raises(InputError):
        read_eet_jpegs(blob[:20])
    bad = bytearray(blob)
    struct.pack_into(">I", bad, 12, len(blob) + 10)  # data offset outside
    with pytest.raises(InputError):
        read_eet_jpegs(bytes(bad))
