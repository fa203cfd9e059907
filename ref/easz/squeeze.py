"""Squeeze and unsqueeze (paper III-A; easz.squeeze, easz.unsqueeze, easz.C10).

With K the per-pixel keep mask of a template (every template row keeps k = g - T
sub-patches, so every image row keeps the same number W' = W k / g of pixels):

    X_sq[y, j] = X[y, x_j(y)]        x_0(y) < x_1(y) < ... : the columns with K[y, x] = 1

i.e. each image row keeps its kept pixels in left-to-right order (easz.C10); the squeezed
image is (H, W k / g, C) -- a plain image any inner codec takes.  Unsqueeze puts them
back and leaves erased pixels at 0.

The fast path copies, for each template row r, each maximal run of kept sub-patch
columns as ONE strided block covering every patch and every pixel row of that band (no
per-pixel Python loop; one NumPy copy per run).  :func:`squeeze_reference` is the
literal formula, used by the tests.
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


def _band_views(img: np.ndarray, n: int, b: int, g: int) -> np.ndarray:
    """(H, W, C') -> (H/n, g, b*(W/n), n*C') view: [patch row, template row, pixel row within
    the band x patch column, bytes of one patch row].  Valid because a row's stride W*C is
    (W/n) * n*C, so (b, W/n) merge into one axis."""
    h, w, c = img.shape
    return img.reshape(h // n, g, b * (w // n), n * c)


@lru_cache(maxsize=64)
def _copies(plan: SqueezePlan, c: int, itemsize: int) -> tuple[tuple[int, int, int, np.dtype], ...]:
    """Per run: (template row r, source byte offset, destination byte offset, block dtype)
    within one patch row of a band (source rows are n*C*itemsize bytes, destination k*b*C)."""
    su = plan.b * c * itemsize
    return tuple((r, s * su, o * su, np.dtype((np.void, (e - s) * su)))
                 for r, runs in enumerate(plan.runs) for s, e, o in runs)


@implements("easz.squeeze", "easz.C10")
def squeeze(img: np.ndarray, plan: SqueezePlan) -> np.ndarray:
    """X (H, W, C), H and W multiples of n -> X_sq (H, W*k/g, C), same dtype.

    For every template row r and kept run [s, e) -> [o, o + e - s):
        X_sq[band r of every patch, o*b : (o+e-s)*b] = X[band r, s*b : e*b]   (all patches)
    """
    img = np.ascontiguousarray(img)
    h, w, c = img.shape
    n, b, g, k = plan.n, plan.b, plan.g, plan.k
    if h % n or w % n:
        raise InputError(f"image {h}x{w} is not a multiple of n={n} (pad first)")
    out = np.empty((h, w // g * k, c), dtype=img.dtype)
    size = img.dtype.itemsize
    src = _band_views(img.view(np.uint8), n, b, g)  # bytes: (H/n, g, b*W/n, n*C*size)
    dst = out.view(np.uint8).reshape(h // n, g, b * (w // n), k * b * c * size)
    for r, s, o, vt in _copies(plan, c, size):
        dst[:, r, :, o:o + vt.itemsize].view(vt)[...] = src[:, r, :, s:s + vt.itemsize].view(vt)
    return out


@implements("easz.unsqueeze", "easz.C10")
def unsqueeze(sq: np.ndarray, plan: SqueezePlan, width: int) -> np.ndarray:
    """X_sq (H, W*k/g, C) -> X (H, W, C) with erased pixels 0 (inverse copy of :func:`squeeze`):

        X[y, x_j(y)] = X_sq[y, j];   X[y, x] = 0 where K[y, x] = 0
    """
    sq = np.ascontiguousarray(sq)
    h, ws, c = sq.shape
    n, b, g, k = plan.n, plan.b, plan.g, plan.k
    if width % n or h % n or ws * g != width * k:
        raise InputError(f"squeezed image {h}x{ws} does not match width {width} with n={n}, kept {k}/{g}")
    out = np.zeros((h, width, c), dtype=sq.dtype)
    size = sq.dtype.itemsize
    dst = _band_views(out.view(np.uint8), n, b, g)
    src = sq.view(np.uint8).reshape(h // n, g, b * (width // n), k * b * c * size)
    for r, s, o, vt in _copies(plan, c, size):
        dst[:, r, :, s:s + vt.itemsize].view(vt)[...] = src[:, r, :, o:o + vt.itemsize].view(vt)
    return out


@implements("easz.squeeze")
def squeeze_reference(img: np.ndarray, keep: np.ndarray, n: int, b: int) -> np.ndarray:
    """The literal formula X_sq[y] = X[y, K[y]] (slow, for tests and porters)."""
    h, w, c = img.shape
    K = pixel_keep(keep, n, b, h, w)
    return np.stack([img[y, K[y]] for y in range(h)])
