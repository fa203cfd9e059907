"""Squeeze and unsqueeze (paper III-A; easz.squeeze, easz.unsqueeze, easz.C10).

With K the per-pixel keep mask of a template (every template row keeps k = g - T
sub-patches, so every image row keeps the same number W' = W k / g of pixels):

    X_sq[y, j] = X[y, x_j(y)]        x_0(y) < x_1(y) < ... : the columns with K[y, x] = 1

i.e. each image row keeps its kept pixels in left-to-right order (easz.C10); the squeezed
image is (H, W k / g, C) -- a plain image any inner codec takes.  Unsqueeze puts them
back and leaves erased pixels at 0.

The fast path (:func:`copy_geometry`) copies, for each template row r, each maximal run
of kept sub-patch columns as ONE strided array of memcpy blocks covering every patch and
every pixel row of that band: no per-pixel Python loop, one NumPy assignment per run, the
offsets/strides computed once per (template, image size).  The cost is bounded by the
number of blocks (about one per erased sub-patch per pixel row), not by the pixel count.
:func:`squeeze_reference` is the literal formula, used by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.easz.patchify import pixel_keep


def _runs(cols: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs [s, e) of consecutive integers in ascending ``cols``."""
    out: list[tuple[int, int]] = []
    for c in cols.tolist():
        if out and out[-1][1] == c:
            out[-1] = (out[-1][0], c + 1)
        else:
            out.append((c, c + 1))
    return out


@dataclass(frozen=True)
class SqueezePlan:
    """Copy plan of one template: runs[r] = ((src_s, src_e, dst_s), ...) in sub-patch units.

    keep: (g, g) uint8 template; n, b: patch / sub-patch side; k: kept per row.
    """

    n: int
    b: int
    g: int
    k: int
    runs: tuple[tuple[tuple[int, int, int], ...], ...]

    @staticmethod
    def build(keep: np.ndarray, n: int, b: int) -> "SqueezePlan":
        keep = np.asarray(keep)
        g = n // b
        if keep.shape != (g, g):
            raise InputError(f"mask shape {keep.shape} does not match n/b = {g}")
        counts = keep.sum(axis=1)
        if not np.all(counts == counts[0]) or counts[0] < 1:
            raise InputError("every mask row must keep the same number (>= 1) of sub-patches")
        runs = []
        for r in range(g):
            dst = 0
            row = []
            for s, e in _runs(np.flatnonzero(keep[r])):
                row.append((s, e, dst))
                dst += e - s
            runs.append(tuple(row))
        return SqueezePlan(n, b, g, int(counts[0]), tuple(runs))


@lru_cache(maxsize=256)
def copy_geometry(plan: SqueezePlan, h: int, w: int, c: int, size: int) -> tuple:
    """Every block copy of a squeeze of an (h, w, c) image of ``size``-byte pixels, as
    (dtype, shape, full_offset, full_strides, packed_offset, packed_strides): the block is
    the array of void(dtype.itemsize) items at that byte offset/strides in X resp. X_sq.

    The b pixel rows of one band of one patch row are contiguous in both images, as
    nseg = b*w/n consecutive *segments* (one patch row each: g*su bytes in X, k*su in X_sq,
    su = b*c*size).  A run of kept sub-patches is one item per segment, for all segments
    (stride one segment) and all patch rows (stride n pixel rows).  When a template row keeps
    its first and its last sub-patch, the last run of segment q and the first run of segment
    q+1 are adjacent in both images and move as ONE item ("wrapped", segments 0..nseg-2),
    plus a head piece (segment 0) and a tail piece (last segment).
    """
    n, b, g, k = plan.n, plan.b, plan.g, plan.k
    su = b * c * size
    fseg, pseg = g * su, k * su                 # segment bytes in X, in X_sq
    frow, prow = w * c * size, w // g * k * c * size   # pixel-row bytes in X, in X_sq
    ph, nseg = h // n, b * w // n
    fs2, ps2 = (n * frow, fseg), (n * prow, pseg)      # strides: patch row, segment
    void = lambda nbytes: np.dtype((np.void, nbytes))  # noqa: E731
    out = []
    for r, runs in enumerate(plan.runs):
        fb, pb = r * b * frow, r * b * prow     # band r of patch row 0
        wrap = len(runs) >= 2 and runs[0][0] == 0 and runs[-1][1] == g and nseg > 1
        for s, e, o in (runs[1:-1] if wrap else runs):
            out.append((void((e - s) * su), (ph, nseg), fb + s * su, fs2, pb + o * su, ps2))
        if wrap:
            (_, e0, _), (sm, _, om) = runs[0], runs[-1]
            out.append((void((g - sm + e0) * su), (ph, nseg - 1), fb + sm * su, fs2, pb + om * su, ps2))
            out.append((void(e0 * su), (ph,), fb, fs2[:1], pb, ps2[:1]))
            out.append((void((g - sm) * su), (ph,), fb + (nseg - 1) * fseg + sm * su, fs2[:1],
                        pb + (nseg - 1) * pseg + om * su, ps2[:1]))
    return tuple(out)


@implements("easz.squeeze", "easz.C10")
def squeeze(img: np.ndarray, plan: SqueezePlan) -> np.ndarray:
    """X (H, W, C), H and W multiples of n -> X_sq (H, W*k/g, C), same dtype.

    The formula (easz.squeeze), in one line:

        X_sq[y] = X[y, K[y]]        K = the per-pixel keep mask (easz.C7), kept columns in order

    which is :func:`squeeze_reference`; this function computes the same array
    (tests/easz/test_mask_patchify_squeeze.py::test_property_squeeze_matches_formula_and_unsqueeze_is_identity_on_kept
    and tests/easz/test_squeeze_twin.py).  How: for every template row r and kept run
    [s, e) -> [o, o + e - s) of sub-patch columns,

        X_sq[band r of every patch, o*b : (o+e-s)*b] = X[band r, s*b : e*b]   (all patches)

    done as one strided block copy per run (:func:`copy_geometry` gives the byte offsets and
    strides of those blocks).
    """
    img = np.ascontiguousarray(img)
    h, w, c = img.shape
    n, g, k = plan.n, plan.g, plan.k
    if h % n or w % n:
        raise InputError(f"image {h}x{w} is not a multiple of n={n} (pad first)")
    out = np.empty((h, w // g * k, c), dtype=img.dtype)
    for dt, shape, fo, fs, po, ps in copy_geometry(plan, h, w, c, img.dtype.itemsize):
        np.ndarray(shape, dt, out, po, ps)[...] = np.ndarray(shape, dt, img, fo, fs)
    return out


@implements("easz.unsqueeze", "easz.C10")
def unsqueeze(sq: np.ndarray, plan: SqueezePlan, width: int) -> np.ndarray:
    """X_sq (H, W*k/g, C) -> X (H, W, C) with erased pixels 0 (inverse copy of :func:`squeeze`):

        X[y, K[y]] = X_sq[y];   X[y, x] = 0 where K[y, x] = 0

    which is :func:`unsqueeze_reference` (tests/easz/test_squeeze_twin.py).
    """
    sq = np.ascontiguousarray(sq)
    h, ws, c = sq.shape
    n, g, k = plan.n, plan.g, plan.k
    if width % n or h % n or ws * g != width * k:
        raise InputError(f"squeezed image {h}x{ws} does not match width {width} with n={n}, kept {k}/{g}")
    out = np.zeros((h, width, c), dtype=sq.dtype)
    for dt, shape, fo, fs, po, ps in copy_geometry(plan, h, width, c, sq.dtype.itemsize):
        np.ndarray(shape, dt, out, fo, fs)[...] = np.ndarray(shape, dt, sq, po, ps)
    return out


@implements("easz.squeeze")
def squeeze_reference(img: np.ndarray, keep: np.ndarray, n: int, b: int) -> np.ndarray:
    """The literal formula X_sq[y] = X[y, K[y]] (slow, for tests and porters)."""
    h, w, c = img.shape
    K = pixel_keep(keep, n, b, h, w)
    return np.stack([img[y, K[y]] for y in range(h)])


@implements("easz.unsqueeze")
def unsqueeze_reference(sq: np.ndarray, keep: np.ndarray, n: int, b: int, width: int) -> np.ndarray:
    """The literal formula X[y, K[y]] = X_sq[y], 0 elsewhere (slow, for tests and porters)."""
    h, _, c = sq.shape
    K = pixel_keep(keep, n, b, h, width)
    out = np.zeros((h, width, c), sq.dtype)
    for y in range(h):
        out[y, K[y]] = sq[y]
    return out
