"""[core.knn_search]: blocked JAX k-NN distances against scipy's cKDTree and a NumPy twin."""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.spatial import cKDTree

from ref.core.errors import InputError
from ref.core.knn import KnnPlan, knn_distances, knn_distances_np


def ckdtree(x, k, norm):
    """Independent reference: scipy cKDTree, k + 1 neighbours, first (self, 0) dropped."""
    d, _ = cKDTree(x).query(x, k=k + 1, p=np.inf if norm == "max" else 2.0)
    return d[:, 1:]


def gauss(n, d, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


@pytest.mark.eq("core.knn_search")
@pytest.mark.parametrize("n,d,k", [(3000, 16, 4), (1500, 64, 1), (800, 3, 7), (97, 2, 5)])
def test_max_norm_bit_exact_with_ckdtree(n, d, k):
    x = gauss(n, d, seed=n + d)
    got = knn_distances(x, k, "max")
    assert got.dtype == np.float64 and got.shape == (n, k)
    assert np.array_equal(got, ckdtree(x, k, "max"))  # bit for bit


@pytest.mark.eq("core.knn_search")
@pytest.mark.parametrize("n,d,k", [(2000, 16, 4), (600, 40, 3)])
def test_euclidean_matches_ckdtree(n, d, k):
    x = gauss(n, d, seed=7 * n + d)
    np.testing.assert_allclose(knn_distances(x, k, "euclidean"), ckdtree(x, k, "euclidean"), rtol=1e-13, atol=0)


@pytest.mark.eq("core.knn_search")
@pytest.mark.parametrize("norm", ["max", "euclidean"])
def test_equals_readable_twin(norm):
    x = gauss(150, 5, seed=3)
    got, want = knn_distances(x, 3, norm), knn_distances_np(x, 3, norm)
    if norm == "max":
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


@pytest.mark.eq("core.knn_search")
def test_duplicates_and_ties_take_the_fallback_and_stay_exact():
    # integer data: massive ties and duplicates; self excluded by index, duplicates count at 0
    x = np.random.default_rng(1).integers(0, 3, (700, 4)).astype(np.float64)
    stats = {}
    got = knn_distances(x, 4, "max", stats=stats)
    assert np.array_equal(got, ckdtree(x, 4, "max"))
    assert stats["fallback_queries"] > 0  # the margin check did send near-ties to the exact path
    y = gauss(300, 3, seed=2)
    y = np.concatenate([y, y[:50]])  # 50 exact duplicate pairs
    for norm in ("max", "euclidean"):
        r = knn_distances(y, 1, norm)[:, 0]
        dup = np.zeros(350, bool)
        dup[:50] = dup[300:] = True
        assert np.all(r[dup] == 0.0) and np.all(r[~dup] > 0.0)


@pytest.mark.eq("core.knn_search")
def test_structure_below_float32_resolution_is_resolved_exactly():
    # two clusters at -1 and +1, each with a 1e-9 spread: float32 sees every in-cluster
    # distance as (nearly) 0, so the candidate groups are arbitrary and only the margin
    # check + float64 fallback can find the true neighbours
    rng = np.random.default_rng(8)
    x = np.concatenate([-1 + 1e-9 * rng.standard_normal((300, 3)), 1 + 1e-9 * rng.standard_normal((300, 3))])
    stats = {}
    got = knn_distances(x, 3, "max", stats=stats)
    assert np.array_equal(got, ckdtree(x, 3, "max"))
    assert stats["fallback_queries"] > 0


@pytest.mark.eq("core.knn_search")
@pytest.mark.parametrize("plan", [KnnPlan(8, 64, 1, 0), KnnPlan(16, 128, 4, 0), KnnPlan(33, 96, 32, 2),
                                  KnnPlan(512, 8192, 16, 8)])
def test_result_does_not_depend_on_tiles(plan):
    x = gauss(500, 8, seed=11)
    assert np.array_equal(knn_distances(x, 4, "max", plan=plan), ckdtree(x, 4, "max"))
    np.testing.assert_allclose(knn_distances(x, 2, "euclidean", plan=plan), ckdtree(x, 2, "euclidean"), rtol=1e-13)


@pytest.mark.eq("core.knn_search")
@pytest.mark.parametrize("scale,offset", [(1e-300, 0.0), (1e300, 0.0), (1.0, 1e8), (3.0, -7.5)])
def test_extreme_magnitudes(scale, offset):
    x = gauss(500, 6, seed=5) * scale + offset
    assert np.array_equal(knn_distances(x, 3, "max"), ckdtree(x, 3, "max"))


def test_all_identical_samples():
    assert np.array_equal(knn_distances(np.ones((10, 3)), 2), np.zeros((10, 2)))


@pytest.mark.parametrize(
    "x,k,norm,needle",
    [
        (np.zeros(10), 1, "max", "2-D"),
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), 1, "max", "NaN at row 0, column 1"),
        (np.array([[0.0, 1.0], [np.inf, 2.0], [3.0, 4.0]]), 1, "max", "inf at row 1"),
        (np.zeros((4, 2)), 4, "max", "at least k + 1 = 5 samples"),
        (np.zeros((4, 2)), 0, "max", "k must be an integer >= 1"),
        (np.zeros((4, 2)), 1, "l1", "norm must be one of"),
        (np.zeros((4, 0)), 1, "max", "d = 0"),
        (np.array([["a", "b"], ["c", "d"]]), 1, "max", "real numbers"),
    ],
)
def test_bad_input_is_one_clear_error(x, k, norm, needle):
    with pytest.raises(InputError, match=re.escape(needle)):
        knn_distances(x, k, norm)


def test_progress_line(capsys):
    knn_distances(gauss(300, 2), 2, progress=True)
    assert "knn: 300/300 queries" in capsys.readouterr().err


@pytest.mark.eq("core.knn_search")
def test_sharded_over_two_host_devices_gives_the_same_result():
    code = textwrap.dedent("""
        import numpy as np, jax
        import ref
        from ref.core.knn import knn_distances, KnnPlan
        from scipy.spatial import cKDTree
        assert jax.device_count() == 2, jax.devices()
        x = np.random.default_rng(4).standard_normal((1001, 7))
        st = {}
        got = knn_distances(x, 3, "max", plan=KnnPlan(64, 256, 16, 4), stats=st)
        assert st["devices"] == 2, st
        want = cKDTree(x).query(x, 4, p=np.inf)[0][:, 1:]
        assert np.array_equal(got, want)
        one = knn_distances(x, 3, "max", devices=1)
        assert np.array_equal(got, one)
        e2 = knn_distances(x, 2, "euclidean")
        assert np.allclose(e2, cKDTree(x).query(x, 3)[0][:, 1:], rtol=1e-13, atol=0)
        print("OK")
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.eq("core.knn_search")
@pytest.mark.parametrize("n,d", [(20000, 192), (100000, 16)])
def test_bench_sizes_bit_exact(n, d):
    x = gauss(n, d, seed=n + d)
    assert np.array_equal(knn_distances(x, 4, "max"), ckdtree(x, 4, "max"))
