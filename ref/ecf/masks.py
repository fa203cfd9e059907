"""Coding groups of the latent: checkered x channel-segment grouping ([ecf.groups], [ecf.C1]).

A latent of N_cs channel segments on an H x W grid is split into 2 N_cs groups
G(i, pi) = { (i, h, w) : parity(h, w) = pi },   i = channel segment, pi in {0, 1}

    parity(h, w) = (h + w) mod 2          pi = 0: anchor  ([ecf.C1]: (0, 0) is an anchor)

and the groups are coded one after the other in one of two orders ([ecf.groups]):

    sfo (spatial first):  g(i, pi) = 2 i + pi         (both halves of segment i, then i + 1)
    cfo (channel first):  g(i, pi) = pi N_cs + i      (all anchors, then all non-anchors)

Every function here is plain integer NumPy; masks are data (style: Swin's reference code).
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

ORDERS = ("sfo", "cfo")


def _check(n_cs: int, order: str) -> None:
    if int(n_cs) < 1:
        raise InputError(f"N_cs must be >= 1, got {n_cs}")
    if order not in ORDERS:
        raise InputError(f"coding order {order!r} not one of {ORDERS}")


@implements("ecf.C1")
def checkerboard_parity(H: int, W: int) -> np.ndarray:
    """int64 (H, W): parity(h, w) = (h + w) mod 2; 0 = anchor (coded first), 1 = non-anchor."""
    return (np.arange(H)[:, None] + np.arange(W)[None, :]) % 2


@implements("ecf.groups")
def group_index(segment, parity, n_cs: int, order: str = "sfo"):
    """Coding-group index g of (channel segment i, parity pi) ([ecf.groups]).

    segment: int array in [0, N_cs); parity: int array in {0, 1} (broadcastable).
    Returns int64: sfo -> 2 i + pi;  cfo -> pi N_cs + i.
    """
    _check(n_cs, order)
    i = np.asarray(segment, dtype=np.int64)
    p = np.asarray(parity, dtype=np.int64)
    return 2 * i + p if order == "sfo" else p * int(n_cs) + i


@implements("ecf.groups")
def group_of(g, n_cs: int, order: str = "sfo") -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`group_index`: g in [0, 2 N_cs) -> (segment i, parity pi), int64."""
    _check(n_cs, order)
    g = np.asarray(g, dtype=np.int64)
    if order == "sfo":
        return g // 2, g % 2
    return g % int(n_cs), g // int(n_cs)


@implements("ecf.groups", "ecf.C1")
def group_map(n_cs: int, H: int, W: int, order: str = "sfo") -> np.ndarray:
    """int64 (N_cs, H, W): coding-group index of every latent element (segment i, h, w)."""
    _check(n_cs, order)
    seg = np.arange(int(n_cs))[:, None, None]
    return group_index(seg, checkerboard_parity(H, W)[None], n_cs, order)


@implements("ecf.groups", "ecf.C1")
def group_masks(n_cs: int, H: int, W: int, order: str = "sfo") -> np.ndarray:
    """bool (2 N_cs, N_cs, H, W): mask[g] selects the elements of coding group g."""
    gm = group_map(n_cs, H, W, order)
    return gm[None] == np.arange(2 * int(n_cs))[:, None, None, None]


@implements("ecf.groups")
def context_mask(slot_q, slot_k) -> np.ndarray:
    """bool (Sq, Sk): query token may attend key token iff slot(k) <= slot(q) ([ecf.C3]).

    slot_q, slot_k: int (Sq,), (Sk,) coding-group slot of each token.  A slot sees itself:
    the output of slot t predicts group t + 1 ([ecf.sfg]), so no group ever sees its own values.
    """
    return np.asarray(slot_k)[None, :] <= np.asarray(slot_q)[:, None]
