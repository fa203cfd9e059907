"""Integer frequency tables for the entropy coder (normative; spec/core-entropy.md).

Everything on this page is integer arithmetic on int64 NumPy arrays: no ``exp``, ``erf`` or
float division runs here, so every platform builds bit-identical tables (DESIGN
"Determinism", layer 2).  The only inputs are integer *indices* (scale index, mean index,
mixture-weight integers -- see :mod:`ref.core.entropy_models` for the float -> index seam)
and the integer tables shipped in ``ref/core/data/core_tables.safetensors`` (made by
``scripts/make_core_tables.py``).

Table format ([core.C2]) -- what :mod:`ref.core.ans` consumes:

* ``freqs``: uint32, shape ``(n_tables, K)``, every row sums to exactly ``2**24``, every
  entry ``>= 1``.
* Alphabet of a table with radius ``R``: ``K = 2R + 2``.  Symbol ``j`` in ``0..2R`` stands for
  the residual ``r = j - R`` (support ``[-R, R]``); symbol ``K - 1 = 2R + 1`` is the *escape*
  symbol (any ``|r| > R``; its magnitude goes to the escape payload, :mod:`ref.core.escape`).

Pipeline for a parametric family (Gaussian, Laplace, mixtures), [core.C6] + [core.C3]:

1. integer CDF ``C(x)`` (units ``2**-32``) at the ``2R + 2`` bin edges ``x = r - 1/2 - offset``
   by integer lookup + linear interpolation in the shipped table;
2. integer masses ``m_j = C(edge_{j+1}) - C(edge_j)``, escape mass = both tails; they sum to
   ``2**32`` exactly;
3. masses -> frequencies by the largest-remainder quantiser :func:`quantize_masses`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

# --------------------------------------------------------------------------- constants
PROB_BITS = 24                      # [core.C2] every row sums to 2**PROB_BITS
PROB_TOTAL = 1 << PROB_BITS
CDF_BITS = 32                       # [core.C6] CDF values are integers in [0, 2**32]
CDF_ONE = 1 << CDF_BITS
GRID_BITS = 10                      # shipped CDF sampled at t = k / 2**10
FRAC_BITS = 32                      # |t| is computed in units of 2**-32
SHIFT = FRAC_BITS - GRID_BITS       # 22: grid index = T >> 22, interpolation weight = T & (2**22-1)
WEIGHT_BITS = 16                    # [core.C8] mixture weights are integers summing to 2**16
WEIGHT_TOTAL = 1 << WEIGHT_BITS
MAX_ALPHABET = 1 << 16             # K <= 2**16 (core.ans limit): radius <= 32767
MAX_SET_ENTRIES = 1 << 26           # largest cached table set (256 MiB of uint32)
BLOCK_ELEMENTS = 1 << 21            # mixture tables are built in blocks of rows of this many entries
MAX_MEAN_GRID = 1 << 10             # largest allowed M (keeps int64 products < 2**63)
N_CLAMP_UNITS = 1 << 14             # |n| is clamped to 2M * 2**14: |t| >= 64 there for every scale

DATA_PATH = Path(__file__).resolve().parent / "data" / "core_tables.safetensors"
#: SHA-256 of the shipped table file; tests re-run the generator and compare.
SHIPPED_SHA256 = "091c817edd50f6d6d74e5a9c37aee8650243a5fe5b4e067a835ee5381f757d17"

FAMILIES = ("gaussian", "laplace")


@lru_cache(maxsize=1)
def shipped() -> dict[str, np.ndarray]:
    """The shipped integer tables (checked against :data:`SHIPPED_SHA256`), as read-only arrays.

    Keys: ``normal_cdf`` int64 (16385,), ``laplace_cdf`` int64 (24577,) -- CDF(k/1024) * 2**32;
    ``scale_table`` float64 (64,); ``inv_scale`` int64 (64,) = round(2**32 / scale_table).
    """
    from safetensors.numpy import load

    raw = DATA_PATH.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHIPPED_SHA256:
        raise RuntimeError(f"{DATA_PATH} SHA-256 {digest} != recorded {SHIPPED_SHA256} (file altered)")
    out = {}
    for k, v in load(raw).items():
        v = v.astype(np.float64 if v.dtype == np.float64 else np.int64)
        v.setflags(write=False)
        out[k] = v
    return out


def scale_table() -> np.ndarray:
    """float64 (64,): the fixed log-spaced scale table s_0 = 0.11 .. s_63 = 256 ([core.C4])."""
    return shipped()["scale_table"]


def n_scales() -> int:
    return int(shipped()["scale_table"].shape[0])


def alphabet_size(radius: int) -> int:
    """K = 2R + 2 (support [-R, R] plus the escape symbol)."""
    return 2 * int(radius) + 2


@dataclass(frozen=True)
class TableSet:
    """A set of frequency tables sharing one radius.

    freqs:  uint32 (n_tables, K), K = 2*radius + 2; rows sum to 2**24, entries >= 1.
    radius: R; symbol j <-> residual j - R for j <= 2R, symbol 2R + 1 = escape.
    """

    freqs: np.ndarray
    radius: int

    @property
    def escape_symbol(self) -> int:
        return 2 * self.radius + 1

    @property
    def n_tables(self) -> int:
        return int(self.freqs.shape[0])


# --------------------------------------------------------------------------- quantiser
@implements("core.C2", "core.C3")
def quantize_masses(masses: np.ndarray, precision_bits: int = CDF_BITS) -> np.ndarray:
    """Integer masses -> frequency table (largest-remainder quantiser, [core.C3]).

    masses: int (..., K), every entry >= 0, every row summing to exactly 2**precision_bits
            (precision_bits <= 38 so that products fit in int64).
    Returns uint32 (..., K): rows sum to 2**24, entries >= 1.

        A      = 2**24 - K                       (mass left after 1 per symbol)
        p_i    = m_i * A                         (exact integer)
        f_i    = 1 + (p_i >> P)                  (P = precision_bits)
        rem_i  = p_i mod 2**P
        d      = 2**24 - sum_i f_i               (0 <= d < K)
        the d symbols with the largest rem_i get +1; equal rem_i: lower index first.
    """
    m = np.asarray(masses)
    if m.dtype.kind not in "iu":
        raise InputError(f"masses must be integers, got {m.dtype}")
    if precision_bits > 38 or precision_bits < 0:
        raise InputError(f"precision {precision_bits} out of range")
    m = m.astype(np.int64)
    if np.any(m < 0) or np.any(m.sum(axis=-1) != (1 << precision_bits)):
        raise InputError(f"masses must be >= 0 and every row must sum to 2**{precision_bits}")
    return _largest_remainder(m, np.int64(1) << precision_bits)


@implements("core.C3")
def freqs_from_counts(counts: np.ndarray) -> np.ndarray:
    """Histogram counts (..., K) -> frequency table, the [core.C3] rule with total N = row sum.

    counts: int (..., K), entries >= 0, each row sum N in [1, 2**38).
    Returns uint32 (..., K), rows summing to 2**24, entries >= 1:
        f_i = 1 + floor(c_i * (2**24 - K) / N), then the remaining d < K units go to the
        largest remainders c_i * (2**24 - K) mod N (ties: lower index first).
    With N = 2**P this is exactly :func:`quantize_masses`.
    """
    c = np.asarray(counts)
    if c.dtype.kind not in "iu":
        raise InputError(f"counts must be integers, got {c.dtype}")
    c = c.astype(np.int64)
    total = c.sum(axis=-1, keepdims=True)
    if np.any(c < 0) or np.any(total < 1) or np.any(total >= (1 << 38)):
        raise InputError("counts must be >= 0 with every row sum in [1, 2**38)")
    return _largest_remainder(c, total)


def _largest_remainder(m: np.ndarray, total) -> np.ndarray:
    """Shared core of [core.C3]: m (..., K) int64 with row sums ``total`` -> uint32 freqs."""
    K = m.shape[-1]
    if not 1 <= K < PROB_TOTAL:
        raise InputError(f"alphabet size {K} out of range")
    avail = PROB_TOTAL - K
    p = m * avail
    f = 1 + p // total
    rem = p % total
    deficit = PROB_TOTAL - f.sum(axis=-1, keepdims=True)
    order = np.argsort(-rem, axis=-1, kind="stable")      # largest remainder, ties -> lower index
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(K), order.shape), axis=-1)
    f = f + (rank < deficit)
    return f.astype(np.uint32)


def freqs_from_cdf(cdf: np.ndarray, precision_bits: int = CDF_BITS) -> np.ndarray:
    """Integer CDF (..., K+1) with cdf[0] = 0, cdf[K] = 2**P, non-decreasing -> freqs (..., K)."""
    c = np.asarray(cdf).astype(np.int64)
    if np.any(np.diff(c, axis=-1) < 0) or np.any(c[..., 0] != 0) or np.any(c[..., -1] != (1 << precision_bits)):
        raise InputError("cdf must be non-decreasing from 0 to 2**precision_bits")
    return quantize_masses(np.diff(c, axis=-1), precision_bits)


# --------------------------------------------------------------------------- fixed-point CDF
def _table_for(family: str) -> np.ndarray:
    if family == "gaussian":
        return shipped()["normal_cdf"]
    if family == "laplace":
        return shipped()["laplace_cdf"]
    raise InputError(f"unknown family {family!r} (expected one of {FAMILIES})")


@implements("core.C6")
def cdf_fixed(n: np.ndarray, mean_grid: int, scale_idx: np.ndarray, family: str = "gaussian") -> np.ndarray:
    """Integer CDF of the unit family at x / s, x = n / (2M), s = scale_table[scale_idx].

    n:         int64 (...), bin-edge numerators (x in units of 1/(2M)).
    mean_grid: M >= 1.
    scale_idx: int (...), broadcastable with n, in [0, 63].
    Returns int64 (...) in [0, 2**32] (units 2**-32), non-decreasing in n:

        a   = min(|n|, 2M * 2**14)
        T   = (a * inv_scale[s]) // (2M)              |t| in units of 2**-32
        i   = T >> 22 ; w = T & (2**22 - 1)
        G(T)= tab[L-1]                                        if i >= L-1
            = tab[i] + (((tab[i+1] - tab[i]) * w) >> 22)      otherwise
        C   = G(T) if n >= 0 else 2**32 - G(T)
    """
    M = int(mean_grid)
    if not 1 <= M <= MAX_MEAN_GRID:
        raise InputError(f"mean grid M={mean_grid} out of range [1, {MAX_MEAN_GRID}]")
    tab = _table_for(family)
    inv = shipped()["inv_scale"][_check_scale_idx(scale_idx)]
    n = np.asarray(n, dtype=np.int64)
    a = np.minimum(np.abs(n), 2 * M * N_CLAMP_UNITS)
    T = (a * inv) // (2 * M)
    i = T >> SHIFT
    w = T & ((1 << SHIFT) - 1)
    last = tab.shape[0] - 1
    ic = np.minimum(i, last - 1)
    interp = tab[ic] + (((tab[ic + 1] - tab[ic]) * w) >> SHIFT)
    g = np.where(i >= last, tab[last], interp)
    return np.where(n >= 0, g, CDF_ONE - g)


def _check_common(radius: int, mean_grid: int) -> tuple[int, int]:
    R, M = int(radius), int(mean_grid)
    if R < 0 or alphabet_size(R) > MAX_ALPHABET:
        raise InputError(f"radius {radius} out of range")
    if not 1 <= M <= MAX_MEAN_GRID:
        raise InputError(f"mean grid M={mean_grid} out of range [1, {MAX_MEAN_GRID}]")
    return R, M


def _mixture_masses(scale_idx, offset, weight, radius: int, mean_grid: int, family: str) -> np.ndarray:
    """Integer masses (N, K) of a k-component mixture, summing to 2**32 per row.

    scale_idx, offset, weight: int64 (N, k).  offset = component mean in units of 1/M relative
    to the table centre; weight integers sum to 2**16 per row.
        n_ij = 2M(i - R) - M - 2 offset_j          (edge i = 0..2R+1 is x = i - R - 1/2 - offset/M)
        C_i  = (sum_j weight_j * C_j(n_ij)) >> 16
        mass_j = C_{j+1} - C_j (j <= 2R);  mass_esc = C_0 + 2**32 - C_{2R+1}
    """
    R, M = radius, mean_grid
    i = np.arange(2 * R + 2, dtype=np.int64)
    n = 2 * M * (i - R) - M                                    # (E,)
    n = n[None, :, None] - 2 * offset[:, None, :]              # (N, E, k)
    c = cdf_fixed(n, M, scale_idx[:, None, :], family)         # (N, E, k)
    C = (c * weight[:, None, :]).sum(axis=-1) >> WEIGHT_BITS   # (N, E)
    masses = np.empty((C.shape[0], 2 * R + 2), dtype=np.int64)
    masses[:, :-1] = np.diff(C, axis=-1)
    masses[:, -1] = C[:, 0] + CDF_ONE - C[:, -1]
    return masses


def _check_scale_idx(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s)
    if s.dtype.kind not in "iu":
        raise InputError(f"scale indices must be integers, got {s.dtype}")
    s = s.astype(np.int64)
    if s.size and (s.min() < 0 or s.max() >= n_scales()):
        raise InputError(f"scale index out of range [0, {n_scales() - 1}]")
    return s


@implements("core.table_gaussian", "core.table_laplace")
def parametric_tables(scale_idx, mean_frac, *, radius: int, mean_grid: int = 1,
                      family: str = "gaussian") -> np.ndarray:
    """Frequency tables of a discretised Gaussian / Laplace, one per (scale_idx, mean_frac) pair.

    P(r) = F((r + 1/2 - m/M) / s) - F((r - 1/2 - m/M) / s),  r in [-R, R],  escape = tails,
    with F the unit normal / Laplace CDF (shipped, fixed point), s = scale_table[scale_idx],
    m = mean_frac in [0, M).
    scale_idx, mean_frac: int arrays (broadcast together to shape S).
    Returns uint32 (*S, 2R+2).
    """
    R, M = _check_common(radius, mean_grid)
    s, m = np.broadcast_arrays(_check_scale_idx(scale_idx), np.asarray(mean_frac))
    if m.dtype.kind not in "iu" or (m.size and (m.min() < 0 or m.max() >= M)):
        raise InputError(f"mean_frac must be integers in [0, {M})")
    shape = s.shape
    s = s.reshape(-1, 1).astype(np.int64)
    m = m.reshape(-1, 1).astype(np.int64)
    out = np.empty((s.shape[0], 2 * R + 2), dtype=np.uint32)
    rows = max(1, BLOCK_ELEMENTS // (2 * R + 2))
    for a in range(0, s.shape[0], rows):
        b = min(s.shape[0], a + rows)
        out[a:b] = quantize_masses(_mixture_masses(s[a:b], m[a:b], np.full_like(s[a:b], WEIGHT_TOTAL), R, M, family))
    return out.reshape(*shape, 2 * R + 2)


@implements("core.table_gaussian")
def gaussian_table(scale_idx, mean_frac=0, *, radius: int, mean_grid: int = 1) -> np.ndarray:
    """Gaussian tables, see :func:`parametric_tables`."""
    return parametric_tables(scale_idx, mean_frac, radius=radius, mean_grid=mean_grid, family="gaussian")


@implements("core.table_laplace")
def laplace_table(scale_idx, mean_frac=0, *, radius: int, mean_grid: int = 1) -> np.ndarray:
    """Laplace tables (scale = Laplace b), see :func:`parametric_tables`."""
    return parametric_tables(scale_idx, mean_frac, radius=radius, mean_grid=mean_grid, family="laplace")


@implements("core.C5")
@lru_cache(maxsize=16)
def table_set(family: str = "gaussian", radius: int = 1024, mean_grid: int = 1) -> TableSet:
    """All tables of a family: table index = scale_idx * M + mean_frac ([core.C5]).

    Returns TableSet(freqs uint32 (64*M, 2R+2), radius).  Cached; the array is read-only.
    """
    R, M = _check_common(radius, mean_grid)
    if n_scales() * M * alphabet_size(R) > MAX_SET_ENTRIES:
        raise InputError(f"table set of {n_scales() * M} x {alphabet_size(R)} entries is too large "
                         f"(> {MAX_SET_ENTRIES}); use a smaller radius or mean grid")
    s = np.repeat(np.arange(n_scales()), M)
    m = np.tile(np.arange(M), n_scales())
    f = parametric_tables(s, m, radius=R, mean_grid=M, family=family)
    f.setflags(write=False)
    return TableSet(f, R)


@implements("core.table_gmm")
def mixture_tables(scale_idx, mean_idx, weight_int, *, radius: int, mean_grid: int,
                   family: str = "gaussian") -> tuple[TableSet, np.ndarray]:
    """One frequency table per element for a k-component mixture given by integer indices.

    scale_idx:  int (N, k) in [0, 63]          component scale indices ([core.C4])
    mean_idx:   int (N, k)                     component means in units of 1/M ([core.C5])
    weight_int: int (N, k) >= 0, rows sum to 2**16   ([core.C8])
    Returns (TableSet(freqs uint32 (N, 2R+2), R), centre int64 (N,)).
    Table row e codes the residual r = y_e - centre_e, where
        centre = floor(mean_idx[e, j*] / M),  j* = argmax_j weight_int[e, j] (ties: lowest j)
    and P(r) = sum_j w_j/2**16 * [F((r + 1/2 - d_j/M)/s_j) - F((r - 1/2 - d_j/M)/s_j)],
    d_j = mean_idx[e, j] - M * centre, evaluated as in _mixture_masses (integer mixing, >> 16).

    Fast path (same integers, [core.table_gmm_fast]): the component CDFs come from a gather
    into :func:`edge_cdf_table` (:func:`_mixture_masses_gather`) and the quantiser sorts unique
    integer keys (:func:`_largest_remainder_keys`).  The readable twin is
    :func:`mixture_tables_reference`; tests/core/test_tables_fast.py proves them bit-identical.
    """
    R, M = _check_common(radius, mean_grid)
    s, offset, w, centre = _mixture_inputs(scale_idx, mean_idx, weight_int, M)
    gather = M * _edge_table_len(family) <= GATHER_MAX_ENTRIES
    N, k = s.shape
    freqs = np.empty((N, 2 * R + 2), dtype=np.uint32)
    block = FAST_BLOCK_ELEMENTS if gather else BLOCK_ELEMENTS      # small blocks stay in cache
    rows = max(1, block // ((2 * R + 2) * max(k, 1)))              # bound the (rows, E, k) temporaries
    for a in range(0, N, rows):
        b = min(N, a + rows)
        if gather:
            masses = _mixture_masses_gather(s[a:b], offset[a:b], w[a:b], R, M, family)
            freqs[a:b] = _largest_remainder_keys(masses, CDF_BITS)
        else:
            freqs[a:b] = quantize_masses(_mixture_masses(s[a:b], offset[a:b], w[a:b], R, M, family))
    return TableSet(freqs, R), centre


@implements("core.table_gmm")
def mixture_tables_reference(scale_idx, mean_idx, weight_int, *, radius: int, mean_grid: int,
                             family: str = "gaussian") -> tuple[TableSet, np.ndarray]:
    """Readable twin of :func:`mixture_tables` (same arguments, same integers, ~10x slower):
    every component CDF by :func:`cdf_fixed`, masses by :func:`_mixture_masses`, frequencies by
    :func:`quantize_masses`.  This is the normative statement; the fast path must equal it."""
    R, M = _check_common(radius, mean_grid)
    s, offset, w, centre = _mixture_inputs(scale_idx, mean_idx, weight_int, M)
    N, k = s.shape
    freqs = np.empty((N, 2 * R + 2), dtype=np.uint32)
    rows = max(1, BLOCK_ELEMENTS // ((2 * R + 2) * max(k, 1)))
    for a in range(0, N, rows):
        b = min(N, a + rows)
        freqs[a:b] = quantize_masses(_mixture_masses(s[a:b], offset[a:b], w[a:b], R, M, family))
    return TableSet(freqs, R), centre


def _mixture_inputs(scale_idx, mean_idx, weight_int, M: int):
    """Validate (N, k) mixture indices; -> (scale int64, offset int64, weight int64, centre int64 (N,))."""
    s = _check_scale_idx(scale_idx)
    mu = np.asarray(mean_idx)
    w = np.asarray(weight_int)
    if mu.dtype.kind not in "iu" or w.dtype.kind not in "iu":
        raise InputError("mean_idx and weight_int must be integer arrays")
    if s.ndim != 2 or mu.shape != s.shape or w.shape != s.shape:
        raise InputError(f"scale_idx, mean_idx, weight_int must share shape (N, k); got {s.shape}, {mu.shape}, {w.shape}")
    mu = mu.astype(np.int64)
    w = w.astype(np.int64)
    if np.any(w < 0) or np.any(w.sum(axis=-1) != WEIGHT_TOTAL):
        raise InputError("weight_int must be >= 0 with rows summing to 2**16")
    if mu.size and np.abs(mu).max() >= (1 << 40):
        raise InputError("mean index magnitude too large (>= 2**40)")
    j = np.argmax(w, axis=-1)                                 # first maximum
    centre = np.floor_divide(np.take_along_axis(mu, j[:, None], axis=-1)[:, 0], M)
    offset = mu - M * centre[:, None]
    return s, offset, w, centre


# --------------------------------------------------------------------------- fast path
GATHER_MAX_ENTRIES = 1 << 24        # edge_cdf_table larger than this (M > ~230): readable path
FAST_BLOCK_ELEMENTS = 1 << 18       # fast path: (rows, k, E) gathered block size (measured best ~2**18)


def _saturation_u(family: str, mean_grid: int) -> np.ndarray:
    """int64 (64,): U_s such that cdf_fixed(2M u - M - 2f, M, s) is constant for u >= U_s and
    for u <= -U_s, every f in [0, M) (checked in :func:`edge_cdf_table`).

    The CDF saturates (G = tab[L-1]) once T >> 22 >= L - 1, i.e. |n| >= a_sat =
    ceil(((L-1) << 22) * 2M / inv_scale[s]); |n| >= 2M u - 3M + 2 for the edges above.
    """
    M = int(mean_grid)
    L = _table_for(family).shape[0]
    inv = shipped()["inv_scale"]
    a_sat = -(-(((L - 1) << SHIFT) * 2 * M) // inv)
    return (a_sat + 3 * M) // (2 * M) + 1


def _edge_table_len(family: str) -> int:
    return int((2 * _saturation_u(family, 1) + 1).sum()) if family in FAMILIES else 0


@lru_cache(maxsize=8)
def edge_cdf_table(family: str, mean_grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precomputed component CDFs at every bin edge that can differ from saturation.

    Returns (P int64 (sum_s M (2U_s + 1),), base int64 (64,), U int64 (64,)) with
        P[base[s] + f (2U_s + 1) + (u + U_s)] = cdf_fixed(2M u - M - 2f, M, s)
    for s in [0, 64), f in [0, M), u in [-U_s, U_s].  Cached, read-only.
    """
    if family not in FAMILIES:
        raise InputError(f"unknown family {family!r} (expected one of {FAMILIES})")
    M = int(mean_grid)
    U = _saturation_u(family, M)
    width = 2 * U + 1
    base = np.concatenate([[0], np.cumsum(M * width)[:-1]]).astype(np.int64)
    parts = []
    for si in range(U.shape[0]):
        u = np.arange(-U[si], U[si] + 1, dtype=np.int64)
        n = 2 * M * u[None, :] - M - 2 * np.arange(M, dtype=np.int64)[:, None]      # (M, 2U+1)
        c = cdf_fixed(n, M, np.int64(si), family)
        far = cdf_fixed(np.array([[-2 * M * N_CLAMP_UNITS], [2 * M * N_CLAMP_UNITS]]), M, np.int64(si), family)
        if np.any(c[:, 0] != far[0]) or np.any(c[:, -1] != far[1]):   # saturation bound is wrong
            raise RuntimeError(f"edge_cdf_table: scale {si} not saturated at u = +-{U[si]}")
        parts.append(c.ravel())
    P = np.concatenate(parts)
    for a in (P, base, U):
        a.setflags(write=False)
    return P, base, U


@lru_cache(maxsize=8)
def _edge_windows(family: str, mean_grid: int, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`edge_cdf_table` re-laid out for radius R so that every table row is one slice.

    Row (s, f) holds u in [-V_s, V_s], V_s = U_s + 2R + 2 (values beyond +-U_s repeat the
    saturated ends).  Returns (Pw int64 (n_windows, 2R+2) read-only sliding-window view,
    base int64 (64, M) = flat index of u = 0 of row (s, f), U int64 (64,)).
    """
    P, base0, U = edge_cdf_table(family, mean_grid)
    M, R = int(mean_grid), int(radius)
    rows, base = [], np.empty((U.shape[0], M), dtype=np.int64)
    pos = 0
    for si in range(U.shape[0]):
        w0 = 2 * U[si] + 1
        block = P[base0[si]:base0[si] + M * w0].reshape(M, w0)
        pad = 2 * R + 2
        block = np.concatenate([np.repeat(block[:, :1], pad, 1), block, np.repeat(block[:, -1:], pad, 1)], axis=1)
        V = U[si] + pad
        base[si] = pos + V + np.arange(M) * block.shape[1]
        rows.append(block.ravel())
        pos += block.size
    flat = np.concatenate(rows)
    Pw = np.lib.stride_tricks.sliding_window_view(flat, 2 * R + 2)
    base.setflags(write=False)
    return Pw, base, U


def _mixture_masses_gather(scale_idx, offset, weight, radius: int, mean_grid: int, family: str) -> np.ndarray:
    """Same integers as :func:`_mixture_masses`, by gathering from :func:`edge_cdf_table`.

    With offset_j = M q_j + f_j (q = floor(offset / M), f = offset mod M) the edge numerator is
        n_ij = 2M(i - R) - M - 2 offset_j = 2M u - M - 2 f_j,   u = i - R - q_j,
    and beyond |u| = U_s the CDF is constant, so q is clipped to +-(U_s + R + 1) (every u of
    the row stays on the same saturated side) and the 2R + 2 edge CDFs of component j are one
    contiguous slice of the padded table (:func:`_edge_windows`).
    """
    R, M = radius, mean_grid
    Pw, base, U = _edge_windows(family, M, R)
    q = np.floor_divide(offset, M)
    f = offset - M * q
    lim = U[scale_idx] + R + 1
    q = np.clip(q, -lim, lim)
    start = base[scale_idx, f] - R - q                                  # (N, k): flat index of edge i = 0
    c = Pw[start]                                                       # (N, k, E)
    C = c[:, 0, :] * weight[:, :1]
    for j in range(1, c.shape[1]):
        C += c[:, j, :] * weight[:, j:j + 1]
    C >>= WEIGHT_BITS
    masses = np.empty((C.shape[0], 2 * R + 2), dtype=np.int64)
    masses[:, :-1] = np.diff(C, axis=-1)
    masses[:, -1] = C[:, 0] + CDF_ONE - C[:, -1]
    return masses


def _largest_remainder_keys(m: np.ndarray, precision_bits: int) -> np.ndarray:
    """[core.C3] for masses m (N, K) int64 summing to 2**P per row, via unique sort keys.

    Same result as :func:`quantize_masses`: the d largest remainders get +1, ties to the lower
    index.  key_i = rem_i * K + (K - 1 - i) is unique per row and orders exactly as
    (rem desc, index asc); the +1 goes to every key >= the d-th largest key of the row.
    """
    N, K = m.shape
    if not 1 <= K < PROB_TOTAL or precision_bits > 38:
        raise InputError(f"alphabet size {K} / precision {precision_bits} out of range")
    if np.any(m < 0) or np.any(m.sum(axis=-1) != (1 << precision_bits)):
        raise InputError(f"masses must be >= 0 and every row must sum to 2**{precision_bits}")
    p = m * (PROB_TOTAL - K)
    f = 1 + (p >> precision_bits)
    rem = p & ((1 << precision_bits) - 1)
    deficit = PROB_TOTAL - f.sum(axis=-1)                              # (N,) in [0, K)
    key = rem * K + (K - 1 - np.arange(K, dtype=np.int64))
    srt = np.sort(key, axis=-1)                                        # ascending
    thr = srt[np.arange(N), np.maximum(K - deficit, 0) % K]            # d-th largest (d >= 1)
    f = f + ((key >= thr[:, None]) & (deficit[:, None] > 0))
    return f.astype(np.uint32)
