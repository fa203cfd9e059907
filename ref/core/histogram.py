"""Fitted histograms: per-table symbol counts, their serialisation, and their tables.

A codec that fits its probability tables to the data it codes (the core demo, the
WaLLoC-style ANS multiplier) transmits the counts in the bitstream; the decoder rebuilds
the identical integer table with :func:`ref.core.tables.freqs_from_counts` [core.C3].
"""

from __future__ import annotations

import numpy as np

from ref.core.container import _Reader, encode_varint
from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements

MAX_COUNT = (1 << 38) - 1


def histogram(symbols: np.ndarray, table_idx: np.ndarray, n_tables: int, k: int) -> np.ndarray:
    """Counts (n_tables, k) int64 of ``symbols`` (in [0, k)) per table index."""
    s = np.asarray(symbols, np.int64).reshape(-1)
    t = np.asarray(table_idx, np.int64).reshape(-1)
    if s.shape != t.shape or (s.size and (s.min() < 0 or s.max() >= k or t.min() < 0 or t.max() >= n_tables)):
        raise InputError("symbols/table indices out of range or of different lengths")
    return np.bincount(t * k + s, minlength=n_tables * k).reshape(n_tables, k).astype(np.int64)


@implements("core.counts_bytes")
def counts_to_bytes(counts: np.ndarray) -> bytes:
    """Serialise counts (R, K), every row non-empty, as varints [core.counts_bytes].

    Per row: lo, (hi - lo), counts[lo], ..., counts[hi], where lo/hi are the first/last
    non-zero symbols; all unsigned LEB128 varints (bits.varint).
    """
    c = np.asarray(counts)
    if c.ndim != 2 or c.dtype.kind not in "iu" or np.any(c < 0) or np.any(c > MAX_COUNT):
        raise InputError("counts must be a 2-D array of integers in [0, 2**38)")
    out = bytearray()
    for row in c:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            raise InputError("every histogram row needs at least one count")
        lo, hi = int(nz[0]), int(nz[-1])
        out += encode_varint(lo) + encode_varint(hi - lo)
        for v in row[lo:hi + 1]:
            out += encode_varint(int(v))
    return bytes(out)


@implements("core.counts_bytes")
def counts_from_bytes(data: bytes, rows: int, k: int) -> np.ndarray:
    """Inverse of :func:`counts_to_bytes` -> int64 (rows, k); BitstreamError if malformed
    (truncated, trailing bytes, range outside [0, k), zero count at lo or hi, too large)."""
    r = _Reader(bytes(data), 0, len(data))
    out = np.zeros((rows, k), np.int64)
    for i in range(rows):
        lo = r.varint(f"histogram row {i} start")
        span = r.varint(f"histogram row {i} span")
        if lo + span >= k:
            raise BitstreamError(f"bitstream: histogram row {i} covers symbols {lo}..{lo + span}, alphabet is {k}")
        for j in range(lo, lo + span + 1):
            v = r.varint(f"histogram count {i},{j}")
            if v > MAX_COUNT:
                raise BitstreamError(f"bitstream: histogram count {i},{j} too large")
            out[i, j] = v
        if out[i, lo] == 0 or out[i, lo + span] == 0:
            raise BitstreamError(f"bitstream: histogram row {i} is not canonical (zero at an end)")
    if r.pos != len(data):
        raise BitstreamError(f"bitstream: {len(data) - r.pos} trailing bytes after the histogram")
    return out
