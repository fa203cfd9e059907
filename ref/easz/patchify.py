"""Two-stage patchify (paper III-B) and padding (easz.patchify, easz.C1, easz.C11).

Stage 1: an (H, W, C) image with H, W multiples of n -> P = (H/n)(W/n) patches (n, n, C),
in row-major patch order.  Stage 2: each patch -> g*g sub-patches of (b, b, C), g = n/b,
row-major over the g x g grid; a sub-patch token is its (b, b, C) pixels flattened
row-major (length b*b*C).  Erasure, squeeze and reconstruction work on sub-patches
(easz.C1).  Images whose H or W is not a multiple of n are first padded at the bottom
and right by edge replication, and the decoder crops back (easz.C11).
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements


def check_geometry(n: int, b: int) -> int:
    """Validate patch side n and sub-patch side b; return g = n // b."""
    for name, v in (("patch size n", n), ("sub-patch size b", b)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if n % b:
        raise InputError(f"patch size n={n} must be a multiple of sub-patch size b={b}")
    if n > 1024:
        raise InputError(f"patch size n={n} > 1024")
    g = n // b
    if g < 2:
        raise InputError(f"n/b = {g}: a patch needs at least 2 x 2 sub-patches")
    return g


@implements("easz.C11")
def pad_to_multiple(img: np.ndarray, n: int) -> np.ndarray:
    """Edge-replicate pad (H, W, C) at the bottom/right to (ceil(H/n) n, ceil(W/n) n, C):

        out[y, x] = img[min(y, H-1), min(x, W-1)]
    """
    h, w = img.shape[:2]
    ph, pw = (-h) % n, (-w) % n
    if ph == 0 and pw == 0:
        return img
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="edge")


@implements("easz.C11")
def crop(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Undo :func:`pad_to_multiple`: the top-left (height, width) region."""
    return img[:height, :width]


@implements("easz.patchify")
def patchify(img: np.ndarray, n: int) -> np.ndarray:
    """Stage 1: (H, W, C) -> (P, n, n, C), patch p = (p // (W/n), p % (W/n)) row-major."""
    h, w, c = img.shape
    if h % n or w % n:
        raise InputError(f"image {h}x{w} is not a multiple of n={n} (pad first)")
    return img.reshape(h // n, n, w // n, n, c).transpose(0, 2, 1, 3, 4).reshape(-1, n, n, c)


@implements("easz.patchify")
def unpatchify(patches: np.ndarray, height: int, width: int) -> np.ndarray:
    """Inverse of :func:`patchify`: (P, n, n, C) -> (height, width, C)."""
    p, n, _, c = patches.shape
    return patches.reshape(height // n, width // n, n, n, c).transpose(0, 2, 1, 3, 4).reshape(height, width, c)


@implements("easz.patchify")
def subpatchify(patches: np.ndarray, b: int) -> np.ndarray:
    """Stage 2: (P, n, n, C) -> tokens (P, g*g, b*b*C); token k = sub-patch (k // g, k % g),
    its pixels flattened in (row, column, channel) order."""
    p, n, _, c = patches.shape
    g = n // b
    return patches.reshape(p, g, b, g, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(p, g * g, b * b * c)


@implements("easz.patchify")
def unsubpatchify(tokens: np.ndarray, n: int, b: int, channels: int) -> np.ndarray:
    """Inverse of :func:`subpatchify`: (P, g*g, b*b*C) -> (P, n, n, C)."""
    p = tokens.shape[0]
    g = n // b
    return tokens.reshape(p, g, g, b, b, channels).transpose(0, 1, 3, 2, 4, 5).reshape(p, n, n, channels)


@implements("easz.C1", "easz.C7")
def pixel_keep(keep: np.ndarray, n: int, b: int, height: int, width: int) -> np.ndarray:
    """Per-pixel keep mask (height, width) bool of a template applied to every patch (easz.C7):

        K[y, x] = keep[(y mod n) // b, (x mod n) // b]
    """
    tile = np.kron(np.asarray(keep, dtype=bool), np.ones((b, b), dtype=bool))
    return np.tile(tile, (height // n, width // n))
