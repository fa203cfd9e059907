"""Row-based sampler G_r, its special cases, the random baseline and the erase-ratio mapping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref.core.errors import InputError
from ref.core.prng import Pcg32
from ref.easz.sampler import (EASZ_MASK_STREAM, SamplerConfig, constraint_violations, diagonal_mask,
                              erase_ratio_to_T, erased_to_keep, inter_row_ok, intra_row_ok, random_mask,
                              relaxation_schedule, row_sampler_mask, sample_erased_columns, sr2x_mask)


@st.composite
def configs(draw, max_g=16):
    g = draw(st.integers(2, max_g))
    T = draw(st.integers(0, g - 1))
    return SamplerConfig(g, T, draw(st.integers(0, 3)), draw(st.integers(-1, 3))), draw(st.integers(0, 2**64 - 1))


@pytest.mark.eq("easz.1", "easz.C3", "easz.C4")
def test_intra_row_is_strict_and_against_all_earlier_samples():
    assert intra_row_ok(5, [2], 2)            # |5-2| = 3 > 2
    assert not intra_row_ok(4, [2], 2)        # 2 > 2 is false (strict)
    assert not intra_row_ok(3, [0, 4], 1)     # the LAST sample (4) is adjacent ...
    assert not intra_row_ok(1, [0, 4], 1)     # ... and so is an EARLIER one (0): all are checked
    assert intra_row_ok(0, [], 5)
    assert not intra_row_ok(3, [3], 0)        # delta = 0 still forbids a repeated column


@pytest.mark.eq("easz.inter_row", "easz.C3", "easz.C4")
def test_inter_row_against_whole_previous_row_and_first_row_free():
    assert inter_row_ok(3, None, 5)           # row 0: no previous row
    assert not inter_row_ok(3, [0, 3], 0)     # directly below an erased sub-patch
    assert not inter_row_ok(1, [0, 6], 1)     # |1-0| = 1 is not > 1 (the first, not the last, of row i-1)
    assert inter_row_ok(3, [0, 6], 1)
    assert inter_row_ok(3, [3], -1)           # Delta = -1 disables the constraint


@pytest.mark.eq("easz.C6")
def test_relaxation_schedule_order():
    assert relaxation_schedule(2, 1) == [(2, 1), (2, 0), (2, -1), (1, -1), (0, -1)]
    assert relaxation_schedule(0, -1) == [(0, -1)]
    assert relaxation_schedule(1, 0)[-1] == (0, -1)


@pytest.mark.eq("easz.row_sampler", "easz.C2", "easz.C5", "easz.C8")
def test_counts_reproducibility_and_seed_sensitivity():
    cfg = SamplerConfig(16, 4)
    a = row_sampler_mask(cfg, 123)
    assert a.dtype == np.uint8 and a.shape == (16, 16)
    assert np.all(a.sum(axis=1) == 12)        # T counts ERASED per row; 1 = kept
    assert np.array_equal(a, row_sampler_mask(cfg, 123))
    assert any(not np.array_equal(a, row_sampler_mask(cfg, s)) for s in range(1, 5))
    assert constraint_violations(a, 1, 0) == 0


@pytest.mark.eq("easz.row_sampler", "easz.C5", "easz.1", "easz.inter_row")
def test_one_bounded_draw_per_sample_hand_worked():
    """g = 6, T = 2, delta = 1, Delta = 0, seed 7, worked by hand from the PCG32 draws.

    Row 0, draw 1: A = [0 1 2 3 4 5], bounded(6) = 0 -> column 0.
    Row 0, draw 2: |c - 0| > 1 -> A = [2 3 4 5], bounded(4) = 3 -> column 5.
    Row 1, draw 1: not below 0 or 5 -> A = [1 2 3 4], bounded(4) = 2 -> column 3.
    Row 1, draw 2: also |c - 3| > 1 -> A = [1], bounded(1) = 0 -> column 1 (a draw is made
    even when A has one element).
    """
    r = Pcg32(7, EASZ_MASK_STREAM)
    assert [r.bounded(6), r.bounded(4), r.bounded(4), r.bounded(1)] == [0, 3, 2, 0]
    erased, levels = sample_erased_columns(SamplerConfig(6, 2, 1, 0), Pcg32(7, EASZ_MASK_STREAM))
    assert erased[:2] == [[0, 5], [3, 1]]
    assert levels[0] == levels[1] == [(1, 0), (1, 0)]
    keep = row_sampler_mask(SamplerConfig(6, 2, 1, 0), 7)
    assert keep[:2].tolist() == [[0, 1, 1, 1, 1, 0], [1, 0, 1, 0, 1, 1]]


@settings(max_examples=150, deadline=None)
@given(configs())
@pytest.mark.eq("easz.1", "easz.inter_row", "easz.row_sampler", "easz.C6")
def test_property_constraints_hold_whenever_satisfiable(case):
    """Every draw is made at the strictest non-empty level; at the full level the drawn column
    satisfies eq. 1 against all earlier samples and the inter-row constraint against all of
    row i-1; a level is only relaxed when the stricter one had no admissible column."""
    cfg, seed = case
    erased, levels = sample_erased_columns(cfg, Pcg32(seed, EASZ_MASK_STREAM))
    sched = relaxation_schedule(cfg.delta, cfg.Delta)
    for i, (row, lv) in enumerate(zip(erased, levels)):
        assert len(row) == cfg.T == len(set(row))
        prev = erased[i - 1] if i else None
        for t, (c, (d, D)) in enumerate(zip(row, lv)):
            earlier = row[:t]
            assert intra_row_ok(c, earlier, d) and inter_row_ok(c, prev, D)
            for d2, D2 in sched[:sched.index((d, D))]:  # every stricter level was empty
                assert not any(intra_row_ok(x, earlier, d2) and inter_row_ok(x, prev, D2) for x in range(cfg.g))
    if all(lv == (cfg.delta, cfg.Delta) for row in levels for lv in row):
        assert constraint_violations(erased_to_keep(erased, cfg.g), cfg.delta, cfg.Delta) == 0


@pytest.mark.eq("easz.random_mask")
def test_random_mask_is_unconstrained_sampler():
    keep = random_mask(8, 3, 5)
    assert np.array_equal(keep, row_sampler_mask(SamplerConfig(8, 3, 0, -1), 5))
    assert np.all(keep.sum(axis=1) == 5)
    # over many seeds the random baseline produces adjacent erasures, the sampler does not
    adj = lambda k: int(np.sum((k[:, 1:] == 0) & (k[:, :-1] == 0)))  # noqa: E731
    assert sum(adj(random_mask(8, 3, s)) for s in range(20)) > 0
    assert sum(adj(row_sampler_mask(SamplerConfig(8, 3), s)) for s in range(20)) == 0


@pytest.mark.eq("easz.diagonal")
def test_diagonal_special_case():
    d = diagonal_mask(8)
    assert np.array_equal(d, 1 - np.eye(8, dtype=np.uint8))
    assert constraint_violations(d, 0, 0) == 0       # a member of G_r(T=1, delta=0, Delta=0)
    for s in range(16):                             # g = 2: the sampler always gives a diagonal
        k = row_sampler_mask(SamplerConfig(2, 1, 0, 0), s)
        assert np.array_equal(k, 1 - np.eye(2, dtype=np.uint8)) or np.array_equal(k, np.eye(2, dtype=np.uint8))
    for s in range(8):                              # T = 1, Delta = 0: one per row, never vertically adjacent
        k = row_sampler_mask(SamplerConfig(8, 1, 0, 0), s)
        cols = np.argmin(k, axis=1)
        assert np.all(k.sum(axis=1) == 7) and np.all(np.diff(cols) != 0)


@pytest.mark.eq("easz.sr2x")
def test_sr2x_special_case():
    m = sr2x_mask(8)
    assert m[0, 0] == 1 and m.sum() == 32 and np.all(m.sum(axis=1) == 4)
    assert np.all(m[:, :-1] != m[:, 1:]) and np.all(m[:-1] != m[1:])   # checkerboard
    assert constraint_violations(m, 1, 0) == 0      # non-adjacent in rows and columns
    # the sampler G_r(T=g/2, delta=1, Delta=0) reaches it: a row with T = g/2 erased and no two
    # adjacent is forced to one parity once the first draw is at column 0 or 1 of an even g ...
    found = any(np.array_equal(row_sampler_mask(SamplerConfig(4, 2, 1, 0), s), sr2x_mask(4)) or
                np.array_equal(row_sampler_mask(SamplerConfig(4, 2, 1, 0), s), sr2x_mask(4, 1)) for s in range(64))
    assert found


@pytest.mark.eq("easz.C8")
def test_erase_ratio_to_T():
    assert erase_ratio_to_T(0.25, 8) == 2
    assert erase_ratio_to_T("0.0625", 8) == 1        # exact half rounds up
    assert erase_ratio_to_T(0.3, 8) == 2
    assert erase_ratio_to_T(0.25, 16) == 4
    assert erase_ratio_to_T(0, 8) == 0
    with pytest.raises(InputError):
        erase_ratio_to_T(1.0, 8)
    with pytest.raises(InputError):
        erase_ratio_to_T(0.95, 8)                    # T = 8 would erase the whole row
    with pytest.raises(InputError):
        erase_ratio_to_T("abc", 8)


@pytest.mark.eq("easz.C4")
def test_config_validation():
    for bad in [dict(g=0, T=0), dict(g=8, T=8), dict(g=8, T=-1), dict(g=8, T=1, delta=-1),
                dict(g=8, T=1, Delta=-2), dict(g=8.0, T=1)]:
        with pytest.raises(InputError):
            SamplerConfig(**bad)
