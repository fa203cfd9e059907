"""CRC-32 (IEEE 802.3 / ISO-HDLC; the zlib, PNG and gzip CRC), readable definition.

Parameters (Rocksoft model): width 32, poly 0x04C11DB7, init 0xFFFFFFFF, refin true,
refout true, xorout 0xFFFFFFFF; check value crc32(b"123456789") = 0xCBF43926.
Reflected form used below: polynomial 0xEDB88320, LSB-first.

:func:`crc32` is the fast path (``zlib.crc32``, identical by definition);
:func:`crc32_bitwise` is the porting reference and is tested equal to it.
"""

from __future__ import annotations

import zlib

from ref.core.registry import implements

CRC32_POLY_REFLECTED = 0xEDB88320
CRC32_CHECK = 0xCBF43926  # crc32(b"123456789")


@implements("bits.crc")
def crc32_bitwise(data: bytes, crc: int = 0) -> int:
    """Bit-at-a-time CRC-32 (reflected).  ``crc`` continues a previous result.

    c = crc ^ 0xFFFFFFFF
    for each byte b:  c ^= b;  repeat 8 times:  c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
    return c ^ 0xFFFFFFFF
    """
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (CRC32_POLY_REFLECTED if c & 1 else 0)
    return c ^ 0xFFFFFFFF


@implements("bits.crc")
def crc32(data: bytes) -> int:
    """CRC-32 of ``data`` as an unsigned 32-bit int (== zlib.crc32 == crc32_bitwise)."""
    return zlib.crc32(data) & 0xFFFFFFFF
