"""Integer frequency tables: shipped data, quantiser, Gaussian/Laplace/mixture tables."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ref.core import tables as T
from ref.core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _valid(f, K=None):
    f = np.asarray(f)
    assert f.dtype == np.uint32
    if K is not None:
        assert f.shape[-1] == K
    assert np.all(f >= 1)
    assert np.all(f.astype(np.int64).sum(axis=-1) == 2**24)


# --------------------------------------------------------------------------- shipped data
@pytest.mark.eq("core.C6", "core.C4")
def test_shipped_file_hash_and_generator(tmp_path):
    assert hashlib.sha256(T.DATA_PATH.read_bytes()).hexdigest() == T.SHIPPED_SHA256
    pytest.importorskip("mpmath")
    out = tmp_path / "t.safetensors"
    subprocess.run([sys.executable, str(ROOT / "scripts/make_core_tables.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == T.DATA_PATH.read_bytes()


@pytest.mark.eq("core.C6")
def test_shipped_cdfs_match_scipy():
    d = T.shipped()
    t = np.arange(d["normal_cdf"].size) / 1024
    assert np.abs(d["normal_cdf"] - stats.norm.cdf(t) * 2**32).max() <= 0.51
    t = np.arange(d["laplace_cdf"].size) / 1024
    assert np.abs(d["laplace_cdf"] - stats.laplace.cdf(t) * 2**32).max() <= 0.51
    assert d["normal_cdf"][0] == 2**31 and d["normal_cdf"][-1] == 2**32 and d["laplace_cdf"][-1] == 2**32
    assert np.all(np.diff(d["normal_cdf"]) >= 0) and np.all(np.diff(d["laplace_cdf"]) >= 0)


@pytest.mark.eq("core.C4")
def test_scale_table_matches_compressai():
    s = T.scale_table()
    assert s.shape == (64,) and s[0] == 0.11 and s[-1] == 256.0
    assert np.allclose(s, np.exp(np.linspace(np.log(0.11), np.log(256), 64)), rtol=1e-14, atol=0)
    assert np.abs(T.shipped()["inv_scale"] - 2.0**32 / s).max() <= 0.5 + 1e-3


# --------------------------------------------------------------------------- quantiser
def _spec_quantiser(masses, P):
    """Literal Python-int transcription of [core.C3]."""
    K = len(masses)
    A = 2**24 - K
    p = [m * A for m in masses]
    f = [1 + (v >> P) for v in p]
    rem = [v % 2**P for v in p]
    d = 2**24 - sum(f)
    order = sorted(range(K), key=lambda i: (-rem[i], i))
    for i in order[:d]:
        f[i] += 1
    return f


@pytest.mark.eq("core.C3", "core.C2")
def test_quantiser_hand_cases():
    # K = 3, P = 2: masses (2, 1, 1) of 4.  A = 2**24 - 3.
    f = T.quantize_masses(np.array([2, 1, 1]), 2)
    A = 2**24 - 3
    base = [1 + 2 * A // 4, 1 + A // 4, 1 + A // 4]           # 8388607, 4194304, 4194304 (+ rems 2, 1, 1)
    assert base == [8388607, 4194304, 4194304] and sum(base) == 2**24 - 1
    assert f.tolist() == [8388608, 4194304, 4194304]           # deficit 1 -> largest remainder (index 0)
    # all mass on one symbol: the others get exactly 1
    assert T.quantize_masses(np.array([0, 2**32, 0])).tolist() == [1, 2**24 - 2, 1]
    # equal remainders: lower index wins
    f = T.quantize_masses(np.array([1, 1, 1, 1]), 2)
    # A = 2**24 - 4, p = A, f = 1 + A // 4 = 4194304 each with remainder 0 -> deficit 0
    assert f.tolist() == [4194304] * 4 == _spec_quantiser([1, 1, 1, 1], 2)
    # K = 5: A = 2**24 - 5, f = 1 + A // 4 = 4194303 (rem 3) x4 and 1 -> deficit 3, four equal
    # remainders: the three lowest indices get +1
    f = T.quantize_masses(np.array([1, 1, 1, 1, 0]), 2)
    assert f.tolist() == [4194304, 4194304, 4194304, 4194303, 1] == _spec_quantiser([1, 1, 1, 1, 0], 2)


@pytest.mark.eq("core.C3", "core.C2")
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**20), min_size=2, max_size=40), st.integers(0, 1))
def test_quantiser_properties(raw, spike):
    m = np.array(raw, dtype=np.int64)
    if m.sum() == 0 or spike:
        m[len(m) // 2] += 1
    # scale to a row summing to exactly 2**32: put the rounding slack on the last entry
    m = m * (2**32 // m.sum())
    m[-1] += 2**32 - m.sum()
    f = T.quantize_masses(m)
    _valid(f, len(m))
    assert f.tolist() == _spec_quantiser(m.tolist(), 32)
    exact = 1 + m * (2**24 - len(m)) / 2**32
    assert np.all(np.abs(f - exact) < 1.0)
    order = np.lexsort((-np.arange(len(m)), m))    # ascending mass; equal mass: higher index first
    assert np.all(np.diff(f[order].astype(np.int64)) >= 0)   # more mass never means fewer counts


@pytest.mark.eq("core.C3")
def test_quantiser_rejects_bad_rows():
    with pytest.raises(InputError):
        T.quantize_masses(np.array([1, 2, 3]))            # does not sum to 2**32
    with pytest.raises(InputError):
        T.quantize_masses(np.array([2**32 + 1, -1]))
    with pytest.raises(InputError):
        T.quantize_masses(np.array([0.5, 0.5]))
    cdf = np.array([0, 2**31, 2**32])
    assert T.freqs_from_cdf(cdf).tolist() == [2**23, 2**23]
    with pytest.raises(InputError):
        T.freqs_from_cdf(np.array([0, 2**31 + 1, 2**31, 2**32]))


# --------------------------------------------------------------------------- fixed-point CDF
@pytest.mark.eq("core.C6")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 63), st.integers(1, 16), st.sampled_from(T.FAMILIES))
def test_cdf_fixed_monotone_symmetric_accurate(s, M, fam):
    n = np.arange(-40 * M, 40 * M + 1)
    c = T.cdf_fixed(n, M, s, fam)
    assert np.all(np.diff(c) >= 0) and c.min() >= 0 and c.max() <= 2**32
    assert np.array_equal(c + c[::-1], np.full_like(c, 2**32))              # C(-x) = 1 - C(x)
    x = n / (2 * M) / T.scale_table()[s]
    ref = (stats.norm if fam == "gaussian" else stats.laplace).cdf(x) * 2**32
    assert np.abs(c - ref).max() < 2**32 * 1.2e-7   # grid 2**-10, linear interpolation


def _reference_pmf(fam, R, s, off):
    r = np.arange(-R, R + 1)
    dist = stats.norm if fam == "gaussian" else stats.laplace
    sc = T.scale_table()[s]
    p = dist.cdf((r + 0.5 - off) / sc) - dist.cdf((r - 0.5 - off) / sc)
    return np.append(p, 1 - p.sum())


@pytest.mark.eq("core.table_gaussian", "core.table_laplace", "core.C2", "core.C5")
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(T.FAMILIES), st.integers(0, 63), st.integers(0, 40), st.sampled_from([1, 2, 4, 8]), st.data())
def test_parametric_tables_vs_scipy(fam, s, R, M, data):
    m = data.draw(st.integers(0, M - 1))
    f = T.parametric_tables(s, m, radius=R, mean_grid=M, family=fam)
    K = 2 * R + 2
    _valid(f, K)
    p = _reference_pmf(fam, R, s, m / M)
    want = 1 + np.maximum(p, 0) * (2**24 - K)
    # interpolation (<= 1.2e-7 per edge) + floor + quantiser: a handful of counts
    assert np.abs(f.astype(np.float64) - want).max() < 6.0


@pytest.mark.eq("core.table_gaussian", "core.table_laplace", "core.C6")
@settings(max_examples=40, deadline=None)
@given(st.sampled_from(T.FAMILIES), st.integers(0, 63), st.integers(1, 300))
def test_centred_tables_unimodal(fam, s, R):
    f = T.parametric_tables(s, 0, radius=R, family=fam).astype(np.int64)[:-1]
    right = f[R:]                                    # r = 0, 1, ..., R
    assert np.all(np.diff(right) <= 1)               # non-increasing up to the quantiser's +-1
    assert np.abs(f[:R][::-1] - right[1:]).max() <= 1
    assert f[R] == f.max()


@pytest.mark.eq("core.table_gaussian", "core.C5")
def test_table_set_layout_and_symmetry():
    ts = T.table_set("gaussian", 20, 4)
    assert ts.freqs.shape == (64 * 4, 42) and ts.radius == 20 and ts.escape_symbol == 41
    _valid(ts.freqs)
    for s in (0, 17, 63):
        for m in range(4):
            assert np.array_equal(ts.freqs[s * 4 + m], T.gaussian_table(s, m, radius=20, mean_grid=4))
        row = ts.freqs[s * 4].astype(np.int64)[:-1]
        assert np.abs(row - row[::-1]).max() <= 1     # symmetric masses; ties may differ by 1
    with pytest.raises(ValueError):
        ts.freqs[0, 0] = 5                             # cached and read-only


@pytest.mark.eq("core.table_gmm", "core.C8")
def test_mixture_tables_vs_scipy():
    M, R = 4, 24
    s = np.array([[10, 30, 45], [0, 63, 20]])
    mu = np.array([[3, -9, 40], [-7, 1000, 2]])
    w = np.array([[30000, 20000, 15536], [65536 - 2, 1, 1]])
    ts, centre = T.mixture_tables(s, mu, w, radius=R, mean_grid=M)
    _valid(ts.freqs, 2 * R + 2)
    assert centre.tolist() == [0, -2]       # floor(3/4), floor(-7/4)
    K = 2 * R + 2
    for e in range(2):
        p = sum(w[e, j] / 2**16 * _reference_pmf("gaussian", R, s[e, j], mu[e, j] / M - centre[e]) for j in range(3))
        assert np.abs(ts.freqs[e] - (1 + p * (2**24 - K))).max() < 8.0


@pytest.mark.eq("core.table_gmm", "core.table_gaussian")
def test_single_component_mixture_equals_gaussian_table():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 64, (30, 1))
    mu = rng.integers(-100, 100, (30, 1))
    ts, centre = T.mixture_tables(s, mu, np.full((30, 1), 2**16), radius=12, mean_grid=8)
    q, m = np.floor_divide(mu[:, 0], 8), np.mod(mu[:, 0], 8)
    assert np.array_equal(centre, q)
    assert np.array_equal(ts.freqs, T.gaussian_table(s[:, 0], m, radius=12, mean_grid=8))


@pytest.mark.eq("core.table_gmm", "core.C2")
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(0, 30), st.integers(1, 16), st.data())
def test_mixture_tables_always_valid(k, R, M, data):
    N = 3
    s = np.array(data.draw(st.lists(st.integers(0, 63), min_size=N * k, max_size=N * k))).reshape(N, k)
    mu = np.array(data.draw(st.lists(st.integers(-2**39, 2**39), min_size=N * k, max_size=N * k))).reshape(N, k)
    raw = np.array(data.draw(st.lists(st.integers(0, 1000), min_size=N * k, max_size=N * k))).reshape(N, k) + 1
    w = raw * (2**16 // raw.sum(1, keepdims=True))
    w[:, 0] += 2**16 - w.sum(1)
    ts, centre = T.mixture_tables(s, mu, w, radius=R, mean_grid=M)
    _valid(ts.freqs, 2 * R + 2)


@pytest.mark.eq("core.table_gaussian", "core.table_gmm")
def test_table_input_errors():
    with pytest.raises(InputError):
        T.gaussian_table(64, 0, radius=4)
    with pytest.raises(InputError):
        T.gaussian_table(0, 2, radius=4, mean_grid=2)
    with pytest.raises(InputError):
        T.gaussian_table(0.5, 0, radius=4)
    with pytest.raises(InputError):
        T.gaussian_table(0, 0, radius=4, mean_grid=0)
    with pytest.raises(InputError):
        T.parametric_tables(0, 0, radius=4, family="cauchy")
    with pytest.raises(InputError):
        T.mixture_tables(np.zeros((1, 2), int), np.zeros((1, 2), int), np.array([[1, 2]]), radius=3, mean_grid=1)


def _spec_cdf(n, M, s, tab, inv):
    """Literal Python-int transcription of [core.C6]."""
    a = min(abs(n), 2 * M * 2**14)
    t = (a * inv[s]) // (2 * M)
    i, w = t >> 22, t & (2**22 - 1)
    L = len(tab) - 1
    g = tab[L] if i >= L else tab[i] + (((tab[i + 1] - tab[i]) * w) >> 22)
    return g if n >= 0 else 2**32 - g


def _spec_mixture_table(comps, R, M, family):
    """Literal transcription of [core.table_gmm] / [core.table_gaussian]: comps = [(s, d, w)]."""
    d = T.shipped()
    tab = [int(v) for v in d["normal_cdf" if family == "gaussian" else "laplace_cdf"]]
    inv = [int(v) for v in d["inv_scale"]]
    C = []
    for i in range(2 * R + 2):
        acc = sum(w * _spec_cdf(2 * M * (i - R) - M - 2 * off, M, s, tab, inv) for s, off, w in comps)
        C.append(acc >> 16)
    masses = [C[j + 1] - C[j] for j in range(2 * R + 1)] + [C[0] + 2**32 - C[-1]]
    return _spec_quantiser(masses, 32)


@pytest.mark.eq("core.table_gaussian", "core.table_laplace", "core.table_gmm", "core.C6", "core.C3")
def test_tables_match_literal_spec_transcription():
    for fam, s, m, R, M in (("gaussian", 0, 0, 5, 1), ("gaussian", 27, 3, 12, 4), ("laplace", 63, 1, 9, 2),
                            ("laplace", 8, 0, 3, 1), ("gaussian", 45, 7, 20, 8)):
        want = _spec_mixture_table([(s, m, 2**16)], R, M, fam)
        assert T.parametric_tables(s, m, radius=R, mean_grid=M, family=fam).tolist() == want
    ts, centre = T.mixture_tables(np.array([[3, 40]]), np.array([[-13, 90]]), np.array([[40000, 25536]]),
                                  radius=10, mean_grid=4)
    assert centre.tolist() == [-4]                   # floor(-13 / 4)
    want = _spec_mixture_table([(3, -13 + 16, 40000), (40, 90 + 16, 25536)], 10, 4, "gaussian")
    assert ts.freqs[0].tolist() == want


@pytest.mark.eq("core.C3")
def test_freqs_from_counts_matches_python_integer_transcription():
    rng = np.random.default_rng(5)
    for _ in range(50):
        k = int(rng.integers(2, 40))
        c = rng.integers(0, 1000, size=k)
        c[rng.integers(0, k)] += 1  # non-empty
        f = T.freqs_from_counts(c)
        n, a = int(c.sum()), (1 << 24) - k
        base = [1 + (int(ci) * a) // n for ci in c]
        rem = [(int(ci) * a) % n for ci in c]
        d = (1 << 24) - sum(base)
        for i in sorted(range(k), key=lambda i: (-rem[i], i))[:d]:
            base[i] += 1
        assert f.tolist() == base


@pytest.mark.eq("core.C3")
def test_freqs_from_counts_equals_quantize_masses_for_power_of_two_totals():
    rng = np.random.default_rng(6)
    m = rng.multinomial(1 << 20, np.ones(17) / 17, size=8)
    assert np.array_equal(T.freqs_from_counts(m), T.quantize_masses(m, 20))
    with pytest.raises(InputError):
        T.freqs_from_counts(np.zeros(5, np.int64))
