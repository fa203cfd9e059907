"""Escape coding: residuals outside a table's support [-R, R] ([core.C7]).

Nothing is ever clipped.  A residual r with |r| <= R is coded as symbol r + R; any other
residual is coded as the escape symbol 2R + 1 in the ANS stream, and its value goes to a
separate byte string, the *escape payload*:

    for every escaped residual, in raster order (C order of the value array; not the ANS
    order of [core.ans_order]):
        e = |r| - R - 1                     (>= 0)
        v = e + 1 ; n = bit_length(v)       (1 <= n <= 64)
        write n - 1 zero bits, then the n bits of v (most significant first)   [Exp-Golomb, k=0]
        write 1 sign bit: 0 if r > 0, 1 if r < 0
    bits are packed most-significant-bit first into bytes; the last byte is padded with zero
    bits.  No escapes -> empty payload.

A decoder raises BitstreamError when the payload is truncated, a code is longer than 64
bits, a value leaves int64, or anything but zero padding follows the last code.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements
from ref.core.tables import TableSet

INT64_MAX = (1 << 63) - 1


def _as_int64(values) -> np.ndarray:
    v = np.asarray(values)
    if v.dtype.kind not in "iu":
        raise InputError(f"values must be integers, got {v.dtype}")
    if v.dtype == np.uint64 and v.size and int(v.max()) > INT64_MAX:
        raise InputError("values exceed int64")
    return v.astype(np.int64)


def exp_golomb_encode(residuals, radius: int) -> bytes:
    """Escape payload for escaped residuals (each |r| > radius), see module docstring."""
    parts = []
    R = int(radius)
    for r in residuals:
        r = int(r)
        if abs(r) <= R:
            raise InputError(f"residual {r} is not an escape for radius {R}")
        v = abs(r) - R
        b = format(v, "b")
        parts.append("0" * (len(b) - 1) + b + ("1" if r < 0 else "0"))
    bits = "".join(parts)
    if not bits:
        return b""
    pad = (-len(bits)) % 8
    bits += "0" * pad
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def exp_golomb_decode(payload: bytes, count: int, radius: int) -> np.ndarray:
    """Inverse of :func:`exp_golomb_encode`: ``count`` residuals (int64)."""
    R = int(radius)
    data = bytes(payload)
    if count == 0:
        if data:
            raise BitstreamError(f"escape payload has {len(data)} unexpected bytes")
        return np.zeros(0, dtype=np.int64)
    nbits = 8 * len(data)
    bits = format(int.from_bytes(data, "big"), "b").zfill(nbits) if data else ""
    out = np.empty(count, dtype=np.int64)
    pos = 0
    for k in range(count):
        one = bits.find("1", pos)
        if one < 0:
            raise BitstreamError("escape payload truncated")
        zeros = one - pos
        if zeros > 63:
            raise BitstreamError("escape code longer than 64 bits")
        end = one + zeros + 1
        if end + 1 > nbits:
            raise BitstreamError("escape payload truncated")
        mag = int(bits[one:end], 2) + R
        if mag > INT64_MAX:
            raise BitstreamError("escaped value exceeds int64")
        out[k] = -mag if bits[end] == "1" else mag
        pos = end + 1
    if nbits - pos >= 8 or bits[pos:].count("1"):
        raise BitstreamError("escape payload has trailing data after the last code")
    return out


@implements("core.C7")
def values_to_symbols(values, radius: int) -> tuple[np.ndarray, bytes]:
    """Residuals -> (symbols int32 same shape, escape payload).

    symbol = r + R if |r| <= R else 2R + 1 (escape; value to the payload, C order).
    """
    v = _as_int64(values)
    R = int(radius)
    inside = np.abs(v) <= R                      # |INT64_MIN| wraps negative -> not inside? guard:
    inside &= v != np.iinfo(np.int64).min
    sym = np.where(inside, v + R, 2 * R + 1).astype(np.int32)
    esc = v[~inside].ravel()
    if esc.size and np.any(esc == np.iinfo(np.int64).min):
        raise InputError("value -2**63 cannot be escape-coded (|r| exceeds int64)")
    return sym, exp_golomb_encode(esc.tolist(), R)


def symbols_to_values(symbols, radius: int, payload: bytes) -> np.ndarray:
    """Inverse of :func:`values_to_symbols`: (symbols, payload) -> residuals int64."""
    s = np.asarray(symbols).astype(np.int64)
    R = int(radius)
    if s.size and (s.min() < 0 or s.max() > 2 * R + 1):
        raise BitstreamError("symbol outside the table alphabet")
    out = s - R
    is_esc = s == 2 * R + 1
    out[is_esc] = exp_golomb_decode(payload, int(is_esc.sum()), R)
    return out


def encode_values(values, table_idx, tables: TableSet) -> tuple[list, bytes]:
    """Residuals + per-value table indices -> (groups for ans.encode_groups, escape payload).

    values, table_idx: int arrays of the same shape (table_idx in [0, n_tables)).
    Returns ([(symbols int32 (n,), tables.freqs, table_idx int32 (n,))], payload).
    """
    v = _as_int64(values)
    t = np.asarray(table_idx)
    if t.shape != v.shape:
        raise InputError(f"table_idx shape {t.shape} != values shape {v.shape}")
    if t.dtype.kind not in "iu" or (t.size and (t.min() < 0 or t.max() >= tables.n_tables)):
        raise InputError(f"table indices must be integers in [0, {tables.n_tables})")
    sym, payload = values_to_symbols(v.ravel(), tables.radius)
    return [(sym, tables.freqs, t.ravel().astype(np.int32))], payload


def decode_values(decoder, table_idx, tables: TableSet, payload: bytes) -> np.ndarray:
    """Pop values coded by :func:`encode_values` from an ``ans.AnsDecoder``; int64, table_idx's shape."""
    t = np.asarray(table_idx)
    sym = np.asarray(decoder.pop(tables.freqs, t.ravel().astype(np.int32)))
    return symbols_to_values(sym, tables.radius, payload).reshape(t.shape)


# --------------------------------------------------------------------------- grouped payloads
GROUP_LEN_BYTES = 4                 # [core.C7g] uint32 big-endian byte length per group


@implements("core.C7g")
def frame_escape_groups(payloads) -> bytes:
    """Several [core.C7] escape payloads (one per coding group) -> one framed byte string.

    payloads: sequence of bytes, payloads[g] = the escape payload of group g (possibly empty).
    Returns  concat_g ( uint32_be(len(payloads[g])) || payloads[g] ).
    A group's payload can then be located (:func:`escape_group_payload`) and decoded on its
    own with :func:`exp_golomb_decode`, whose trailing-data check applies per group.
    """
    out = bytearray()
    for g, p in enumerate(payloads):
        p = bytes(p)
        if len(p) >= 1 << (8 * GROUP_LEN_BYTES):
            raise InputError(f"escape payload of group {g} has {len(p)} bytes (>= 2**32)")
        out += len(p).to_bytes(GROUP_LEN_BYTES, "big") + p
    return bytes(out)


@implements("core.C7g")
def split_escape_groups(section: bytes, n_groups: int) -> list[bytes]:
    """Inverse of :func:`frame_escape_groups`: exactly ``n_groups`` payloads, nothing after them.

    Raises BitstreamError if a length prefix or payload is truncated or bytes follow the last
    group.
    """
    data = bytes(section)
    out, pos = [], 0
    for g in range(int(n_groups)):
        if pos + GROUP_LEN_BYTES > len(data):
            raise BitstreamError(f"escape section truncated in the length of group {g}")
        n = int.from_bytes(data[pos:pos + GROUP_LEN_BYTES], "big")
        pos += GROUP_LEN_BYTES
        if pos + n > len(data):
            raise BitstreamError(f"escape section truncated in the payload of group {g}")
        out.append(data[pos:pos + n])
        pos += n
    if pos != len(data):
        raise BitstreamError(f"escape section has {len(data) - pos} bytes after group {int(n_groups) - 1}")
    return out


@implements("core.C7g")
def escape_group_payload(section: bytes, group: int) -> bytes:
    """The payload of one group of a framed section, reading only the length prefixes before it
    (the rest of the section is not checked; use :func:`split_escape_groups` for that)."""
    data = bytes(section)
    pos = 0
    for g in range(int(group) + 1):
        if pos + GROUP_LEN_BYTES > len(data):
            raise BitstreamError(f"escape section truncated in the length of group {g}")
        n = int.from_bytes(data[pos:pos + GROUP_LEN_BYTES], "big")
        pos += GROUP_LEN_BYTES
        if pos + n > len(data):
            raise BitstreamError(f"escape section truncated in the payload of group {g}")
        if g == group:
            return data[pos:pos + n]
        pos += n
    raise InputError(f"group {group} < 0")
