"""[core.C7g]: escape payloads of several groups framed in one section."""

import numpy as np
import pytest

from ref.core.errors import BitstreamError
from ref.core.escape import (escape_group_payload, exp_golomb_decode, frame_escape_groups,
                             split_escape_groups, values_to_symbols)


@pytest.mark.eq("core.C7g")
def test_frame_bytes_by_hand():
    # group 0: no escape; group 1: r = 5 at R = 3 -> v = 2 = "10": bits 0 10 0 (prefix, v, sign) -> 0x40
    p1 = values_to_symbols(np.array([5]), 3)[1]
    assert p1 == bytes([0b01000000])
    sec = frame_escape_groups([b"", p1, b"\x01\x02"])
    assert sec == bytes([0, 0, 0, 0, 0, 0, 0, 1, 0x40, 0, 0, 0, 2, 1, 2])
    assert split_escape_groups(sec, 3) == [b"", p1, b"\x01\x02"]
    assert escape_group_payload(sec, 1) == p1
    assert exp_golomb_decode(escape_group_payload(sec, 1), 1, 3).tolist() == [5]


@pytest.mark.eq("core.C7g")
def test_groups_round_trip_and_decode_one_by_one():
    rng = np.random.default_rng(0)
    R = 4
    groups = [rng.integers(-40, 40, int(n)) for n in (0, 7, 50, 3)]
    pays, counts = [], []
    for g in groups:
        sym, p = values_to_symbols(g, R)
        pays.append(p)
        counts.append(int((sym == 2 * R + 1).sum()))
    sec = frame_escape_groups(pays)
    for gi in reversed(range(len(groups))):          # any order, each group alone
        esc = exp_golomb_decode(escape_group_payload(sec, gi), counts[gi], R)
        assert esc.tolist() == [int(v) for v in groups[gi] if abs(v) > R]


@pytest.mark.eq("core.C7g")
def test_damaged_sections_raise_bitstream_error():
    sec = frame_escape_groups([b"\x80", b"\x40\x00"])
    with pytest.raises(BitstreamError):
        split_escape_groups(sec + b"\x00", 2)            # trailing bytes
    with pytest.raises(BitstreamError):
        split_escape_groups(sec[:-1], 2)                  # truncated payload
    with pytest.raises(BitstreamError):
        split_escape_groups(sec[:6], 2)                   # truncated length
    with pytest.raises(BitstreamError):
        split_escape_groups(sec, 3)                       # a group missing
    with pytest.raises(BitstreamError):
        escape_group_payload(sec[:3], 0)
