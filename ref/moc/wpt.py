"""N-dimensional wavelet packet transform (WPT), periodization, critically sampled.

One implementation serves 1-D (audio), 2-D (images) and 3-D (volumes): the full packet
decomposition splits every node along every spatial axis at every level, so the J-level
N-D packet transform is the composition (in any order) of J-level 1-D packet transforms
along each spatial axis.  The reference code has two layers:

* a readable NumPy statement of one level (:func:`level_analysis_np`,
  :func:`level_synthesis_np`), the equations of spec/moc.md moc.wpt_level;
* the JAX transform used everywhere else: J levels along each spatial axis in turn, every
  level a sum of strided slices along the *outermost* axis (so XLA emits one vectorised
  multiply-add loop per level), the subband bits kept in a single "bit group" axis in
  leaf order, and one transpose into the output layout at the end.

Both reproduce PyWavelets' ``mode='periodization'`` (to float rounding); the leaf order is
pywt's "natural" order of ``WaveletPacket`` (1-D) and ``WaveletPacket2D`` (2-D), and its
generalisation (moc.C3) for D >= 3.  The JAX code is jit-compiled per (shape, wavelet, J,
axes).
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pywt

from ref.core.registry import implements

__all__ = [
    "wpt_forward",
    "wpt_inverse",
    "leaf_order",
    "wavelet_filters",
    "leaf_paths",
    "level_analysis_np",
    "level_synthesis_np",
    "wpt_forward_np",
    "wpt_inverse_np",
]


# --------------------------------------------------------------------------- filters
@implements("moc.C1")
def wavelet_filters(wavelet: str = "bior4.4") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(dec_lo, dec_hi, rec_lo, rec_hi) float64 arrays of a pywt wavelet (moc.C1: bior4.4,
    10 taps each, as PyWavelets stores them).  Odd lengths are rejected."""
    return _filters(wavelet)


@functools.lru_cache(maxsize=None)
def _filters(wavelet: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    w = pywt.Wavelet(wavelet)
    dec_lo, dec_hi = np.asarray(w.dec_lo, np.float64), np.asarray(w.dec_hi, np.float64)
    rec_lo, rec_hi = np.asarray(w.rec_lo, np.float64), np.asarray(w.rec_hi, np.float64)
    if len(dec_lo) % 2:
        raise ValueError(f"wavelet {wavelet!r}: odd filter length is not supported")
    return dec_lo, dec_hi, rec_lo, rec_hi


@implements("moc.wpt_level")
def level_analysis_np(x: np.ndarray, wavelet: str = "bior4.4") -> tuple[np.ndarray, np.ndarray]:
    """One periodized analysis level along the last axis (readable NumPy reference).

        cA[k] = sum_{j=0}^{L-1} dec_lo[j] * x[(2k + L/2 - j) mod N]
        cD[k] = sum_{j=0}^{L-1} dec_hi[j] * x[(2k + L/2 - j) mod N],   k = 0..N/2-1

    x: (..., N) with N even.  Equals ``pywt.dwt(x, wavelet, mode='periodization')``.
    """
    dec_lo, dec_hi, _, _ = _filters(wavelet)
    n = x.shape[-1]
    if n % 2:
        raise ValueError("periodization level needs an even length")
    L = len(dec_lo)
    k = np.arange(n // 2)
    idx = (2 * k[:, None] + L // 2 - np.arange(L)[None, :]) % n  # (N/2, L)
    xs = x[..., idx]
    return xs @ dec_lo, xs @ dec_hi


@implements("moc.wpt_level")
def level_synthesis_np(ca: np.ndarray, cd: np.ndarray, wavelet: str = "bior4.4") -> np.ndarray:
    """One periodized synthesis level along the last axis (readable NumPy reference).

        x[(2k - (L/2 - 1) + j) mod N] += cA[k] * rec_lo[j] + cD[k] * rec_hi[j]

    for k = 0..N/2-1, j = 0..L-1 (accumulating).  Equals ``pywt.idwt(cA, cD, wavelet,
    mode='periodization')``.
    """
    _, _, rec_lo, rec_hi = _filters(wavelet)
    half = ca.shape[-1]
    n = 2 * half
    L = len(rec_lo)
    k = np.arange(half)
    idx = (2 * k[:, None] - (L // 2 - 1) + np.arange(L)[None, :]) % n  # (N/2, L)
    contrib = ca[..., :, None] * rec_lo + cd[..., :, None] * rec_hi  # (..., N/2, L)
    out = np.zeros(ca.shape[:-1] + (n,), dtype=np.result_type(ca, cd, np.float64))
    flat_out = out.reshape(-1, n)
    flat_c = contrib.reshape(-1, half * L)
    for r in range(flat_out.shape[0]):
        np.add.at(flat_out[r], idx.ravel(), flat_c[r])
    return out


# --------------------------------------------------------------------------- ordering
@functools.lru_cache(maxsize=None)
def leaf_order(levels: int, ndim: int) -> tuple[tuple[int, int], ...]:
    """The (level, axis) of every bit of the leaf index, most significant first (moc.C3).

    leaf = sum_{l=1..J} d_l * 2^(D*(J-l)),   d_l = sum_{i=0..D-1} b_{l,i} * 2^i

    where b_{l,i} = 1 when the level-l split along spatial axis i took the high-pass
    branch.  For D = 2 this is pywt ``WaveletPacket2D`` natural order (a, h, v, d per
    level, 'h' = high-pass along axis 0); for D = 1 ``WaveletPacket`` natural order.
    """
    return tuple((l, i) for l in range(levels) for i in reversed(range(ndim)))


def leaf_paths(levels: int, ndim: int, style: str = "2d") -> list[str]:
    """pywt node path of each leaf, in our leaf order.

    style '1d' ('a'/'d'), '2d' ('a','h','v','d') or 'nd' (WaveletPacketND keys such as
    'ad', 'da': character i = branch along axis i; levels concatenated).
    """
    out = []
    for leaf in range(1 << (levels * ndim)):
        parts = []
        for l in range(levels):
            d = (leaf >> (ndim * (levels - 1 - l))) & ((1 << ndim) - 1)
            bits = [(d >> i) & 1 for i in range(ndim)]
            if style == "1d":
                parts.append("ad"[bits[0]])
            elif style == "2d":
                parts.append("ahvd"[d])
            else:
                parts.append("".join("ad"[b] for b in bits))
        out.append("".join(parts))
    return out


# --------------------------------------------------------------------------- readable twin
@implements("moc.wpt", "moc.C3")
def wpt_forward_np(x: np.ndarray, wavelet: str = "bior4.4", levels: int = 3,
                   axes: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """The J-level packet transform written plainly (readable twin of :func:`wpt_forward`).

    Every node of level l-1 is split along each spatial axis i in turn by
    :func:`level_analysis_np` (lo -> bit b_i = 0, hi -> b_i = 1); its child gets the digit
    d_l = sum_i b_i 2^i, and a leaf's index is sum_l d_l 2^(D (J - l)) (moc.C3, the first
    level most significant).  Output channel c * 2^(J D) + leaf.

    x: float (S_0, ..., C) with the D spatial ``axes`` before the last (channel) axis, every
    S_i a multiple of 2^J.  Returns float64 (S_0 / 2^J, ..., C * 2^(J D)).  Slow (Python
    loop over 2^(J D) nodes); tests/moc/test_wpt_readable.py checks wpt_forward against it.
    """
    x = np.asarray(x, np.float64)
    D = len(axes)
    nodes = [x]                                   # index in the list = leaf index so far
    for _ in range(levels):
        children = []
        for node in nodes:
            parts = {0: node}                     # digit -> subband, built axis by axis
            for i, a in enumerate(axes):
                split = {}
                for d, y in parts.items():
                    lo, hi = level_analysis_np(np.moveaxis(y, a, -1), wavelet)
                    split[d] = np.moveaxis(lo, -1, a)
                    split[d | (1 << i)] = np.moveaxis(hi, -1, a)
                parts = split
            children += [parts[d] for d in range(1 << D)]
        nodes = children
    C = x.shape[-1]
    return np.stack([nodes[leaf][..., c] for c in range(C) for leaf in range(len(nodes))], axis=-1)


@implements("moc.wpt_inverse", "moc.C3")
def wpt_inverse_np(z: np.ndarray, wavelet: str = "bior4.4", levels: int = 3,
                   axes: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """Readable twin of :func:`wpt_inverse` (refine = 0): :func:`wpt_forward_np` undone
    level by level with :func:`level_synthesis_np`, last split first.  Returns float64."""
    z = np.asarray(z, np.float64)
    D = len(axes)
    P = 1 << (levels * D)
    C = z.shape[-1] // P
    out = []
    for c in range(C):
        nodes = [z[..., c * P + leaf] for leaf in range(P)]
        for _ in range(levels):
            parents = []
            for k in range(0, len(nodes), 1 << D):
                parts = {d: nodes[k + d] for d in range(1 << D)}
                for i in reversed(range(D)):
                    a = axes[i]
                    merged = {}
                    for d in [d for d in parts if not d & (1 << i)]:
                        lo, hi = parts[d], parts[d | (1 << i)]
                        merged[d] = np.moveaxis(level_synthesis_np(np.moveaxis(lo, a, -1), np.moveaxis(hi, a, -1),
                                                                   wavelet), -1, a)
                    parts = merged
                parents.append(parts[0])
            nodes = parents
        out.append(nodes[0])
    return np.stack(out, axis=-1)


# --------------------------------------------------------------------------- JAX
def _analysis_level(y: jax.Array, lo: np.ndarray, hi: np.ndarray, p: int) -> jax.Array:
    """(N, G, *rest) -> (N/2, 2G, *rest): one periodized analysis level along axis 0
    (moc.wpt_level).

    Axis 1 is the *bit group*: the G = 2^g subbands made so far, indexed by their branch
    bits, most significant first.  The new branch bit (0 = low-pass cA, 1 = high-pass cD)
    enters the group at bit position ``p`` (0 = most significant), so that the group is
    always in leaf order (moc.C3) and never needs a transpose.  Slicing along the outermost
    axis keeps every term a contiguous block of ``G * prod(rest)`` values, which XLA turns
    into one vectorised multiply-add loop.
    """
    N, G = y.shape[0], y.shape[1]
    L = len(lo)
    half = N // 2
    # xe[i] = x[(i - (L/2 - 1)) mod N] for i = 0 .. N + L - 2
    pl, pr = L // 2 - 1, L // 2
    xe = (y[np.arange(-pl, N + pr) % N] if N < L
          else jnp.concatenate([y[N - pl:], y, y[:pr]], axis=0))
    even, odd = xe[0::2], xe[1::2]
    a = d = None
    for j in range(L):
        o = L - 1 - j  # x[2k + L/2 - j] = xe[2k + L - 1 - j]
        src = (even if o % 2 == 0 else odd)[o // 2 : o // 2 + half]
        if lo[j] != 0.0:
            t = jnp.asarray(lo[j], y.dtype) * src
            a = t if a is None else a + t
        if hi[j] != 0.0:
            t = jnp.asarray(hi[j], y.dtype) * src
            d = t if d is None else d + t
    g_hi = 1 << p
    sh = (half, g_hi, G // g_hi) + y.shape[2:]
    out = jnp.stack([a.reshape(sh), d.reshape(sh)], axis=2)  # (N/2, G_hi, 2, G_lo, ...)
    return out.reshape((half, 2 * G) + y.shape[2:])


def _synthesis_level(y: jax.Array, rlo: np.ndarray, rhi: np.ndarray, p: int) -> jax.Array:
    """(K, 2G, *rest) -> (2K, G, *rest): inverse of :func:`_analysis_level` (moc.wpt_level):
    the branch bit at position ``p`` of the bit group selects cA / cD, and

        x[2m + q] = sum_{j = q + c (mod 2)} cA[(m - u) mod K] rec_lo[j] + cD[(m - u) mod K] rec_hi[j],
        u = (j - q - c) / 2,  c = L/2 - 1.
    """
    K, G = y.shape[0], y.shape[1] // 2
    L = len(rlo)
    c = L // 2 - 1
    g_hi = 1 << p
    yy = y.reshape((K, g_hi, 2, G // g_hi) + y.shape[2:])
    ca = yy[:, :, 0].reshape((K, G) + y.shape[2:])
    cd = yy[:, :, 1].reshape((K, G) + y.shape[2:])
    umin, umax = (0 - 1 - c) // 2, (L - 1 - c) // 2
    idx = np.arange(-umax, K - umin) % K  # ce[i] = c[(i - umax) mod K]
    cae, cde = ca[idx], cd[idx]
    parts = []
    for q in (0, 1):
        acc = None
        for j in range(L):
            if (j - q - c) % 2:
                continue
            u = (j - q - c) // 2
            sl = slice(umax - u, umax - u + K)
            for coef, arr in ((rlo[j], cae), (rhi[j], cde)):
                if coef != 0.0:
                    t = jnp.asarray(coef, y.dtype) * arr[sl]
                    acc = t if acc is None else acc + t
        parts.append(acc)
    x = jnp.stack(parts, axis=1)  # (K, 2, G, ...)
    return x.reshape((2 * K, G) + y.shape[2:])


def _norm_axes(x_ndim: int, axes: Sequence[int] | None) -> tuple[int, ...]:
    if axes is None:
        axes = tuple(range(max(x_ndim - 3, 0), x_ndim - 1)) if x_ndim >= 3 else (0,)
    ax = tuple(sorted(a % x_ndim for a in axes))
    if len(set(ax)) != len(ax) or not ax:
        raise ValueError(f"bad axes {axes}")
    if x_ndim - 1 in ax:
        raise ValueError("the last axis is the channel axis and cannot be transformed")
    return ax


def _check_shape(shape, ax, levels):
    B = 1 << levels
    for a in ax:
        if shape[a] % B:
            raise ValueError(
                f"axis {a} has length {shape[a]}, not a multiple of 2^J = {B} (pad first, moc.C10)")


@functools.lru_cache(maxsize=None)
def _forward_plan(ndim: int, ax: tuple[int, ...], levels: int):
    """Static layout plan of :func:`wpt_forward`: the initial transpose, one transpose per
    spatial axis (bringing that axis to the front, bit group second), the bit position of
    every level, and the final transpose.

    Working layout: (front axis, bit group G, remaining axes...).  Axis i (in order
    0 .. D-1) is filtered J times along the front; its level-l bit enters G at the position
    that keeps G in leaf order (:func:`leaf_order`, moc.C3): the number of bits already in
    G (all of axes < i, levels < l of axis i) that precede it in that order.
    """
    D = len(ax)
    batch = [d for d in range(ndim - 1) if d not in ax]
    first = tuple(ax) + tuple(batch) + (ndim - 1,)
    rank = {bit: r for r, bit in enumerate(leaf_order(levels, D))}
    names = [("S", 0), ("G",)] + [("S", i) for i in range(1, D)] + \
        [("B", k) for k in range(len(batch))] + [("C",)]
    perms, positions = [], []
    for i in range(D):
        new = [("S", i), ("G",)] + [nm for nm in names if nm not in (("S", i), ("G",))]
        perms.append(tuple(names.index(nm) for nm in new))
        names = new
        names[0] = ("K", i)
        positions.append(tuple(
            sum(rank[(l2, i2)] < rank[(l, i)] for i2 in range(i + 1) for l2 in range(levels)
                if i2 < i or l2 < l)
            for l in range(levels)))
    final = [("B", k) for k in range(len(batch))] + [("K", i) for i in range(D)] + [("C",), ("G",)]
    return first, tuple(perms), tuple(positions), tuple(names.index(nm) for nm in final), len(batch)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _forward_levels(x: jax.Array, wavelet: str, levels: int, ax: tuple[int, ...]) -> jax.Array:
    lo, hi, _, _ = _filters(wavelet)
    first, perms, positions, _, _ = _forward_plan(x.ndim, ax, levels)
    y = jnp.transpose(x, first)
    y = y.reshape(y.shape[:1] + (1,) + y.shape[1:])  # empty bit group
    for perm, pos in zip(perms, positions):
        y = jnp.transpose(y, perm)
        for p in pos:
            y = _analysis_level(y, lo, hi, p)
    return y


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _forward_layout(y: jax.Array, ndim: int, ax: tuple[int, ...], levels: int) -> jax.Array:
    _, _, _, final, nb = _forward_plan(ndim, ax, levels)
    y = jnp.transpose(y, final)  # (batch..., K_0..K_{D-1}, C, leaf)
    y = y.reshape(y.shape[: nb + len(ax)] + (-1,))
    return _restore_axes(y, ndim, ax)


@implements("moc.wpt", "moc.C3")
def wpt_forward(x: jax.Array, wavelet: str = "bior4.4", levels: int = 3,
                axes: tuple[int, ...] | None = None) -> jax.Array:
    """J-level N-D wavelet packet analysis, periodization (moc.wpt; leaf order moc.C3).

    x: (..., S_0, ..., S_{D-1}, C) float (any batch axes first); ``axes`` are the D
    spatial axes (default: the two before the last when x.ndim >= 3, else axis 0); the
    last axis is the channel axis.  Every S_i must be a multiple of 2^J.

    Returns (..., S_0/2^J, ..., S_{D-1}/2^J, C * 2^(J*D)); channel index
    ``c * 2^(J*D) + leaf`` with ``leaf`` as in :func:`leaf_order`.  Equals the level-J
    leaves of ``pywt.WaveletPacket2D(..., mode='periodization')`` (D = 2), ``WaveletPacket``
    (D = 1) and, reordered by :func:`leaf_paths`, ``WaveletPacketND``.

    Readable twin: :func:`wpt_forward_np` (the same leaves built node by node from
    :func:`level_analysis_np`, the moc.wpt_level equation); ``wpt_forward`` equals it to
    float rounding -- ``tests/moc/test_wpt_readable.py::test_fast_forward_equals_readable_twin``
    (and both equal pywt: ``tests/moc/test_wpt.py``).  What the fast path does differently:
    each level filters along the *outermost* axis (every tap one contiguous block), the
    subband bits live in one "bit group" axis inserted at their leaf-order place
    (:func:`leaf_order`), and one final transpose gives the output layout.

    Two compiled stages: the filter levels, then one transpose into the output layout.
    They are separate programs on purpose: in one program XLA:CPU fuses the last level
    into the transpose, and the fused loop (a lo/hi select per output value, strided
    reads) was 3x slower than the two stages (docs/moc.md, "WPT speed").
    """
    x = jnp.asarray(x)
    ax = _norm_axes(x.ndim, axes)
    _check_shape(x.shape, ax, levels)
    return _forward_layout(_forward_levels(x, wavelet, levels, ax), x.ndim, ax, levels)


def _restore_axes(y: jax.Array, ndim: int, ax: tuple[int, ...]) -> jax.Array:
    """y is (batch..., spatial..., C); move spatial axes to positions ``ax``."""
    D = len(ax)
    nb = ndim - 1 - D
    src = list(range(nb, nb + D))
    return jnp.moveaxis(y, src, list(ax))


def _inverse_permutation(perm: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _inverse_layout(z: jax.Array, ndim: int, ax: tuple[int, ...], levels: int) -> jax.Array:
    """(batch..., K..., C*P) in the caller's axis order -> the working layout that
    :func:`_forward_levels` ends in (undoes :func:`_forward_layout`)."""
    _, _, _, final, nb = _forward_plan(ndim, ax, levels)
    D = len(ax)
    y = jnp.moveaxis(z, list(ax), list(range(nb, nb + D)))  # (batch..., K..., C*P)
    y = y.reshape(y.shape[:-1] + (-1, 1 << (levels * D)))  # (..., C, leaf)
    return jnp.transpose(y, _inverse_permutation(final))


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _inverse_levels(y: jax.Array, wavelet: str, levels: int, ax: tuple[int, ...]) -> jax.Array:
    _, _, rec_lo, rec_hi = _filters(wavelet)
    ndim = y.ndim - 1  # the working layout has the bit group as an extra axis
    first, perms, positions, _, _ = _forward_plan(ndim, ax, levels)
    for perm, pos in zip(reversed(perms), reversed(positions)):
        for p in reversed(pos):
            y = _synthesis_level(y, rec_lo, rec_hi, p)
        y = jnp.transpose(y, _inverse_permutation(perm))
    y = y.reshape(y.shape[:1] + y.shape[2:])  # drop the (now size-1) bit group
    return jnp.transpose(y, _inverse_permutation(first))


def _inverse_once(z: jax.Array, wavelet: str, levels: int, ax: tuple[int, ...]) -> jax.Array:
    return _inverse_levels(_inverse_layout(z, z.ndim, ax, levels), wavelet, levels, ax)


@implements("moc.wpt_inverse", "moc.C3", "moc.C4")
def wpt_inverse(z: jax.Array, wavelet: str = "bior4.4", levels: int = 3,
                axes: tuple[int, ...] | None = None, refine: int = 0) -> jax.Array:
    """Inverse of :func:`wpt_forward`: periodized synthesis with the wavelet's
    reconstruction filters (moc.wpt_inverse), the forward's stages in reverse.

    z: (..., K_0, ..., K_{D-1}, C * 2^(J*D)) -> (..., 2^J K_0, ..., 2^J K_{D-1}, C).
    Equals pywt's reconstruction of the same leaves, and its readable twin
    :func:`wpt_inverse_np` (``tests/moc/test_wpt_readable.py::test_fast_inverse_equals_readable_twin``).
    ``refine`` > 0 adds that many steps
    of iterative refinement x += inverse(z - forward(x)), which removes the ~1e-11 round-trip
    error of the tabulated bior4.4 filters (moc.C4): use refine=1 for a float64 exact inverse.
    """
    z = jnp.asarray(z)
    ax = _norm_axes(z.ndim, axes)
    P = 1 << (levels * len(ax))
    if z.shape[-1] % P:
        raise ValueError(f"channel axis {z.shape[-1]} is not a multiple of 2^(J*D) = {P}")
    x = _inverse_once(z, wavelet, levels, ax)
    for _ in range(refine):
        r = z - wpt_forward(x, wavelet, levels, axes)
        x = x + _inverse_once(r, wavelet, levels, ax)
    return x
