import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref.core.errors import BitstreamError, InputError
from ref.core.histogram import counts_from_bytes, counts_to_bytes, histogram

pytestmark = pytest.mark.eq("core.counts_bytes")


def test_hand_computed_bytes():
    c = np.array([[0, 3, 0, 200], [5, 0, 0, 0]])
    # row 0: lo=1, span=2, counts 3, 0, 200 (200 = 0xC8 -> 0xC8 0x01); row 1: lo=0, span=0, 5
    assert counts_to_bytes(c) == bytes([1, 2, 3, 0, 0xC8, 0x01, 0, 0, 5])
    assert np.array_equal(counts_from_bytes(counts_to_bytes(c), 2, 4), c)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 40), st.integers(0, 2**32))
def test_round_trip(rows, k, seed):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 3, size=(rows, k)) * rng.integers(0, 10**6, size=(rows, k))
    c[np.arange(rows), rng.integers(0, k, size=rows)] += 1
    assert np.array_equal(counts_from_bytes(counts_to_bytes(c), rows, k), c)


def test_malformed_streams_are_rejected():
    good = counts_to_bytes(np.array([[0, 3, 0, 200]]))
    for bad in (good[:-1], good + b"\x00", bytes([1, 5, 3]), bytes([1, 0, 0]), bytes([0x80] * 12)):
        with pytest.raises(BitstreamError):
            counts_from_bytes(bad, 1, 4)
    with pytest.raises(InputError):
        counts_to_bytes(np.zeros((1, 3), np.int64))


def test_histogram_counts_per_table():
    h = histogram(np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]), 2, 3)
    assert h.tolist() == [[1, 1, 0], [0, 1, 1]]
