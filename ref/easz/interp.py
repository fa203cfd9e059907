"""Model-free fill of erased sub-patches (easz.C16): row/column linear interpolation.

Used by the codec as its ``--recon interp`` reconstruction (:func:`interpolate`, over the
whole image), and, patch by patch (:func:`interpolate_per_patch`), by the reconstruction
model as the base its output corrects (easz.C28).
"""

from __future__ import annotations

import numpy as np

from ref.core.registry import implements


def _linear_along(x: np.ndarray, keep: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of x (H, W, C) float64 along ``axis`` between the nearest kept
    pixels before and after (nearest kept one at the ends).  Returns (estimate, ok) where
    ok (H, W) is False on lines with no kept pixel."""
    length = keep.shape[axis]
    shape = [1, 1]
    shape[axis] = length
    idx = np.arange(length).reshape(shape)
    prev = np.maximum.accumulate(np.where(keep, idx, -1), axis=axis)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(keep, idx, length), axis=axis), axis=axis), axis=axis)
    has_p, has_n = prev >= 0, nxt < length
    p = np.clip(prev, 0, length - 1)
    q = np.clip(nxt, 0, length - 1)
    other = np.arange(keep.shape[1 - axis]).reshape([-1, 1] if axis == 1 else [1, -1])
    xp = x[other, p] if axis == 1 else x[p, other]   # (H, W, C): the kept pixel before
    xq = x[other, q] if axis == 1 else x[q, other]   # and after, along ``axis``
    both = has_p & has_n & (q > p)
    span = np.where(both, q - p, 1).astype(np.float64)
    t = np.where(both, (idx - p) / span, np.where(has_p, 0.0, 1.0))[:, :, None]
    est = xp + t * (xq - xp)
    return est, has_p | has_n


@implements("easz.C16")
def interpolate(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Model-free reconstruction (easz.C16): for an erased pixel, the mean of the available
    linear interpolations along its row and along its column between the nearest kept
    pixels (nearest kept pixel at the ends); kept pixels unchanged.

    image: (H, W, C) float (erased = anything); keep: (H, W) bool.  Returns float64.
    """
    x = np.asarray(image, dtype=np.float64)
    eh, okh = _linear_along(x, keep, axis=1)
    ev, okv = _linear_along(x, keep, axis=0)
    both = (okh & okv)[:, :, None]
    est = np.where(both, 0.5 * (eh + ev), np.where(okh[:, :, None], eh, ev))
    return np.where(keep[:, :, None], x, est)


@implements("easz.C28")
def interpolate_per_patch(image: np.ndarray, keep: np.ndarray, n: int) -> np.ndarray:
    """The residual model's base B (easz.C28): :func:`interpolate` applied to every n x n
    patch on its own, so that no pixel of another patch enters a patch's base

        B[P] = interpolate(image[P], keep[P])      for every n x n patch P of the grid

    image: (H, W, C) float (erased = anything); keep: (H, W) bool; H, W multiples of n.
    Returns float64 (H, W, C).
    """
    x = np.asarray(image, dtype=np.float64)
    h, w = keep.shape
    if h % n or w % n:
        raise ValueError(f"{h}x{w} is not a multiple of the patch side {n}")
    out = np.empty_like(x)
    for y0 in range(0, h, n):
        for x0 in range(0, w, n):
            out[y0:y0 + n, x0:x0 + n] = interpolate(x[y0:y0 + n, x0:x0 + n], keep[y0:y0 + n, x0:x0 + n])
    return out
