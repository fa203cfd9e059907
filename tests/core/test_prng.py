"""PCG-XSH-RR 64/32 (spec/core-prng.md): reference transcript, vectorised == scalar,
jump-ahead, bounded draws, uniform floats, derived seeds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref.core.errors import InputError
from ref.core.prng import (
    MASK64,
    PCG_MULT,
    Pcg32,
    derive,
    derive_seed,
    encode_labels,
    lcg_jump,
    output_xsh_rr,
    splitmix64_mix,
)

u64 = st.integers(0, MASK64)

# imneme/pcg-c, test-high/expected/check-pcg32.out (pcg32_srandom_r(&rng, 42u, 54u)),
# rounds 1 and 2.  "Again" re-draws after pcg32_advance_r(&rng, -6).
TRANSCRIPT = [
    {
        "u32": "0xa15c02b7 0x7b47f409 0xba1d3330 0x83d2f293 0xbfa4784b 0xcbed606e",
        "coins": "HHTTTHTHHHTHTTTHHHHHTTTHHHTHTHTHTTHTTTHHHHHHTTTTHHTTTTTHTTTTTTTHT",
        "rolls": "3 4 1 1 2 2 3 2 4 3 2 4 3 3 5 2 3 1 3 1 5 1 4 1 5 6 4 6 6 2 6 3 3",
        "cards": "Qd Ks 6d 3s 3d 4c 3h Td Kc 5c Jh Kd Jd As 4s 4h Ad Th Ac Jc 7s Qs "
                 "2s 7h Kh 2d 6c Ah 4d Qh 9h 6s 5s 2c 9c Ts 8d 9s 3c 8c Js 5d 2h 6h "
                 "7d 8s 9d 5h 8h Qc 7c Tc",
    },
    {
        "u32": "0x74ab93ad 0x1c1da000 0x494ff896 0x34462f2f 0xd308a3e5 0x0fa83bab",
        "coins": "HHHHHHHHHHTHHHTHTHTHTHTTTTHHTTTHHTHHTHTTHHTTTHHHHHHTHTTHTHTTTTTTT",
        "rolls": "5 1 1 3 3 2 4 5 3 2 2 6 4 3 2 4 2 4 3 2 3 6 3 2 3 4 2 4 1 1 5 4 4",
        "cards": "7d 2s 7h Td 8s 3c 3d Js 2d Tc 4h Qs 5c 9c Th 2c Jc Qd 9d Qc 7s 3s "
                 "5s 6h 4d Jh 4c Ac 4s 5h 5d Kc 8h 8d Jd 9s Ad 6s 6c Kd 2h 3h Kh Ts "
                 "Qh 9h 6d As 7c Ks Ah 8c",
    },
]


@pytest.mark.eq("core.prng_seed", "core.prng_next", "core.prng_bounded", "core.prng_advance")
def test_reference_transcript_rounds_1_2():
    """Reproduce O'Neill's check-pcg32 output exactly (numbers, coins, dice, card shuffle)."""
    rng = Pcg32(42, 54)
    number, suit = "A23456789TJQK", "hcds"
    for rnd in TRANSCRIPT:
        got = " ".join(f"0x{rng.next_u32():08x}" for _ in range(6))
        assert got == rnd["u32"]
        rng.advance(-6)
        assert " ".join(f"0x{v:08x}" for v in rng.u32_array(6)) == rnd["u32"]
        assert "".join("H" if rng.bounded(2) else "T" for _ in range(65)) == rnd["coins"]
        assert " ".join(str(rng.bounded(6) + 1) for _ in range(33)) == rnd["rolls"]
        cards = list(range(52))
        for i in range(52, 1, -1):
            chosen = rng.bounded(i)
            cards[chosen], cards[i - 1] = cards[i - 1], cards[chosen]
        assert " ".join(number[c // 4] + suit[c % 4] for c in cards) == rnd["cards"]


@pytest.mark.eq("core.prng_seed")
def test_seeded_state_matches_independent_port():
    # Raytracer.jl's PCG test (an independent port): state and inc after seeding 42/54.
    rng = Pcg32(42, 54)
    assert rng.state == 1753877967969059832 and rng.inc == 109
    assert [rng.next_u32() for _ in range(6)] == [
        2707161783, 2068313097, 3122475824, 2211639955, 3215226955, 3421331566]


@pytest.mark.eq("core.prng_seed")
def test_stream_top_bit_discarded_and_range_checks():
    a, b = Pcg32(5, 3), Pcg32(5, 3 + 2**63)
    assert a == b
    for bad in (-1, 2**64, 1.5, True, "1"):
        with pytest.raises(InputError):
            Pcg32(bad, 0)
        with pytest.raises(InputError):
            Pcg32(0, bad)


@pytest.mark.eq("core.prng_next")
def test_output_permutation_edge_rotations():
    # rot = 0: plain xorshift; the state's top 5 bits select the rotation.
    s = 0x0000_0000_8000_0000
    x = (((s >> 18) ^ s) >> 27) & 0xFFFFFFFF
    assert output_xsh_rr(s) == x
    for rot in range(32):
        s = (rot << 59) | 0x0123_4567_89AB_CDEF & ((1 << 59) - 1)
        x = (((s >> 18) ^ s) >> 27) & 0xFFFFFFFF
        want = ((x >> rot) | (x << (32 - rot))) & 0xFFFFFFFF if rot else x
        assert output_xsh_rr(s) == want


@pytest.mark.eq("core.prng_next", "core.prng_advance")
@settings(max_examples=60, deadline=None)
@given(seed=u64, stream=u64, skip=st.integers(0, 50), count=st.integers(0, 300))
def test_u32_array_equals_repeated_next(seed, stream, skip, count):
    a, b = Pcg32(seed, stream), Pcg32(seed, stream)
    a.advance(skip)
    for _ in range(skip):
        b.next_u32()
    arr = a.u32_array(count)
    assert arr.dtype == np.uint32 and arr.shape == (count,)
    assert arr.tolist() == [b.next_u32() for _ in range(count)]
    assert a == b


@pytest.mark.eq("core.prng_bounded")
@settings(max_examples=60, deadline=None)
@given(seed=u64, stream=u64,
       n=st.one_of(st.sampled_from([1, 2, 3, 6, 52, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1]),
                   st.integers(1, 2**32 - 1)),
       count=st.integers(0, 200))
def test_bounded_array_equals_repeated_bounded(seed, stream, n, count):
    a, b = Pcg32(seed, stream), Pcg32(seed, stream)
    arr = a.bounded_array(n, count)
    assert arr.dtype == np.uint32 and arr.shape == (count,)
    assert arr.tolist() == [b.bounded(n) for _ in range(count)]
    assert a == b
    assert np.all(arr < n)


@pytest.mark.eq("core.prng_bounded")
def test_bounded_rejection_rule():
    # n = 2**31 + 1: threshold = 2**31 - 1; outputs below it are skipped.
    n = 2**31 + 1
    thr = (2**32 - n) % n
    probe = Pcg32(9, 9)
    raw = probe.u32_array(64).tolist()
    want = [r % n for r in raw if r >= thr]
    rng = Pcg32(9, 9)
    got = [rng.bounded(n) for _ in range(len(want))]
    assert got == want
    last = max(i for i, r in enumerate(raw) if r >= thr)
    ref = Pcg32(9, 9)
    ref.advance(last + 1)
    assert rng == ref  # rejected draws are consumed too
    with pytest.raises(InputError):
        Pcg32(1, 1).bounded(0)
    with pytest.raises(InputError):
        Pcg32(1, 1).bounded(2**32)
    one = Pcg32(1, 1)
    assert one.bounded(1) == 0 and one != Pcg32(1, 1)  # n = 1 still consumes a draw


@pytest.mark.eq("core.prng_bounded")
def test_bounded_is_roughly_uniform():
    vals = Pcg32(3, 4).bounded_array(6, 60000)
    counts = np.bincount(vals, minlength=6)
    chi2 = float(((counts - 10000) ** 2 / 10000).sum())
    assert chi2 < 30  # df = 5; p ~ 1e-5


@pytest.mark.eq("core.prng_advance")
@settings(max_examples=50, deadline=None)
@given(seed=u64, stream=u64, k=st.integers(0, 2**64 - 1), j=st.integers(0, 2**64 - 1))
def test_advance_group_laws(seed, stream, k, j):
    a = Pcg32(seed, stream)
    a.advance(k)
    a.advance(-k)
    assert a == Pcg32(seed, stream)
    b, c = Pcg32(seed, stream), Pcg32(seed, stream)
    b.advance(k)
    b.advance(j)
    c.advance((k + j) % 2**64)
    assert b == c


@pytest.mark.eq("core.prng_advance")
def test_lcg_jump_matches_naive_steps():
    inc = 109
    for delta in (0, 1, 2, 3, 7, 64, 1000):
        s = 0x853C49E6748FEA9B
        t = s
        for _ in range(delta):
            t = (t * PCG_MULT + inc) & MASK64
        a, c = lcg_jump(delta, PCG_MULT, inc)
        assert (a * s + c) & MASK64 == t
    a, c = lcg_jump(2**64, PCG_MULT, inc)  # full period: identity
    assert (a, c) == (1, 0)


@pytest.mark.eq("core.prng_uniform01")
def test_uniform01_exact_definition():
    a, b = Pcg32(77, 1), Pcg32(77, 1)
    f = a.uniform01_array(1000)
    u = b.u32_array(1000)
    assert f.dtype == np.float64
    assert np.array_equal(f, (u >> 8).astype(np.float64) / 2**24)
    assert np.all((f >= 0) & (f <= 1 - 2**-24))
    assert np.array_equal(f * 2**24, np.floor(f * 2**24))  # multiples of 2**-24
    c = Pcg32(77, 1)
    assert [c.uniform01() for _ in range(5)] == f[:5].tolist()


@pytest.mark.eq("core.prng_derive")
def test_derive_seed_is_splitmix64_without_labels():
    # splitmix64 with state 0: first outputs 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4,
    # 0x06c45d188009454f (Vigna's splitmix64.c); output k = mix64(state + k*gamma).
    gamma = 0x9E3779B97F4A7C15
    assert derive_seed(0) == 0xE220A8397B1DCDAF
    assert derive_seed(gamma) == 0x6E789E6AA1B965F4
    assert derive_seed((2 * gamma) % 2**64) == 0x06C45D188009454F
    assert splitmix64_mix(gamma) == 0xE220A8397B1DCDAF


@pytest.mark.eq("core.prng_derive")
def test_derive_seed_labels_unambiguous():
    cases = [(), (0,), (1,), ("",), ("a", "b"), ("ab",), ("a", 0), ("a", "\x00"), (0, 0), ((1 << 64) - 1,)]
    seeds = {derive_seed(7, *c) for c in cases}
    assert len(seeds) == len(cases)
    assert encode_labels(("ab",)) == b"\x01\x02\x00\x00\x00ab"
    assert encode_labels((5,)) == b"\x00" + (5).to_bytes(8, "little")
    assert derive(7, "x", stream=3) == Pcg32(derive_seed(7, "x"), 3)
    for bad in ((-1,), (1.0,), (b"x",), (True,)):
        with pytest.raises(InputError):
            derive_seed(1, *bad)


@pytest.mark.eq("core.prng_next")
def test_count_limits():
    with pytest.raises(InputError):
        Pcg32(1, 1).u32_array(-1)
    with pytest.raises(InputError):
        Pcg32(1, 1).u32_array(2**40)
    assert Pcg32(1, 1).u32_array(0).shape == (0,)


@pytest.mark.eq("core.prng_next", "core.prng_bounded")
def test_array_methods_across_chunk_boundaries():
    from ref.core.prng import CHUNK

    n = 2 * CHUNK + 5
    a, b = Pcg32(11, 12), Pcg32(11, 12)
    assert a.u32_array(n).tolist() == [b.next_u32() for _ in range(n)]
    assert a == b
    assert a.bounded_array(2**31 + 1, 3000).tolist() == [b.bounded(2**31 + 1) for _ in range(3000)]
    assert a == b
