"""Efficient coding Group Rearrangement, EGR ([ecf.egr]).

The 2 N_cs coding groups (ref.ecf.masks) are packed into a tensor with one slot per group:

    r_hat[b, t, h, w', :] = s_hat[b, i, h, 2 w' + ((h + pi) mod 2), :],   (i, pi) = group_of(t)

(r_hat in R^{2N_cs x H x W/2 x p_cs}, paper Sec. III-C): row h of group (i, pi) keeps the W/2
columns w with (h + w) mod 2 = pi, in increasing order.  Windows of K x K/2 on the packed
grid cover exactly the elements of K x K windows of the unpacked grid (window origins are
even), and a cyclic shift of (K/2, K/4) packed = (K/2, K/2) unpacked when K mod 4 = 0, so
attention with relative positions taken in *unpacked* coordinates ([ecf.C5]) gives the same
result in both layouts (tests/ecf/test_equivalence.py).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.ecf.masks import group_index, group_of


def _columns(H: int, W: int, parity) -> np.ndarray:
    """int64 (H, W/2): unpacked column of packed (h, w') for a group of parity pi."""
    h = np.arange(H)[:, None]
    return 2 * np.arange(W // 2)[None, :] + (h + np.asarray(parity)) % 2


@implements("ecf.egr")
def egr_pack(s, order: str = "sfo"):
    """Segments (B, N_cs, H, W, d) -> group slots (B, 2 N_cs, H, W/2, d) (NumPy or JAX).

    Slot t holds group t of the coding order; W must be even.
    """
    B, n, H, W, d = s.shape
    if W % 2:
        raise InputError(f"EGR needs an even latent width, got W = {W}")
    slots = []
    for t in range(2 * n):
        i, pi = (int(v) for v in group_of(t, n, order))
        cols = _columns(H, W, pi)
        slots.append(s[:, i, np.arange(H)[:, None], cols])          # (B, H, W/2, d)
    xp = np if isinstance(s, np.ndarray) else jnp
    return xp.stack(slots, axis=1)


@implements("ecf.egr")
def egr_unpack(r, n_cs: int, order: str = "sfo"):
    """Inverse of :func:`egr_pack`: (B, T, H, W/2, d) -> (B, N_cs, H, W, d), T = 2 N_cs.

    With T < 2 N_cs (fewer slots, e.g. the SFG sequence) the missing groups' elements are 0.
    """
    B, T, H, W2, d = r.shape
    n = int(n_cs)
    W = 2 * W2
    gi = np.full((n, H, W), -1, dtype=np.int64)       # slot feeding each unpacked element
    wi = np.zeros((n, H, W), dtype=np.int64)
    for t in range(T):
        i, pi = (int(v) for v in group_of(t, n, order))
        cols = _columns(H, W, pi)
        gi[i, np.arange(H)[:, None], cols] = t
        wi[i, np.arange(H)[:, None], cols] = np.arange(W2)[None, :]
    xp = np if isinstance(r, np.ndarray) else jnp
    hh = np.broadcast_to(np.arange(H)[None, :, None], (n, H, W))
    out = r[:, np.maximum(gi, 0), hh, wi]                               # (B, n, H, W, d)
    return xp.where(xp.asarray(gi >= 0)[None, ..., None], out, 0)


@implements("ecf.egr", "ecf.C5")
def egr_window_coords(n_cs: int, K: int, order: str = "sfo", n_slots: int | None = None) -> np.ndarray:
    """int64 (T K K/2, 4): per token of a packed K x K/2 window, in token order (t, a, b'):
    (slot t, segment i, row a, unpacked column b = 2 b' + (a + pi) mod 2) inside the window."""
    n = int(n_cs)
    T = 2 * n if n_slots is None else int(n_slots)
    t, a, b2 = np.meshgrid(np.arange(T), np.arange(K), np.arange(K // 2), indexing="ij")
    i, pi = group_of(t, n, order)
    return np.stack([t, i, a, 2 * b2 + (a + pi) % 2], axis=-1).reshape(-1, 4)


def plain_window_coords(n_cs: int, K: int, order: str = "sfo") -> np.ndarray:
    """int64 (N_cs K K, 4): per token of an unpacked K x K window, token order (i, a, b):
    (slot = group_index(i, (a + b) mod 2), segment i, row a, column b)."""
    i, a, b = np.meshgrid(np.arange(int(n_cs)), np.arange(K), np.arange(K), indexing="ij")
    g = group_index(i, (a + b) % 2, n_cs, order)
    return np.stack([g, i, a, b], axis=-1).reshape(-1, 4)
