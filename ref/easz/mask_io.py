"""Mask serialisation (easz.C9): a g x g keep template <-> ceil(g*g/8) bytes.

    bits  = keep.reshape(-1)          row-major: bit k is keep[k // g, k % g]
    byte m = sum_{q=0..7} bits[8m + q] << (7 - q)    (MSB first; missing bits are 0)

A 32 x 32 mask is 128 bytes (the paper's figure); an 8 x 8 mask is 8 bytes.
Pinned by the golden vector ``easz.mask_io.*``.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements


def mask_nbytes(g: int) -> int:
    """Serialised size of a g x g mask: ceil(g*g / 8)."""
    return (g * g + 7) // 8


@implements("easz.C9")
def serialize_mask(keep: np.ndarray) -> bytes:
    """keep (g, g) of 0/1 -> bytes (row-major, MSB-first, zero-padded last byte)."""
    keep = np.asarray(keep)
    if keep.ndim != 2 or keep.shape[0] != keep.shape[1] or keep.shape[0] < 1:
        raise InputError(f"mask must be a square (g, g) array, got shape {keep.shape}")
    if not np.isin(keep, (0, 1)).all():
        raise InputError("mask entries must be 0 or 1")
    return np.packbits(keep.astype(np.uint8).reshape(-1), bitorder="big").tobytes()


@implements("easz.C9")
def deserialize_mask(data: bytes, g: int, T: int | None = None) -> np.ndarray:
    """bytes -> keep (g, g) uint8.  BitstreamError if the length is not ceil(g*g/8), a
    padding bit is set, or (when T is given) a row does not keep exactly g - T."""
    if len(data) != mask_nbytes(g):
        raise BitstreamError(f"bitstream: easz mask has {len(data)} bytes, expected {mask_nbytes(g)} for a {g}x{g} mask")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="big")
    if bits[g * g:].any():
        raise BitstreamError("bitstream: easz mask has non-zero padding bits")
    keep = bits[: g * g].reshape(g, g).astype(np.uint8)
    if T is not None:
        per_row = keep.sum(axis=1)
        if not np.all(per_row == g - T):
            bad = int(np.flatnonzero(per_row != g - T)[0])
            raise BitstreamError(f"bitstream: easz mask row {bad} keeps {int(per_row[bad])} sub-patches, "
                                 f"header says {g - T} (T={T})")
    return keep
