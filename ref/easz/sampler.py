"""Erase masks: the row-based conditional sampler G_r (paper eq. 1), its special cases
and the random-mask baseline (spec/easz.md, easz.1 ... easz.C9).

A mask *template* is a uint8 array ``keep`` of shape (g, g), g = n // b, over the b x b
sub-patches of one n x n patch: ``keep[i, j] == 1`` means sub-patch (i, j) is kept
(squeezed and transmitted), ``0`` means it is erased (easz.C2).  One template serves
every patch of an image (easz.C7).

The sampler draws the **erased** columns of each template row (T of them, easz.C2),
row by row (g_r^0(i) = i), each column uniformly among the *admissible* ones
(the "clipped uniform", easz.row_sampler):

    admissible(i, t+1) = { c in [0, g-1] :
        |c - e| > delta  for every e in E_i          (intra-row, eq. 1;      easz.1)
        |c - p| > Delta  for every p in E_{i-1} }    (inter-row, row i >= 1; easz.inter_row)

where E_i are the columns already erased in row i (all of them, not just the last:
easz.C3).  If no column is admissible the constraints are relaxed in the fixed order
of easz.C6.  The draw is ``rng.bounded(len(A))`` on the ascending list A, with
``rng = Pcg32(seed, EASZ_MASK_STREAM)`` (easz.C5) -- one draw per erased sub-patch,
so a port reproduces every mask bit for bit from (seed, g, T, delta, Delta).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ref.core.errors import InputError
from ref.core.prng import Pcg32
from ref.core.registry import implements

#: PCG stream selector of Easz masks: ASCII "EASZ" = 0x45415A53 (easz.C5).
EASZ_MASK_STREAM = 0x45415A53
#: A distance larger than any column distance in a template ("no constraint yet").
_FAR = 1 << 30
#: Largest template side accepted (a 256 x 256 template is 8 KiB serialised).
MAX_GRID = 256


#: Default thresholds of the encoder (easz.C29): no two erased sub-patches side by side in a
#: row (|c - e| > 1), none directly below an erased one of the previous row (|c - p| > 0).
DEFAULT_DELTA = 1
DEFAULT_INTER_DELTA = 0


@dataclass(frozen=True)
@implements("easz.C29")
class SamplerConfig:
    """Parameters of G_r on a g x g template.

    g:      template side = n // b (sub-patches per patch row), 1 <= g <= 256.
    T:      erased sub-patches per template row, 0 <= T <= g - 1 (easz.C2).
    delta:  intra-row threshold (eq. 1), strict ``>``; >= 0 (0 = only "not the same column").
    Delta:  inter-row threshold, strict ``>``; >= -1 (-1 disables the inter-row constraint).
    """

    g: int
    T: int
    delta: int = DEFAULT_DELTA
    Delta: int = DEFAULT_INTER_DELTA

    def __post_init__(self) -> None:
        for name in ("g", "T", "delta", "Delta"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise InputError(f"sampler {name} must be an integer, got {v!r}")
        if not 1 <= self.g <= MAX_GRID:
            raise InputError(f"sampler grid g={self.g} must be in [1, {MAX_GRID}]")
        if not 0 <= self.T <= self.g - 1:
            raise InputError(f"T={self.T} erased per row must be in [0, g-1={self.g - 1}] (at least one kept)")
        if self.delta < 0:
            raise InputError(f"delta={self.delta} must be >= 0")
        if self.Delta < -1:
            raise InputError(f"Delta={self.Delta} must be >= -1 (-1 = no inter-row constraint)")


# --------------------------------------------------------------------------- constraints
@implements("easz.1", "easz.C3", "easz.C4")
def intra_row_ok(c: int, erased_in_row: list[int] | np.ndarray, delta: int) -> bool:
    """Intra-row constraint, paper eq. 1 (against ALL earlier samples of the row, easz.C3):

        |c - g_r^1(i, s)| > delta   for s = 0..t

    c: candidate column; erased_in_row: columns already erased in row i; delta >= 0.
    """
    return all(abs(int(c) - int(e)) > delta for e in erased_in_row)


@implements("easz.inter_row", "easz.C3", "easz.C4")
def inter_row_ok(c: int, erased_prev_row: list[int] | np.ndarray | None, Delta: int) -> bool:
    """Inter-row constraint (against ALL samples of row i-1, easz.C3; none for row 0, easz.C4):

        |c - g_r^1(i-1, s)| > Delta   for s = 0..T-1

    erased_prev_row: columns erased in the previous template row, or None for row 0.
    """
    if erased_prev_row is None:
        return True
    return all(abs(int(c) - int(p)) > Delta for p in erased_prev_row)


@implements("easz.C6")
def relaxation_schedule(delta: int, Delta: int) -> list[tuple[int, int]]:
    """Constraint levels tried in order when a column is drawn (easz.C6):

        (delta, Delta), (delta, Delta-1), ..., (delta, -1),      # relax inter-row first
        (delta-1, -1), ..., (0, -1)                              # then intra-row

    The first level with a non-empty admissible set is used.  (0, -1) admits every
    column not yet erased in the row, which is non-empty because T <= g - 1.
    """
    levels = [(delta, D) for D in range(Delta, -2, -1)]
    levels += [(d, -1) for d in range(delta - 1, -1, -1)]
    return levels


@implements("easz.row_sampler", "easz.C5", "easz.C6")
def sample_erased_columns(cfg: SamplerConfig, rng: Pcg32) -> tuple[list[list[int]], list[list[tuple[int, int]]]]:
    """Run G_r = { g_r^0(i) = i, g_r^1(i, t+1) ~ clip(Uniform(0, g-1)) s.t. eq. 1 and inter-row }.

    For i = 0..g-1, t = 0..T-1:
        A = ascending admissible columns at the first non-empty level of
            relaxation_schedule(delta, Delta)  (row 0: no inter-row constraint)
        c = A[rng.bounded(len(A))]              (exactly one bounded draw per sample)
    Returns (erased, levels): erased[i] = row i's erased columns in draw order;
    levels[i][t] = the (delta', Delta') level the t-th sample was drawn at.
    ``rng`` is advanced (it is the only state; pass a fresh Pcg32 for reproducibility).

    Plain Python integers on purpose: g <= 256 columns, and this is what a port writes.
    """
    g = cfg.g
    schedule = relaxation_schedule(cfg.delta, cfg.Delta)
    erased: list[list[int]] = []
    levels: list[list[tuple[int, int]]] = []
    cols = range(g)
    dist_prev = [_FAR] * g  # row 0: nothing above (easz.C4)
    for _i in range(g):
        row: list[int] = []
        row_levels: list[tuple[int, int]] = []
        dist_row = [_FAR] * g  # min distance to this row's erased columns so far
        for _t in range(cfg.T):
            for d, D in schedule:
                adm = [c for c in cols if dist_row[c] > d and dist_prev[c] > D]
                if adm:
                    break
            c = adm[rng.bounded(len(adm))]
            row.append(c)
            row_levels.append((d, D))
            dist_row = [min(dr, abs(x - c)) for x, dr in zip(cols, dist_row)]
        erased.append(row)
        levels.append(row_levels)
        dist_prev = dist_row  # = min distance to every erased column of this row
    return erased, levels


@implements("easz.C2")
def erased_to_keep(erased: list[list[int]], g: int) -> np.ndarray:
    """keep (g, g) uint8: 0 at erased (i, c), 1 elsewhere."""
    keep = np.ones((g, g), dtype=np.uint8)
    for i, row in enumerate(erased):
        keep[i, row] = 0
    return keep


@implements("easz.row_sampler", "easz.C5")
def row_sampler_mask(cfg: SamplerConfig, seed: int) -> np.ndarray:
    """The keep template (g, g) uint8 of G_r from ``Pcg32(seed, EASZ_MASK_STREAM)``."""
    erased, _ = sample_erased_columns(cfg, Pcg32(seed, EASZ_MASK_STREAM))
    return erased_to_keep(erased, cfg.g)


@implements("easz.random_mask")
def random_mask(g: int, T: int, seed: int) -> np.ndarray:
    """Random-mask baseline (easz.random_mask): in each row, T distinct columns erased
    uniformly at random -- G_r with delta = 0, Delta = -1 (no spacing constraints), so it
    squeezes exactly like the proposed sampler and costs the same inner-codec area."""
    return row_sampler_mask(SamplerConfig(g=g, T=T, delta=0, Delta=-1), seed)


# --------------------------------------------------------------------------- special cases
@implements("easz.diagonal")
def diagonal_mask(g: int, shift: int = 0) -> np.ndarray:
    """Diagonal mask (paper Fig. 2b; T = 1): erased (i, (i + shift) mod g), kept elsewhere.

    A member of the support of G_r(T=1, delta=0, Delta=0): one erased per row, never
    directly below the previous row's (|c_i - c_{i-1}| = 1 > 0, or g-1 at the wrap)."""
    if not 2 <= g <= MAX_GRID:
        raise InputError(f"diagonal mask needs 2 <= g <= {MAX_GRID}, got {g}")
    keep = np.ones((g, g), dtype=np.uint8)
    i = np.arange(g)
    keep[i, (i + shift) % g] = 0
    return keep


@implements("easz.sr2x")
def sr2x_mask(g: int, phase: int = 0) -> np.ndarray:
    """2x super-resolution pattern (b = 1, T = g/2): a checkerboard (quincunx).

        keep[i, j] = 1  iff  (i + j + phase) is even

    Erased columns of a row are two apart (|c - e| = 2 > delta = 1) and never below an
    erased pixel of the previous row (|c - p| >= 1 > Delta = 0): the unique-up-to-phase
    member of G_r(T=g/2, delta=1, Delta=0) with every row alternating."""
    if g < 2 or g % 2 or g > MAX_GRID:
        raise InputError(f"2x-SR pattern needs an even g in [2, {MAX_GRID}], got {g}")
    i, j = np.indices((g, g))
    return ((i + j + phase) % 2 == 0).astype(np.uint8)


# --------------------------------------------------------------------------- checks
def constraint_violations(keep: np.ndarray, delta: int, Delta: int) -> int:
    """Number of erased (i, c) violating eq. 1 (pairwise within the row) or the inter-row
    constraint (against every erased column of row i-1).  0 for a valid mask."""
    keep = np.asarray(keep)
    bad = 0
    prev: list[int] | None = None
    for i in range(keep.shape[0]):
        cols = [int(c) for c in np.flatnonzero(keep[i] == 0)]
        for a_idx, a in enumerate(cols):
            if not intra_row_ok(a, cols[:a_idx] + cols[a_idx + 1:], delta):
                bad += 1
            elif not inter_row_ok(a, prev, Delta):
                bad += 1
        prev = cols
    return bad


@implements("easz.C8")
def erase_ratio_to_T(ratio: float | str | Fraction, g: int) -> int:
    """Erase ratio R -> erased per row T (easz.C8):

        T = floor(R * g + 1/2)     computed exactly on the decimal value of R

    Requires 0 <= R < 1 and T <= g - 1 (at least one kept sub-patch per row);
    the effective erase ratio is T / g."""
    try:
        r = Fraction(str(ratio)) if not isinstance(ratio, Fraction) else ratio
    except (ValueError, ZeroDivisionError) as exc:
        raise InputError(f"erase ratio {ratio!r} is not a number") from exc
    if not 0 <= r < 1:
        raise InputError(f"erase ratio {ratio} must be in [0, 1)")
    T = int((r * g + Fraction(1, 2)) // 1)
    if T > g - 1:
        raise InputError(f"erase ratio {ratio} needs T={T} of g={g} erased per row; at most {g - 1} (use a "
                         "smaller ratio or a smaller sub-patch)")
    return T
