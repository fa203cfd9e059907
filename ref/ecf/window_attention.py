"""Swin-style spatio-channel window attention, each piece a tiny named function ([ecf.1a],
[ecf.1b], [ecf.window], [ecf.C5], [ecf.C6]).

Tensors are (B, T, H, W, d): T slots (channel segments or EGR groups) on an H x W grid.
A window is kh x kw spatial positions times all T slots; its S = T kh kw tokens are ordered
(t, a, b) (slot-major, then row, then column).

    window_partition : (B, T, H, W, d) -> (B nW, S, d),  nW = (H / kh)(W / kw)
    window_reverse   : inverse
    relative_position_index : (S, S) index into a ((2 N_cs - 1)(2K - 1)^2, heads) bias table
    shifted_window_regions  : (nW, kh kw) region id after the cyclic shift (Swin's img_mask)
    masked_multihead_attention : eq. 1a-1b with an additive mask (0 allowed, -inf not)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements


@implements("ecf.window")
def window_partition(x, kh: int, kw: int):
    """(B, T, H, W, d) -> (B nW, T kh kw, d); windows in raster order of (H/kh, W/kw)."""
    B, T, H, W, d = x.shape
    if H % kh or W % kw:
        raise InputError(f"grid {H}x{W} is not a multiple of the window {kh}x{kw}")
    x = x.reshape(B, T, H // kh, kh, W // kw, kw, d)
    return x.transpose(0, 2, 4, 1, 3, 5, 6).reshape(B * (H // kh) * (W // kw), T * kh * kw, d)


@implements("ecf.window")
def window_reverse(w, kh: int, kw: int, B: int, T: int, H: int, W: int):
    """Inverse of :func:`window_partition`: (B nW, T kh kw, d) -> (B, T, H, W, d)."""
    d = w.shape[-1]
    x = w.reshape(B, H // kh, W // kw, T, kh, kw, d)
    return x.transpose(0, 3, 1, 4, 2, 5, 6).reshape(B, T, H, W, d)


@implements("ecf.C5")
def relative_position_index(coords_q: np.ndarray, coords_k: np.ndarray, n_cs: int, K: int) -> np.ndarray:
    """int64 (Sq, Sk): index of the relative bias between a query and a key token ([ecf.C5]).

    coords_*: int (S, 4) rows (slot, segment i, row a, unpacked column b) inside the window.
        idx = ((di + N_cs - 1)(2K - 1) + da + K - 1)(2K - 1) + db + K - 1,
        di = i_q - i_k, da = a_q - a_k, db = b_q - b_k   (unpacked coordinates)
    """
    cq, ck = np.asarray(coords_q), np.asarray(coords_k)
    di = cq[:, None, 1] - ck[None, :, 1] + int(n_cs) - 1
    da = cq[:, None, 2] - ck[None, :, 2] + K - 1
    db = cq[:, None, 3] - ck[None, :, 3] + K - 1
    return (di * (2 * K - 1) + da) * (2 * K - 1) + db


def bias_table_size(n_cs: int, K: int) -> int:
    """Rows of the relative bias table: (2 N_cs - 1)(2K - 1)^2."""
    return (2 * int(n_cs) - 1) * (2 * K - 1) ** 2


@implements("ecf.C6")
def shifted_window_regions(H: int, W: int, kh: int, kw: int, sh: int, sw: int) -> np.ndarray:
    """int64 (nW, kh kw): Swin's region ids on the cyclically shifted grid, per window token.

    Regions: rows [0, H - kh), [H - kh, H - sh), [H - sh, H) times the same for columns; two
    tokens of one window interact only if their regions are equal (they were neighbours before
    the roll).  With sh = sw = 0 every id is 0.
    """
    img = np.zeros((H, W), dtype=np.int64)
    if sh or sw:
        cnt = 0
        for hs in (slice(0, H - kh), slice(H - kh, H - sh), slice(H - sh, H)):
            for ws in (slice(0, W - kw), slice(W - kw, W - sw), slice(W - sw, W)):
                img[hs, ws] = cnt
                cnt += 1
    return img.reshape(H // kh, kh, W // kw, kw).transpose(0, 2, 1, 3).reshape(-1, kh * kw)


@implements("ecf.C6", "ecf.C3")
def window_attention_mask(region_q: np.ndarray, region_k: np.ndarray, slot_q: np.ndarray,
                          slot_k: np.ndarray) -> np.ndarray:
    """float32 (nW, Sq, Sk): 0 where a query may attend a key, -inf elsewhere.

    region_q / region_k: (nW, Sq), (nW, Sk) region id of each token (the id of its spatial
    position, :func:`shifted_window_regions`); slot_q / slot_k: (Sq,), (Sk,) slot of each token.
    Allowed iff same region and slot_k <= slot_q ([ecf.C3]).
    """
    ok = (region_q[:, :, None] == region_k[:, None, :]) & \
        (np.asarray(slot_k)[None, None, :] <= np.asarray(slot_q)[None, :, None])
    return np.where(ok, 0.0, -np.inf).astype(np.float32)


@implements("ecf.1a", "ecf.1b")
def masked_multihead_attention(q, k, v, bias, mask, heads: int):
    """Eq. 1a-1b on windows: concat_i softmax(Q_i K_i^T / sqrt(d_k) + B_i + mask) V_i.

    q: (nW, Sq, d); k, v: (nW, Sk, d) float32; bias: (heads, Sq, Sk) relative position bias
    ([ecf.C5]); mask: (nW, Sq, Sk) additive, 0 or -inf ([ecf.C3], [ecf.C6]); d_k = d / heads.
    Returns (nW, Sq, d) = concat(head_1..head_h) (the projection W of eq. 1a is applied by the
    caller).  [ecf.1b] pins the paper's "/ d_k ⊙ M" as "/ sqrt(d_k) + M" (see spec).
    """
    nW, Sq, d = q.shape
    dk = d // heads
    qh = q.reshape(nW, Sq, heads, dk).transpose(0, 2, 1, 3)
    kh = k.reshape(nW, -1, heads, dk).transpose(0, 2, 1, 3)
    vh = v.reshape(nW, -1, heads, dk).transpose(0, 2, 1, 3)
    logits = jnp.einsum("nhqd,nhkd->nhqk", qh, kh) * (dk ** -0.5) + bias[None] + mask[:, None]
    att = jax.nn.softmax(logits, axis=-1)
    return jnp.einsum("nhqk,nhkd->nhqd", att, vh).transpose(0, 2, 1, 3).reshape(nW, Sq, d)
