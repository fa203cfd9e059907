"""Tests of the entropy coder (spec/core-ans.md): mirror == constriction, bit for bit.

Tests marked ``needs_constriction`` are skipped where constriction has no wheel
(Linux aarch64); everything else runs on the pure-NumPy mirror alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ref.core import ans, ans_mirror
from ref.core.ans_mirror import TOTAL, cumulative
from ref.conformance.core_vectors.ans_vectors import extreme_tables, random_tables, sample_symbols
from ref.core.errors import BitstreamError, InputError

try:
    import constriction
except ImportError:  # Linux aarch64: no wheel
    constriction = None

needs_constriction = pytest.mark.skipif(constriction is None, reason="constriction not installed")
BACKENDS = ["mirror"] + (["constriction"] if constriction is not None else [])
FAST = settings(derandomize=True, deadline=None, max_examples=60,
                suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- helpers
def make_tables(rng: np.random.Generator, n_tables: int, k: int, kind: str) -> np.ndarray:
    """Tables (n_tables, k) of a given kind: gamma-random, extreme, or a mix."""
    if kind == "extreme":
        return extreme_tables(k)[rng.integers(0, 4, size=n_tables)]
    if kind == "cuts":  # uniform random composition of 2**24 into k parts >= 1
        cuts = np.sort(rng.integers(0, TOTAL - k + 1, size=(n_tables, k - 1)), axis=1)
        edges = np.concatenate([np.zeros((n_tables, 1), np.int64), cuts, np.full((n_tables, 1), TOTAL - k)], axis=1)
        return (np.diff(edges, axis=1) + 1).astype(np.uint32)
    if kind == "ones":  # as many 1s as possible, one symbol carries the rest
        f = np.ones((n_tables, k), dtype=np.int64)
        f[np.arange(n_tables), rng.integers(0, k, size=n_tables)] += TOTAL - k
        return f.astype(np.uint32)
    return random_tables(rng, n_tables, k, shape=float(rng.choice([0.05, 0.3, 1.0, 5.0])))


def make_group(rng: np.random.Generator, n_tables: int, k: int, n: int, kind: str = "random",
               uniform_symbols: float = 0.3, sorted_tables: bool = False):
    """(symbols int32 (n,), freqs uint32 (n_tables, k), table_idx int32 (n,))."""
    f = make_tables(rng, n_tables, k, kind)
    t = rng.integers(0, n_tables, size=n).astype(np.int32)
    if sorted_tables:
        t.sort()
    s = sample_symbols(rng, f, t)
    mask = rng.random(n) < uniform_symbols          # rare symbols too, not only likely ones
    s[mask] = rng.integers(0, k, size=int(mask.sum()))
    return s, f, t


def decode_all(data: bytes, groups, backend: str):
    dec = ans.AnsDecoder(data, backend=backend)
    out = [dec.pop(f, t) for _, f, t in groups]
    dec.finish()
    return out


@st.composite
def groups_strategy(draw, max_groups: int = 3, max_n: int = 300):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(draw(st.integers(1, max_groups))):
        k = draw(st.sampled_from([2, 3, 5, 16, 256, 4096]))
        n_tables = draw(st.integers(1, 6))
        n = draw(st.integers(0, max_n))
        kind = draw(st.sampled_from(["random", "extreme", "ones", "cuts"]))
        groups.append(make_group(rng, n_tables, k, n, kind, sorted_tables=draw(st.booleans())))
    return groups


# ----------------------------------------------------------------------------- [core.ans_tables]
@pytest.mark.eq("core.ans_tables")
@pytest.mark.parametrize("bad, msg", [
    (np.full((1, 4), TOTAL // 4 + 1, np.uint32), "sums to"),
    (np.array([[0, TOTAL]], np.uint32), "in \\[1, 2\\*\\*24\\]"),
    (np.array([[TOTAL]], np.uint32), "alphabet size"),
    (np.full((1, 1 << 17), TOTAL >> 17, np.uint32), "alphabet size"),
    (np.full(4, TOTAL // 4, np.uint32), "2-D"),
    (np.full((1, 4), TOTAL / 4), "integer"),
    (np.zeros((0, 4), np.uint32), "at least one"),
    (np.array([[-1, TOTAL + 1]], np.int64), "in \\[1, 2\\*\\*24\\]"),
    (np.array([[2**63 + 2**23, 2**63 + 2**23]], np.uint64), "in \\[1, 2\\*\\*24\\]"),  # sums to 2**24 mod 2**64
])
def test_check_freqs_rejects(bad, msg):
    with pytest.raises(InputError, match=msg):
        ans_mirror.check_freqs(bad)


@pytest.mark.eq("core.ans_tables")
def test_check_group_rejects_bad_symbols_and_indices():
    f = np.full((2, 4), TOTAL // 4, np.uint32)
    ok_t = np.array([0, 1, 1])
    for sym, tab, msg in [
        (np.array([0, 4, 1]), ok_t, "symbol out of range"),
        (np.array([0, -1, 1]), ok_t, "symbol out of range"),
        (np.array([0, 1, 1]), np.array([0, 2, 1]), "table_idx out of range"),
        (np.array([0, 1]), ok_t, "differ in length"),
        (np.array([0.0, 1.0, 1.0]), ok_t, "integer"),
        (np.array([[0, 1, 1]]), ok_t, "1-D"),
    ]:
        for backend in BACKENDS:
            with pytest.raises(InputError, match=msg):
                ans.encode(sym, f, tab, backend=backend)
    with pytest.raises(InputError, match="table_idx"):
        ans.AnsDecoder(b"", backend="mirror").pop(f, np.array([3]))
    with pytest.raises(InputError, match="group 0"):
        ans.encode_groups([(np.array([0]), f)])


@pytest.mark.eq("core.ans_tables")
@pytest.mark.parametrize("backend", BACKENDS)
def test_any_integer_dtypes_give_the_same_stream(backend):
    rng = np.random.default_rng(12)
    s, f, t = make_group(rng, 20, 200, 300)
    want = ans.encode(s, f, t, backend=backend)
    for sd, td, fd in [(np.int64, np.uint64, np.int64), (np.uint16, np.uint8, np.uint32), (np.int32, np.int16, np.uint64)]:
        got = ans.encode(s.astype(sd), f.astype(fd), t.astype(td), backend=backend)
        assert got == want
        np.testing.assert_array_equal(ans.decode(got, f.astype(fd), t.astype(td), backend=backend), s)
    assert ans.encode(s.tolist(), f.tolist(), t.tolist(), backend=backend) == want


@pytest.mark.eq("core.ans_tables")
def test_cumulative_is_integer_prefix_sum():
    f = np.array([[1, TOTAL - 3, 2], [TOTAL - 2, 1, 1]], np.uint32)
    np.testing.assert_array_equal(cumulative(f), [[0, 1, TOTAL - 2, TOTAL], [0, TOTAL - 2, TOTAL - 1, TOTAL]])


# ----------------------------------------------------------------------------- [core.ans]
SPEC_F = np.array([[1 << 22, 3 << 21, 1 << 22, 1 << 21]], np.uint32)   # the spec's worked example


@pytest.mark.eq("core.ans", "core.ans_bytes")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("symbols, hexstream", [
    ([2], "0000a000"),
    ([2, 1], "0000a001"),
    ([0, 0, 0, 0, 0], ""),
    ([], ""),
])
def test_spec_worked_example(backend, symbols, hexstream):
    s = np.array(symbols, np.int32)
    t = np.zeros(s.size, np.int32)
    data = ans.encode(s, SPEC_F, t, backend=backend)
    assert data.hex() == hexstream
    np.testing.assert_array_equal(ans.decode(data, SPEC_F, t, backend=backend), s)


@pytest.mark.eq("core.ans")
@FAST
@given(x=st.integers(0, 2**64 - 1), seed=st.integers(0, 2**32 - 1), k=st.sampled_from([2, 7, 256, 65536]))
def test_pop_inverts_push_on_any_state(x, seed, k):
    """pop(push(x)) == (s, x) for every 64-bit state (empty word stack), incl. renormalisation."""
    rng = np.random.default_rng(seed)
    cum = cumulative(make_tables(rng, 1, k, str(rng.choice(["random", "ones"]))))[0].tolist()
    s = int(rng.integers(0, k))
    words: list[int] = []
    y = ans_mirror.push(x, cum[s], cum[s + 1] - cum[s], words)
    assert 0 <= y < 2**64 and len(words) <= 1 and all(0 <= w < 2**32 for w in words)
    assert ans_mirror.pop(y, cum, words) == (s, x)
    assert words == []


@pytest.mark.eq("core.ans", "core.ans_order")
@FAST
@given(groups=groups_strategy())
def test_mirror_roundtrip(groups):
    data = ans.encode_groups(groups, backend="mirror")
    for got, (s, _, _) in zip(decode_all(data, groups, "mirror"), groups):
        np.testing.assert_array_equal(got, s)
        assert got.dtype == np.int32


@pytest.mark.eq("core.ans")
@pytest.mark.parametrize("backend", BACKENDS)
def test_compressed_size_near_information_content(backend):
    rng = np.random.default_rng(0)
    s, f, t = make_group(rng, 4, 64, 20000, uniform_symbols=0.0)
    bits = -np.log2(f[t, s].astype(np.float64) / TOTAL).sum()
    data = ans.encode(s, f, t, backend=backend)
    assert bits / 8 <= len(data) <= bits / 8 + 8 + 1e-4 * bits


# ----------------------------------------------------------------------------- [core.ans_order]
@pytest.mark.eq("core.ans_order")
def test_coding_order_is_stable_sort_by_table():
    t = np.array([2, 0, 1, 0, 2, 2, 1, 0, 0, 1])
    np.testing.assert_array_equal(ans.coding_order(t), [1, 3, 7, 8, 2, 6, 9, 0, 4, 5])
    big = np.random.default_rng(1).integers(0, 70000, size=5000)      # > 16-bit keys too
    np.testing.assert_array_equal(ans.coding_order(big), np.argsort(big, kind="stable"))
    assert ans.coding_order(np.zeros(0, np.int64)).size == 0


@pytest.mark.eq("core.ans_order")
@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_depends_only_on_sorted_order(backend):
    """Permuting a group's (symbol, table) pairs within a table changes the stream;
    sorting the group by table first does not."""
    rng = np.random.default_rng(2)
    s, f, t = make_group(rng, 5, 32, 400)
    pi = ans.coding_order(t)
    assert ans.encode(s, f, t, backend=backend) == ans.encode(s[pi], f, t[pi], backend=backend)
    # pushing in that order by hand with the mirror's primitives gives the same words
    cum = cumulative(f)
    words: list[int] = []
    x = 0
    for i in pi[::-1]:
        c = int(cum[t[i], s[i]])
        x = ans_mirror.push(x, c, int(cum[t[i], s[i] + 1]) - c, words)
    words += [x & 0xFFFFFFFF, x >> 32] if x >> 32 else ([x] if x else [])
    assert ans.encode(s, f, t, backend=backend) == ans_mirror.words_to_bytes(words)


@pytest.mark.eq("core.ans_order")
@pytest.mark.parametrize("backend", BACKENDS)
def test_groups_decode_in_list_order_with_own_tables(backend):
    rng = np.random.default_rng(3)
    groups = [make_group(rng, 3, 8, 50), make_group(rng, 1, 300, 70), make_group(rng, 9, 2, 0),
              make_group(rng, 2, 4096, 33)]
    data = ans.encode_groups(groups, backend=backend)
    for got, (s, _, _) in zip(decode_all(data, groups, backend), groups):
        np.testing.assert_array_equal(got, s)
    # decoding with the groups swapped is detected
    dec = ans.AnsDecoder(data, backend=backend)
    dec.pop(groups[1][1], groups[1][2])
    with pytest.raises(BitstreamError):
        for _, f, t in groups[:1] + groups[2:]:
            dec.pop(f, t)
        dec.finish()


# ----------------------------------------------------------------------------- [core.ans_bytes]
@pytest.mark.eq("core.ans_bytes")
@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_framing_errors(backend):
    f = SPEC_F
    with pytest.raises(BitstreamError, match="whole number"):
        ans.AnsDecoder(b"\x01\x02\x03", backend=backend)
    with pytest.raises(BitstreamError, match="last word is zero"):
        ans.AnsDecoder(b"\x05\x00\x00\x00\x00\x00\x00\x00", backend=backend)
    with pytest.raises(InputError):
        ans.AnsDecoder("0000a000", backend=backend)
    dec = ans.AnsDecoder(b"", backend=backend)       # the empty stream decodes to zeros
    np.testing.assert_array_equal(dec.pop(f, np.zeros(3, np.int32)), [0, 0, 0])
    dec.finish()
    data = ans.encode(np.array([2, 1, 3, 3], np.int32), f, np.zeros(4, np.int32), backend=backend)
    dec = ans.AnsDecoder(data + b"\x07\x00\x00\x00", backend=backend)   # extra word
    dec.pop(f, np.zeros(4, np.int32))
    assert dec.remaining_words() > 0
    with pytest.raises(BitstreamError, match="not exactly consumed"):
        dec.finish()
    dec = ans.AnsDecoder(data, backend=backend)       # too few symbols popped
    dec.pop(f, np.zeros(2, np.int32))
    with pytest.raises(BitstreamError):
        dec.finish()


@pytest.mark.eq("core.ans_bytes")
def test_words_are_little_endian():
    assert ans_mirror.words_to_bytes(np.array([0x04030201, 0xA0B0C0D0], np.uint32)) == bytes.fromhex("01020304d0c0b0a0")
    np.testing.assert_array_equal(ans_mirror.bytes_to_words(bytes.fromhex("01020304d0c0b0a0")), [0x04030201, 0xA0B0C0D0])


@pytest.mark.eq("core.ans_bytes")
def test_final_flush_drops_high_zero_chunks():
    f = np.array([[1, TOTAL - 1]], np.uint32)      # symbol 1: c = 1, f = 2**24 - 1
    # one symbol 1 from x = 0: x = 1 -> one word; many -> state grows beyond 32 bits -> two words
    assert ans.encode(np.array([1], np.int32), f, np.zeros(1, np.int32), backend="mirror").hex() == "01000000"
    rng = np.random.default_rng(4)
    s, f2, t = make_group(rng, 1, 16, 200)
    words = ans_mirror.encode_words([(s, f2, t)])
    assert words[-1] != 0 and words.size >= 2


def _decode_outcome(data: bytes, groups, backend: str):
    """('rejected',) | (symbols..., consumed: bool) -- never any other exception."""
    try:
        dec = ans.AnsDecoder(data, backend=backend)
    except BitstreamError:
        return ("rejected",)
    out = [dec.pop(f, t) for _, f, t in groups]
    for o, (_, f, _) in zip(out, groups):
        assert o.dtype == np.int32 and (o.size == 0 or (o.min() >= 0 and o.max() < f.shape[1]))
    try:
        dec.finish()
        consumed = True
    except BitstreamError:
        consumed = False
    return tuple(o.tolist() for o in out) + (consumed,)


def _check_garbage(data: bytes, groups) -> None:
    outcomes = [_decode_outcome(data, groups, b) for b in BACKENDS]
    assert all(o == outcomes[0] for o in outcomes), "backends disagree on corrupt data"
    o = outcomes[0]
    if o[0] != "rejected" and o[-1]:
        # accepted as exactly consumed => it IS the canonical encoding of what was decoded
        regroup = [(np.array(sy, np.int32), f, t) for sy, (_, f, t) in zip(o[:-1], groups)]
        assert ans.encode_groups(regroup, backend="mirror") == data


@pytest.mark.eq("core.ans_bytes", "core.ans")
@FAST
@given(data=st.binary(max_size=64), groups=groups_strategy(max_groups=2, max_n=40))
def test_arbitrary_bytes_never_crash(data, groups):
    _check_garbage(data, groups)


@pytest.mark.eq("core.ans_bytes", "core.ans")
@FAST
@given(groups=groups_strategy(max_groups=2, max_n=120), cut=st.integers(0, 10**6),
       flip=st.integers(0, 10**6), mode=st.sampled_from(["truncate", "flip", "drop_word", "append"]))
def test_corrupted_streams_are_detected_or_canonical(groups, cut, flip, mode):
    data = ans.encode_groups(groups, backend="mirror")
    if mode == "truncate":
        bad = data[: cut % (len(data) + 1)]
    elif mode == "flip" and data:
        i = flip % (8 * len(data))
        bad = bytearray(data)
        bad[i // 8] ^= 1 << (i % 8)
        bad = bytes(bad)
    elif mode == "drop_word" and data:
        w = 4 * (cut % (len(data) // 4))
        bad = data[:w] + data[w + 4:]
    else:
        bad = data + (flip % 2**32 or 1).to_bytes(4, "little")
    if bad == data:
        return
    _check_garbage(bad, groups)


# ----------------------------------------------------------------------------- [core.ans_adapter]
@pytest.mark.eq("core.ans_adapter", "core.ans_tables")
def test_fast_quantisation_formula_reproduces_integer_tables():
    rng = np.random.default_rng(5)
    for k in (2, 3, 5, 256, 4096, 65536):
        for kind in ("random", "extreme", "ones", "cuts"):
            f = make_tables(rng, 8 if k < 65536 else 2, k, kind)
            p = ans.constriction_probabilities(f)
            assert p.dtype == np.float64
            np.testing.assert_array_equal(ans.categorical_fast_left_boundaries(p), cumulative(f))


@pytest.mark.eq("core.ans_adapter", "core.ans_tables")
@FAST
@given(parts=st.lists(st.integers(1, TOTAL), min_size=2, max_size=64))
def test_fast_quantisation_formula_on_any_composition(parts):
    """Any integer table (hypothesis shrinks towards small cases): formula(f - 1) == cumsum(f)."""
    k = len(parts)
    w = np.array(parts, dtype=np.float64)
    f = np.floor(w / w.sum() * (TOTAL - k)).astype(np.int64) + 1
    f[int(np.argmax(f))] += TOTAL - f.sum()
    f = f.astype(np.uint32)[None]
    np.testing.assert_array_equal(ans.categorical_fast_left_boundaries(ans.constriction_probabilities(f)),
                                  cumulative(f))
    if constriction is not None:
        rng = np.random.default_rng(k)
        t = np.zeros(3 * k, np.int32)
        sym = np.concatenate([np.arange(k), rng.integers(0, k, 2 * k)]).astype(np.int32)
        data = ans.encode(sym, f, t, backend="constriction")
        assert data == ans.encode(sym, f, t, backend="mirror")


@needs_constriction
@pytest.mark.eq("core.ans_adapter")
def test_constriction_boundaries_read_back_through_its_state():
    """Pushing s onto the empty coder leaves x = C'[s] (read with AnsCoder.pos()); popping from
    x = 2**24 + q leaves x = f'[s] + q - C'[s].  Compare with the integer table (p = f - 1) and
    with our statement of the formula (random float p)."""
    rng = np.random.default_rng(6)
    cs = constriction.stream
    for trial in range(60):
        k = int(rng.choice([2, 3, 17, 256, 4096]))
        if trial % 2:
            f = make_tables(rng, 1, k, str(rng.choice(["random", "extreme", "ones", "cuts"])))[0]
            p, want = ans.constriction_probabilities(f), cumulative(f[None])[0]
        else:
            p = rng.gamma(0.5, size=k) * 10.0 ** rng.integers(-3, 4)
            want = ans.categorical_fast_left_boundaries(p)
        model = cs.model.Categorical(p, perfect=False)
        for s in {0, 1, k - 2, k - 1, *rng.integers(0, k, size=6).tolist()}:
            coder = cs.stack.AnsCoder()
            coder.encode_reverse(np.array([s], np.int32), model)
            assert coder.pos()[1] == want[s]
            for q in (want[s], want[s + 1] - 1):
                x = (1 << 24) | int(q)
                coder = cs.stack.AnsCoder(np.array([x], np.uint32))
                assert coder.decode(model, 1)[0] == s
                assert coder.pos()[1] == (want[s + 1] - want[s]) + q - want[s]


@needs_constriction
@pytest.mark.eq("core.ans_adapter", "core.ans", "core.ans_bytes")
@pytest.mark.parametrize("min_run", [1, 8, 10**9], ids=["eager-models", "default", "model-family"])
def test_constriction_equals_mirror_sweep(monkeypatch, min_run):
    """Thousands of random and extreme tables: identical bytes, and each decodes the other."""
    monkeypatch.setattr(ans, "MIN_RUN", min_run)
    rng = np.random.default_rng(100 + min_run % 97)
    n_tables_total = 0
    for k in (2, 3, 4, 5, 16, 255, 256, 1000, 4096, 65536):
        kinds = ("random", "extreme", "ones", "cuts")
        groups = []
        for kind in kinds:
            n_tables = 2 if k == 65536 else 60
            n_tables_total += n_tables
            groups.append(make_group(rng, n_tables, k, 300 if k == 65536 else 900, kind,
                                     sorted_tables=bool(rng.integers(2))))
        a = ans.encode_groups(groups, backend="constriction")
        b = ans.encode_groups(groups, backend="mirror")
        assert a == b, f"K={k}: constriction and mirror streams differ"
        for backend in ("constriction", "mirror"):
            for got, (s, _, _) in zip(decode_all(a, groups, backend), groups):
                np.testing.assert_array_equal(got, s)
    assert n_tables_total >= 1500


@needs_constriction
@pytest.mark.slow
@pytest.mark.eq("core.ans_adapter", "core.ans")
def test_constriction_equals_mirror_long_sweep():
    """Slow: 40 seeds x 11 alphabet sizes x 4 table kinds (~25k tables, ~1.7M symbols)."""
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        for k in (2, 3, 4, 7, 16, 100, 256, 257, 1024, 4096, 65536):
            groups = [make_group(rng, 2 if k == 65536 else 150, k, 1000 if k < 65536 else 200, kind,
                                 sorted_tables=bool(rng.integers(2)))
                      for kind in ("random", "extreme", "ones", "cuts")]
            a = ans.encode_groups(groups, backend="constriction")
            assert a == ans.encode_groups(groups, backend="mirror"), (seed, k)
            for got, (s, _, _) in zip(decode_all(a, groups, "constriction"), groups):
                np.testing.assert_array_equal(got, s)


@needs_constriction
@pytest.mark.eq("core.ans_adapter", "core.ans", "core.ans_order")
@FAST
@given(groups=groups_strategy())
def test_constriction_equals_mirror_property(groups):
    a = ans.encode_groups(groups, backend="constriction")
    assert a == ans.encode_groups(groups, backend="mirror")
    for backend in ("constriction", "mirror"):
        for got, (s, _, _) in zip(decode_all(a, groups, backend), groups):
            np.testing.assert_array_equal(got, s)


@needs_constriction
@pytest.mark.eq("core.ans_adapter")
def test_adapter_stream_equals_raw_constriction_words():
    """The bytes are constriction's get_compressed() words, little-endian."""
    rng = np.random.default_rng(8)
    s, f, t = make_group(rng, 1, 64, 500)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(s, constriction.stream.model.Categorical(f[0].astype(np.float64) - 1, perfect=False))
    assert ans.encode(s, f, t, backend="constriction") == coder.get_compressed().astype("<u4").tobytes()


# ----------------------------------------------------------------------------- backends
@pytest.mark.eq("core.ans_adapter")
def test_backend_selection(monkeypatch):
    monkeypatch.setenv(ans.ENV_VAR, "mirror")
    assert ans.resolve_backend() == "mirror"
    assert ans.AnsDecoder(b"").backend == "mirror"
    monkeypatch.setenv(ans.ENV_VAR, "fast")
    with pytest.raises(InputError, match="CODECREF_CODER"):
        ans.resolve_backend()
    with pytest.raises(InputError, match="choose"):
        ans.resolve_backend("rust")
    monkeypatch.delenv(ans.ENV_VAR)
    assert ans.resolve_backend() == ("constriction" if constriction is not None else "mirror")
    # as on Linux aarch64: constriction missing
    monkeypatch.setattr(ans, "_constriction", lambda: None)
    assert ans.resolve_backend() == "mirror"
    with pytest.raises(InputError, match="not installed"):
        ans.resolve_backend("constriction")
    rng = np.random.default_rng(9)
    s, f, t = make_group(rng, 3, 10, 100)
    np.testing.assert_array_equal(ans.decode(ans.encode(s, f, t), f, t), s)


@pytest.mark.eq("core.ans", "core.ans_order", "core.ans_bytes", "core.ans_tables", "core.ans_adapter")
def test_golden_vectors_verify_on_the_mirror(monkeypatch):
    """What runs on ARM: the stored core.ans vectors (made with constriction) pass on the mirror."""
    from ref.conformance import golden as g

    monkeypatch.setenv(ans.ENV_VAR, "mirror")
    root = g.default_root()
    ids = [v for v in g.load_manifest(root)["vectors"] if v.startswith("core.ans.")]
    assert len(ids) >= 7, "core.ans vectors missing: codecref golden regen --id core.ans --write"
    results = g.verify(root, g.discover(), lambda v: v.startswith("core.ans."))
    assert results and all(r.status == "PASS" for r in results), [r for r in results if r.status != "PASS"]


@pytest.mark.eq("core.ans", "core.ans_bytes")
def test_works_without_constriction_installed():
    """As on Linux aarch64: constriction cannot be imported; auto falls back to the mirror
    and produces the same bytes as here."""
    rng = np.random.default_rng(10)
    s, f, t = make_group(rng, 4, 40, 500)
    want = ans.encode(s, f, t)
    code = (
        "import sys; sys.modules['constriction'] = None\n"
        "import numpy as np\n"
        "from ref.core import ans\n"
        "a = np.load(sys.argv[1])\n"
        "assert ans.resolve_backend() == 'mirror'\n"
        "data = ans.encode(a['s'], a['f'], a['t'])\n"
        "assert (ans.decode(data, a['f'], a['t']) == a['s']).all()\n"
        "sys.stdout.write(data.hex())\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/group.npz"
        np.savez(path, s=s, f=f, t=t)
        env = {k: v for k, v in os.environ.items() if k != ans.ENV_VAR}
        out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, env=env,
                             check=False, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert bytes.fromhex(out.stdout) == want


@pytest.mark.eq("core.ans_adapter", "core.ans_order")
def test_adapter_segments_partition_the_coding_order():
    """Eager segments are whole runs of one table with >= MIN_RUN symbols; family segments
    hold only shorter runs; together they tile [0, N) in coding order."""
    rng = np.random.default_rng(14)
    for _ in range(300):
        n_tables = int(rng.integers(1, 40))
        t = rng.choice(rng.integers(0, n_tables, size=int(rng.integers(1, 6))), size=int(rng.integers(0, 300)))
        t = np.where(rng.random(t.size) < 0.3, rng.integers(0, n_tables, size=t.size), t)
        sorted_t = t[ans.coding_order(t, n_tables)]
        counts = np.bincount(t, minlength=n_tables)
        pos = 0
        for a, b, table in ans._segments(t, n_tables):
            assert a == pos < b
            pos = b
            if table >= 0:
                assert (sorted_t[a:b] == table).all() and b - a == counts[table] >= ans.MIN_RUN
            else:
                assert (counts[np.unique(sorted_t[a:b])] < ans.MIN_RUN).all()
        assert pos == t.size


@needs_constriction
@pytest.mark.eq("core.ans_adapter")
def test_one_table_per_symbol():
    rng = np.random.default_rng(15)
    n = 700
    f = make_tables(rng, n, 16, "cuts")
    t = rng.permutation(n).astype(np.int32)
    s = sample_symbols(rng, f, t)
    data = ans.encode(s, f, t, backend="constriction")
    assert data == ans.encode(s, f, t, backend="mirror")
    np.testing.assert_array_equal(ans.decode(data, f, t, backend="constriction"), s)


def test_bench_core_runs_and_checks_streams():
    """`codecref bench core` on a small N: runs every contender and prints the table."""
    from click.testing import CliRunner

    from ref.app.core_bench import bench_command

    res = CliRunner().invoke(bench_command, ["--n", "3000", "--k", "16", "--tables", "4", "--mirror-n", "500",
                                             "--family-n", "500", "--repeat", "1"], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "4 tables, K=16" in res.output and "1 table, K=16" in res.output and "mirror" in res.output
    bad = CliRunner().invoke(bench_command, ["--k", "1"])
    assert bad.exit_code != 0
