"""Exact k-nearest-neighbour distances by blocked brute force in JAX ([core.knn_search]).

For every sample x_i of an (N, d) float64 array, the k smallest distances to the *other*
samples, self excluded by index (a duplicate x_j = x_i, j != i, is a neighbour at 0):

    rho_1(i) <= ... <= rho_k(i),   the k smallest of { ||x_i - x_j|| : j != i }
    max-norm:   ||v|| = max_j |v_j|              (float64: |fl(x_ij - x_lj)|, then max; no
                                                  other rounding, so the result is bit-exact)
    euclidean:  ||v|| = sqrt(sum_j v_j^2)        (float64, summed in index order j = 0..d-1)

Readable definition: :func:`knn_distances_np` (NumPy, float64, one query at a time).
Fast path: :func:`knn_distances` -- equal to it (tests/core/test_knn.py, and to scipy's
cKDTree, :func:`knn_distances_ckdtree`) by the argument below, not by luck.

Fast path, per tile of ``tq`` queries (spec [core.C20], [core.C21]):

1. Candidate pass, float32.  The samples are centred (per-dimension mid-range, float64),
   scaled by a power of two s so that A = max |s (x - c)| lies in [1/2, 1), and rounded to
   float32.  Against tiles of ``tp`` points, the float32 distances D~ (tq, tp) are reduced
   to the minimum over each *group* of G consecutive points; a running top-K (K groups with
   the smallest minima) is kept per query.  To first order |D~ - s D| <= 4u (max-norm: input
   rounding 2uA per coordinate, subtraction u*2A) or 2u sqrt(d) + (d + 3) u D~ / 2
   (Euclidean: input rounding, subtraction, float32 sum of d squares), u = 2^-24;
   :func:`candidate_eps` is at least 4x that.
2. Exact pass, float64: the distances to the K*G points of the kept groups, self masked,
   the k smallest kept.  Every point outside the kept groups lies in a group whose minimum
   m~ >= m~_(K) (the largest kept minimum), so its true scaled distance is
   >= m~_(K) - eps(m~_(K)).  If rho_k(i) * s <= m~_(K) - eps(m~_(K)), no outside point is
   nearer than rho_k(i) and the k distances are exact (ties at rho_k do not change the
   values).  Otherwise (a near tie, e.g. duplicates) the query goes to 3.
3. Fallback, float64: the query against every point, running top-k over point tiles.

Memory (per device, bytes): the resident points 12 * N_pad * d (float32 + float64 copies,
transposed), plus per tile 4*tq*tp (candidate distances), 8*tq*(K + tp/G) (running top-K),
8*tq*K*G (exact pass) and 8*tq*(tp + k) (fallback) -- bounded by the tile sizes, never N^2.
The query axis is sharded over every visible JAX device (``jax.shard_map``); points are
replicated.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

NORMS = ("max", "euclidean")
#: float32 unit roundoff.
U32 = 2.0 ** -24
#: Scaled float32 coordinate of padding points (real ones lie in (-1, 1)).
PAD32 = 1.0e6


@dataclass(frozen=True)
class KnnPlan:
    """Tile sizes of the fast path (they change speed and memory, never the result).

    tile_queries: queries per tile and device (tq).
    tile_points:  points per candidate tile (tp); a multiple of ``group``.
    group:        points per group G in the candidate pass.
    extra_groups: K = k + 1 + extra_groups groups kept per query (+ 1: the query's own
                  group, whose candidate minimum is the self distance 0).
    """

    tile_queries: int = 128
    tile_points: int = 4096
    group: int = 32
    extra_groups: int = 4

    def __post_init__(self) -> None:
        for name in ("tile_queries", "tile_points", "group"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1")
        if self.extra_groups < 0:
            raise InputError("extra_groups must be >= 0")
        if self.tile_points % self.group:
            raise InputError(f"tile_points ({self.tile_points}) must be a multiple of group ({self.group})")


# --------------------------------------------------------------------------- validation
def validate_samples(x, k: int, norm: str) -> np.ndarray:
    """Check an (N, d) sample array, k and the norm; return x as C-contiguous float64.

    Errors (InputError, one line): not 2-D, not real numbers, NaN or inf, d < 1,
    k not an integer >= 1, N < k + 1, unknown norm.
    """
    if norm not in NORMS:
        raise InputError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be an integer >= 1, got {k!r}")
    x = np.asarray(x)
    if x.ndim != 2:
        raise InputError(f"samples must be a 2-D array (N, d), got shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise InputError(f"samples must be real numbers, got dtype {x.dtype}")
    n, d = x.shape
    if d < 1:
        raise InputError("samples have d = 0 dimensions")
    if n < k + 1:
        raise InputError(f"need at least k + 1 = {k + 1} samples, got N = {n}")
    x = np.ascontiguousarray(x, dtype=np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        kind = "NaN" if np.isnan(x[i, j]) else "inf"
        raise InputError(f"samples contain {int(bad.sum())} non-finite value(s) (first: {kind} at row {i}, column {j})")
    return x


# --------------------------------------------------------------------------- readable twin
def _dist_np(q: np.ndarray, pts: np.ndarray, norm: str) -> np.ndarray:
    """Distances (float64) from one point q (d,) to pts (m, d), as the spec defines them."""
    diff = np.abs(q[None, :] - pts)
    if norm == "max":
        return diff.max(axis=1)
    acc = np.zeros(pts.shape[0])
    for j in range(pts.shape[1]):  # index order, as [core.knn_search]
        acc = acc + diff[:, j] * diff[:, j]
    return np.sqrt(acc)


def knn_distances_np(x, k: int, norm: str = "max") -> np.ndarray:
    """Readable definition of [core.knn_search] (NumPy, O(N^2 d), small N only).

    x: (N, d) real samples.  Returns (N, k) float64: row i holds the k smallest distances
    from x_i to x_j, j != i (self excluded by index), ascending.
    """
    x = validate_samples(x, k, norm)
    n = x.shape[0]
    out = np.empty((n, k))
    for i in range(n):
        dist = _dist_np(x[i], x, norm)
        dist[i] = np.inf
        out[i] = np.sort(dist)[:k]
    return out


def knn_distances_ckdtree(x, k: int, norm: str = "max", workers: int = -1) -> np.ndarray:
    """The cross-check path: scipy cKDTree, (N, k) float64, self excluded.

    cKDTree returns the query point itself first only when no other point is at distance 0;
    asking for k + 1 neighbours and dropping the first *distance* is exact either way, since
    the first distance is 0 in both cases and the rest are the k smallest over j != i.
    """
    from scipy.spatial import cKDTree

    x = validate_samples(x, k, norm)
    p = np.inf if norm == "max" else 2.0
    dist, _ = cKDTree(x).query(x, k=k + 1, p=p, workers=workers)
    return np.ascontiguousarray(dist[:, 1:])


# --------------------------------------------------------------------------- fast path
def candidate_eps(m, d: int, norm: str):
    """eps(m): at least 4x the first-order bound on |D~ - s D| for a float32 candidate D~ = m.

    Scaled data (A < 1): max-norm 16u = 2^-20; Euclidean 4u (2 sqrt(d) + (d + 3) m), u = 2^-24.
    """
    if norm == "max":
        return 16.0 * U32 + 0.0 * m
    return 4.0 * U32 * (2.0 * math.sqrt(d) + (d + 3.0) * m)


def _kernels(norm: str, d: int, n: int, k: int, plan: KnnPlan, ndev: int):
    """Jitted, sharded (query axis) block functions for one problem shape."""
    return _kernels_cached(norm, d, n, k, plan, ndev)


@lru_cache(maxsize=16)
def _kernels_cached(norm: str, d: int, n: int, k: int, plan: KnnPlan, ndev: int):
    from ref.core.runtime import jax as _jax

    jax = _jax()
    import jax.numpy as jnp
    from jax import lax
    from jax.sharding import Mesh, PartitionSpec as P

    tp, g = plan.tile_points, plan.group
    n_pad = -(-n // tp) * tp
    n_groups = -(-n // g)
    kk = min(k + 1 + plan.extra_groups, n_pad // g)  # + 1: the query's own group (min 0)
    all_groups = kk >= n_groups  # every real group is kept: no margin check needed
    euclid = norm == "euclidean"

    def tile_dist(qT, pT, dtype):
        """(tq, tp) distances (max-norm) or squared distances (Euclidean), summed in j order."""
        tq, tpp = qT.shape[1], pT.shape[1]

        def step(j, acc):
            diff = qT[j][:, None] - pT[j][None, :]
            return acc + diff * diff if euclid else jnp.maximum(acc, jnp.abs(diff))

        return lax.fori_loop(0, d, step, jnp.zeros((tq, tpp), dtype))

    def mask(dist, qidx, pidx):
        bad = (pidx[None, :] == qidx[:, None]) | (pidx[None, :] >= n)
        return jnp.where(bad, jnp.inf, dist)

    def smallest(vals, idx, m):
        neg, pos = lax.top_k(-vals, m)
        return -neg, jnp.take_along_axis(idx, pos, axis=1)

    def fast_block(q32, q64, qidx, xT32, xT64, scale):
        tq = q32.shape[0]
        qT32 = q32.T
        # 1. candidate pass (float32): running top-K of group minima over point tiles
        def tile(i, carry):
            vals, gid = carry
            pT = lax.dynamic_slice_in_dim(xT32, i * tp, tp, axis=1)
            gmin = tile_dist(qT32, pT, jnp.float32).reshape(tq, tp // g, g).min(axis=2)
            gnew = jnp.broadcast_to(i * (tp // g) + jnp.arange(tp // g, dtype=jnp.int32), gmin.shape)
            return smallest(jnp.concatenate([vals, gmin], 1), jnp.concatenate([gid, gnew], 1), kk)

        init = (jnp.full((tq, kk), jnp.inf, jnp.float32), jnp.zeros((tq, kk), jnp.int32))
        gvals, gid = lax.fori_loop(0, n_pad // tp, tile, init)
        # 2. exact pass (float64) over the kept groups
        cand = (gid[:, :, None] * g + jnp.arange(g, dtype=jnp.int32)).reshape(tq, kk * g)

        def step(j, acc):
            diff = q64[:, j][:, None] - xT64[j][cand]
            return acc + diff * diff if euclid else jnp.maximum(acc, jnp.abs(diff))

        exact = lax.fori_loop(0, d, step, jnp.zeros((tq, kk * g), jnp.float64))
        bad = (cand == qidx[:, None]) | (cand >= n)
        exact = jnp.where(bad, jnp.inf, exact)
        best = -lax.top_k(-exact, k)[0]
        if euclid:
            best = jnp.sqrt(best)
            bound = jnp.sqrt(gvals[:, -1].astype(jnp.float64))
        else:
            bound = gvals[:, -1].astype(jnp.float64)
        ok = (bound == jnp.inf) | (best[:, -1] * scale <= bound - candidate_eps(bound, d, norm))
        if all_groups:
            ok = jnp.ones_like(ok)
        return best, ok

    def exact_block(q64, qidx, xT64):
        tq = q64.shape[0]
        qT = q64.T

        def tile(i, best):
            pT = lax.dynamic_slice_in_dim(xT64, i * tp, tp, axis=1)
            pidx = i * tp + jnp.arange(tp, dtype=jnp.int32)
            dist = mask(tile_dist(qT, pT, jnp.float64), qidx, pidx)
            return -lax.top_k(-jnp.concatenate([best, dist], 1), k)[0]

        best = lax.fori_loop(0, n_pad // tp, tile, jnp.full((tq, k), jnp.inf, jnp.float64))
        return jnp.sqrt(best) if euclid else best

    devices = jax.devices()[:ndev]
    mesh = Mesh(np.array(devices), ("q",))
    fast = jax.jit(jax.shard_map(fast_block, mesh=mesh,
                                 in_specs=(P("q"), P("q"), P("q"), P(), P(), P()),
                                 out_specs=(P("q"), P("q")), check_vma=False))
    exact = jax.jit(jax.shard_map(exact_block, mesh=mesh, in_specs=(P("q"), P("q"), P()),
                                  out_specs=P("q"), check_vma=False))
    return fast, exact, n_pad, mesh


class _Progress:
    """One stderr line, rewritten in place: 'knn: done/total queries, elapsed, left'."""

    def __init__(self, total: int, enabled: bool | None, label: str = "knn") -> None:
        self.total, self.enabled, self.label = total, enabled, label
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done: int) -> None:
        el = time.perf_counter() - self.t0
        show = self.enabled if self.enabled is not None else (sys.stderr.isatty() and el > 1.0)
        if not show:
            return
        left = el / max(done, 1) * (self.total - done)
        sys.stderr.write(f"\r{self.label}: {done}/{self.total} queries, {el:.1f} s elapsed, ~{left:.0f} s left ")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


@implements("core.knn_search")
def knn_distances(x, k: int, norm: str = "max", *, plan: KnnPlan | None = None,
                  devices: int | None = None, progress: bool | None = None,
                  stats: dict | None = None) -> np.ndarray:
    """k smallest distances from each sample to the others, exact ([core.knn_search]).

    x:        (N, d) real array (any real dtype; used as float64).
    k:        neighbours, 1 <= k <= N - 1.
    norm:     "max" (Chebyshev) or "euclidean".
    plan:     tile sizes (:class:`KnnPlan`); the result does not depend on them.
    devices:  how many of ``jax.devices()`` to shard the query axis over (default: all).
    progress: True/False: show/hide the stderr progress line; None: only on a terminal
              and once the run has lasted 1 s.
    stats:    if a dict, receives {"fallback_queries": int, "devices": int, "n_pad": int}.

    Returns (N, k) float64, row i ascending, equal to :func:`knn_distances_np` (max-norm
    bit-exact; Euclidean up to the order of float64 summation within [core.knn_search]).
    """
    from ref.core.runtime import jax as _jax

    x = validate_samples(x, k, norm)
    plan = plan or KnnPlan()
    jax = _jax()
    n, d = x.shape
    ndev = len(jax.devices()) if devices is None else int(devices)
    if not 1 <= ndev <= len(jax.devices()):
        raise InputError(f"devices must be in [1, {len(jax.devices())}], got {devices}")
    # tiles no larger than the problem (multiples of the group size)
    g = plan.group
    tp = min(plan.tile_points, -(-n // g) * g)
    tq = min(plan.tile_queries, -(-n // ndev))
    plan = KnnPlan(tq, tp, g, plan.extra_groups)
    fast, exact, n_pad, mesh = _kernels(norm, d, n, k, plan, ndev)

    centre = 0.5 * (x.min(axis=0) + x.max(axis=0))
    xc = x - centre
    amax = float(np.abs(xc).max())
    if amax == 0.0:  # every sample identical
        return np.zeros((n, k))
    scale = math.ldexp(1.0, -math.frexp(amax)[1])  # s * amax in [1/2, 1)
    x32 = np.full((d, n_pad), PAD32, np.float32)  # padding points: far from every sample
    x32[:, :n] = (xc * scale).T
    x64 = np.zeros((d, n_pad), np.float64)
    x64[:, :n] = x.T
    del xc
    from jax.sharding import NamedSharding, PartitionSpec as P

    rep = NamedSharding(mesh, P())
    xT32, xT64 = jax.device_put(x32, rep), jax.device_put(x64, rep)
    del x32, x64
    block = plan.tile_queries * ndev
    out = np.empty((n, k))
    ok_all = np.empty(n, bool)
    bar = _Progress(n, progress)
    for start in range(0, n, block):
        idx = np.arange(start, start + block, dtype=np.int32)
        idx[idx >= n] = -1  # padding queries: never equal to a point index; discarded
        q64 = x[np.clip(idx, 0, n - 1)]
        q32 = ((q64 - centre) * scale).astype(np.float32)
        best, ok = fast(q32, q64, idx, xT32, xT64, np.float64(scale))
        m = min(block, n - start)
        out[start:start + m] = np.asarray(best)[:m]
        ok_all[start:start + m] = np.asarray(ok)[:m]
        bar.update(start + m)
    redo = np.flatnonzero(~ok_all).astype(np.int32)
    for start in range(0, len(redo), block):
        idx = np.full(block, -1, np.int32)
        part = redo[start:start + block]
        idx[:len(part)] = part
        best = exact(x[np.clip(idx, 0, n - 1)], idx, xT64)
        out[part] = np.asarray(best)[:len(part)]
    bar.close()
    if stats is not None:
        stats.update(fallback_queries=int(len(redo)), devices=ndev, n_pad=n_pad)
    return out
