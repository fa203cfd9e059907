"""The mixture-table fast path (gather + key quantiser) equals the readable twin bit for bit."""

import numpy as np
import pytest

from ref.core import tables as T


def _random_set(rng, N, k, M, wide):
    s = rng.integers(0, 64, (N, k))
    hi = 1 << int(rng.integers(2, 41)) if wide else 40 * M
    mu = rng.integers(-hi, hi, (N, k))
    w = rng.integers(0, 6, (N, k))
    w[:, 0] += 1
    w = (w * T.WEIGHT_TOTAL) // w.sum(1, keepdims=True)
    w[:, int(rng.integers(0, k))] += T.WEIGHT_TOTAL - w.sum(1)
    return s, mu, w


@pytest.mark.eq("core.table_gmm")
def test_fast_equals_reference_on_random_index_sets():
    rng = np.random.default_rng(20261129)
    for trial in range(60):
        N = int(rng.integers(1, 300))
        k = int(rng.integers(1, 4))
        M = int(rng.choice([1, 2, 3, 8, 16]))
        R = int(rng.choice([0, 1, 7, 24, 64, 150]))
        fam = str(rng.choice(list(T.FAMILIES)))
        s, mu, w = _random_set(rng, N, k, M, wide=bool(trial % 2))
        a, ca = T.mixture_tables(s, mu, w, radius=R, mean_grid=M, family=fam)
        b, cb = T.mixture_tables_reference(s, mu, w, radius=R, mean_grid=M, family=fam)
        assert np.array_equal(ca, cb)
        assert np.array_equal(a.freqs, b.freqs), (trial, N, k, M, R, fam)


@pytest.mark.eq("core.table_gmm")
def test_fast_path_at_every_scale_and_fraction_near_saturation():
    """All 64 scales x all mean fractions, component offsets at and just around +-U_s."""
    M, R = 4, 16
    _, _, U = T.edge_cdf_table("gaussian", M)
    rows = []
    for si in range(64):
        for f in range(M):
            for q in (-(U[si] + R + 2), -(U[si] + R), -U[si], 0, U[si] - R, U[si] + R, U[si] + R + 2):
                rows.append((si, M * int(q) + f))
    rows = np.array(rows, dtype=np.int64)
    N = rows.shape[0]
    s = np.stack([np.full(N, 30), rows[:, 0]], 1)
    mu = np.stack([np.zeros(N, np.int64), rows[:, 1]], 1)
    w = np.stack([np.full(N, 40000), np.full(N, T.WEIGHT_TOTAL - 40000)], 1)
    a, _ = T.mixture_tables(s, mu, w, radius=R, mean_grid=M)
    b, _ = T.mixture_tables_reference(s, mu, w, radius=R, mean_grid=M)
    assert np.array_equal(a.freqs, b.freqs)


@pytest.mark.eq("core.C3")
def test_key_quantiser_equals_largest_remainder_with_ties():
    """Masses with many equal remainders (ties must go to the lower index)."""
    rng = np.random.default_rng(3)
    K = 10
    m = np.zeros((500, K), np.int64)
    m[:, :-1] = rng.integers(0, 4, (500, K - 1)) << 28
    m[:, -1] = (1 << 32) - m[:, :-1].sum(1)
    m = m[m[:, -1] >= 0]
    assert np.array_equal(T._largest_remainder_keys(m, 32), T.quantize_masses(m))


@pytest.mark.eq("core.table_gmm")
def test_single_component_equals_gaussian_table():
    s = np.arange(64)[:, None]
    mu = (np.arange(64) % 8 - 3)[:, None]
    w = np.full((64, 1), T.WEIGHT_TOTAL)
    ts, centre = T.mixture_tables(s, mu, w, radius=12, mean_grid=8)
    g = T.gaussian_table(s[:, 0], mu[:, 0] - 8 * centre, radius=12, mean_grid=8)
    assert np.array_equal(ts.freqs, g)


def test_edge_table_is_saturated_beyond_u():
    P, base, U = T.edge_cdf_table("laplace", 2)
    assert P.dtype == np.int64 and not P.flags.writeable
    assert U.shape == (64,) and np.all(U >= 1)
