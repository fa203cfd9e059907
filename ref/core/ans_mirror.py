"""Readable pure-NumPy rANS coder: the porting reference of ``spec/core-ans.md``.

This module is the executable reading of the normative spec.  It reproduces
``constriction.stream.stack.AnsCoder`` (constriction 0.5.0: 64-bit state,
32-bit words, 24-bit probabilities) **bit for bit**: same words, same order.
``ref.core.ans`` uses it directly with ``backend="mirror"`` (Linux aarch64 has
no constriction wheel) and the test suite proves mirror == constriction on
thousands of random tables.

Every step is commented with the spec section it implements:

* ``[core.ans_tables]`` integer frequency tables and their cumulative form;
* ``[core.ans]``        the coder: push (encode) / pop (decode) of one symbol;
* ``[core.ans_order]``  in which order the symbols of a group are pushed/popped;
* ``[core.ans_bytes]``  final flush, word order, little-endian bytes, decoder start,
  end-of-stream check.

Integers are Python ``int`` (exact, unbounded) on purpose: a port uses
``uint64`` for the state and ``uint32`` for words; every value below stays in
those ranges (the comments say why).  Readability comes before speed here
(roughly 0.5-1 M symbols/s); the constriction adapter is the fast path.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Sequence

import numpy as np

from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements

# ----------------------------------------------------------------------------- constants
PRECISION = 24                      # probability precision P: frequencies sum to 2**P
TOTAL = 1 << PRECISION              # M = 2**24
WORD_BITS = 32                      # one compressed word
STATE_BITS = 64                     # the coder state x is a uint64
WORD_MASK = (1 << WORD_BITS) - 1
STATE_LOW = 1 << (STATE_BITS - WORD_BITS)   # L = 2**32: lower bound of a "full" state
K_MIN = 2                           # constriction rejects K < 2
K_MAX = 1 << 16                     # contract bound on the alphabet size

Group = tuple  # (symbols (N,), freqs (T, K) uint32, table_idx (N,))


# ----------------------------------------------------------------------------- tables
@implements("core.ans_tables")
def check_freqs(freqs) -> np.ndarray:
    """Validate a frequency-table array and return it as C-contiguous ``uint32``.

    [core.ans_tables]  freqs: integer array (T, K), T >= 1 tables over an alphabet
    {0, ..., K-1} with 2 <= K <= 2**16; every entry f[t, s] >= 1 and every row sums
    to exactly M = 2**24.  Raises :class:`InputError` otherwise.
    """
    arr = np.asarray(freqs)
    if arr.ndim != 2:
        raise InputError(f"freqs must be a 2-D (n_tables, K) array, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise InputError(f"freqs must be an integer array, got dtype {arr.dtype}")
    n_tables, k = arr.shape
    if n_tables < 1:
        raise InputError("freqs must hold at least one table")
    if not K_MIN <= k <= K_MAX:
        raise InputError(f"alphabet size K={k} outside [{K_MIN}, {K_MAX}]")
    if arr.min() < 1 or arr.max() > TOTAL:              # also keeps the int64 row sums exact
        t, s = np.argwhere((arr < 1) | (arr > TOTAL))[0]
        raise InputError(f"freqs[{t}, {s}] = {arr[t, s]}: every frequency must be in [1, 2**24]")
    sums = arr.sum(axis=1, dtype=np.int64)
    bad = np.flatnonzero(sums != TOTAL)
    if bad.size:
        raise InputError(f"freqs row {bad[0]} sums to {sums[bad[0]]}, must be exactly 2**24 = {TOTAL}")
    return np.ascontiguousarray(arr, dtype=np.uint32)


@implements("core.ans_tables")
def cumulative(freqs: np.ndarray) -> np.ndarray:
    """Left boundaries C (T, K+1) int64 of validated tables: C[t, s] = sum_{j<s} f[t, j].

    [core.ans_tables]  C[t, 0] = 0, C[t, K] = 2**24; symbol s of table t owns the
    quantile interval [C[t, s], C[t, s] + f[t, s]).
    """
    freqs = np.asarray(freqs, dtype=np.int64)
    out = np.zeros((freqs.shape[0], freqs.shape[1] + 1), dtype=np.int64)
    np.cumsum(freqs, axis=1, out=out[:, 1:])
    return out


def check_group(symbols, freqs, table_idx, *, need_symbols: bool = True):
    """Validate one group; return (symbols int32 (N,) | None, freqs uint32 (T,K), table_idx int (N,)).

    symbols and table_idx are 1-D integer arrays of equal length N; every
    table_idx in [0, T); every symbol in [0, K).  Raises :class:`InputError`.
    """
    f = check_freqs(freqs)
    n_tables, k = f.shape
    t = np.asarray(table_idx)
    if t.ndim != 1 or (t.size and t.dtype.kind not in "iu"):
        raise InputError(f"table_idx must be a 1-D integer array, got shape {t.shape} dtype {t.dtype}")
    if t.size and (int(t.min()) < 0 or int(t.max()) >= n_tables):
        raise InputError(f"table_idx out of range [0, {n_tables})")
    if not np.can_cast(t.dtype, np.intp):              # e.g. uint64: np.bincount refuses it
        t = t.astype(np.intp)
    if not need_symbols:
        return None, f, t
    s = np.asarray(symbols)
    if s.ndim != 1 or (s.size and s.dtype.kind not in "iu"):
        raise InputError(f"symbols must be a 1-D integer array, got shape {s.shape} dtype {s.dtype}")
    if s.shape != t.shape:
        raise InputError(f"symbols ({s.size}) and table_idx ({t.size}) differ in length")
    if s.size and (int(s.min()) < 0 or int(s.max()) >= k):
        raise InputError(f"symbol out of range [0, {k})")
    return s.astype(np.int32, copy=False), f, t


# ----------------------------------------------------------------------------- order
@implements("core.ans_order")
def coding_order(table_idx, n_tables: int | None = None) -> np.ndarray:
    """Decode order of one group: the stable ascending sort of ``table_idx`` (N,) -> int64 (N,).

    [core.ans_order]  pi = stable_argsort(table_idx): the k-th symbol popped by the
    decoder is symbol pi[k] of the group (all symbols of table 0 in index order,
    then all of table 1, ...).  The encoder pushes pi[N-1] first and pi[0] last.
    ``n_tables`` (optional) promises 0 <= table_idx < n_tables (validated input).
    """
    t = np.asarray(table_idx)
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Any stable sort gives the same permutation; NumPy's stable sort is a radix sort
    # for 16-bit keys (about 8x faster than on int64), so narrow the keys first.
    top = n_tables - 1 if n_tables is not None else int(t.max())
    if (n_tables is not None or int(t.min()) >= 0) and top < (1 << 16):
        t = t.astype(np.uint16)
    return np.argsort(t, kind="stable").astype(np.int64, copy=False)


# ----------------------------------------------------------------------------- coder
@implements("core.ans")
def push(state: int, c: int, f: int, words: list[int]) -> int:
    """Encode one symbol with interval [c, c+f) of M = 2**24; return the new state.

    [core.ans]  if (x >> 40) >= f: emit the low word of x, x >>= 32      (renormalise)
                x' = ((x // f) << 24) | (c + x mod f)                     (rANS step)
    x < 2**64 before and after; emitted words are appended to ``words`` (uint32).
    """
    if (state >> (STATE_BITS - PRECISION)) >= f:      # x >= f * 2**40: x' would overflow 64 bits
        words.append(state & WORD_MASK)                # emit low 32 bits ...
        state >>= WORD_BITS                            # ... and keep the rest (now < 2**32)
    return ((state // f) << PRECISION) | (c + state % f)


@implements("core.ans")
def pop(state: int, cum_row: Sequence[int], words: list[int]) -> tuple[int, int]:
    """Decode one symbol with table C = ``cum_row`` (K+1 ints); return (symbol, new state).

    [core.ans]  q = x mod 2**24;  s = the symbol with C[s] <= q < C[s+1]
                x' = (x >> 24) * f[s] + (q - C[s])                        (inverse step)
                if x' < 2**32 and words remain: x' = (x' << 32) | last word  (refill)
    ``words`` is the remaining stack: the last element is read (and removed) first.
    """
    q = state & (TOTAL - 1)
    s = bisect_right(cum_row, q) - 1                   # C[s] <= q < C[s+1]; C[K] = M > q
    c = cum_row[s]
    f = cum_row[s + 1] - c
    state = (state >> PRECISION) * f + (q - c)
    if state < STATE_LOW and words:
        state = (state << WORD_BITS) | words.pop()
    return s, state


# ----------------------------------------------------------------------------- streams
@implements("core.ans", "core.ans_order", "core.ans_bytes")
def encode_words(groups: Sequence[Group]) -> np.ndarray:
    """Encode groups of symbols; return the compressed words, uint32 (n_words,).

    groups: list of (symbols (N_g,), freqs (T_g, K_g) uint32, table_idx (N_g,)).
    [core.ans_order]  groups are decoded in list order and the symbols of a group in
    ``coding_order``; a stack is last-in-first-out, so we push the last group first
    and, inside a group, the last decoded symbol first.
    [core.ans_bytes]  result = emitted words, then the final state x as its low word
    and then its high word, leaving out high-order zero words (x = 0 adds nothing).
    """
    checked = [check_group(*g) for g in groups]
    words: list[int] = []
    state = 0                                           # initial state x = 0 (empty coder)
    for symbols, freqs, table_idx in reversed(checked):
        cum = cumulative(freqs)
        order = coding_order(table_idx, freqs.shape[0])
        sym_list = symbols[order].tolist()
        tab_list = table_idx[order].tolist()
        for s, t in zip(reversed(sym_list), reversed(tab_list)):
            c = int(cum[t, s])
            f = int(cum[t, s + 1]) - c
            state = push(state, c, f, words)
    # Final flush [core.ans_bytes]: the state's 32-bit chunks, least significant first,
    # without its leading (high-order) zero chunks.
    if state > WORD_MASK:
        words += [state & WORD_MASK, state >> WORD_BITS]
    elif state > 0:
        words.append(state)
    return np.asarray(words, dtype=np.uint32)


@implements("core.ans_bytes")
def words_to_bytes(words) -> bytes:
    """uint32 words (n,) -> bytes (4n,): each word little-endian, words in order."""
    return np.asarray(words, dtype=np.uint32).astype("<u4").tobytes()


@implements("core.ans_bytes")
def bytes_to_words(data: bytes) -> np.ndarray:
    """bytes (4n,) -> native uint32 words (n,).  BitstreamError if len(data) % 4 != 0 or the
    last word is 0 (a stream never ends in a zero word: the final flush drops zero chunks)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"ANS data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) % 4:
        raise BitstreamError(f"ANS stream of {len(data)} bytes is not a whole number of 32-bit words")
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    if words.size and words[-1] == 0:
        raise BitstreamError("corrupt ANS stream: last word is zero")
    return words


class MirrorDecoder:
    """Pure-Python decoder over a word stack (see ``AnsDecoder`` in ``ref.core.ans``).

    [core.ans_bytes] decoder start: x = 0 if there are no words; otherwise read words
    from the END of the stream: x = last word (nonzero), then while words remain and
    x < 2**32: x = (x << 32) | next word from the end.
    """

    def __init__(self, words: np.ndarray):
        self.words: list[int] = np.asarray(words, dtype=np.uint32).tolist()
        self.state = 0
        if self.words:
            self.state = self.words.pop()
            if self.state == 0:
                raise BitstreamError("corrupt ANS stream: last word is zero")
            while self.words and self.state < STATE_LOW:
                self.state = (self.state << WORD_BITS) | self.words.pop()

    def pop(self, freqs, table_idx) -> np.ndarray:
        """Decode the next group: table_idx (N,) into tables freqs (T, K) -> symbols int32 (N,)."""
        _, freqs, table_idx = check_group(None, freqs, table_idx, need_symbols=False)
        cum = cumulative(freqs)
        rows: dict[int, list[int]] = {}
        order = coding_order(table_idx, freqs.shape[0])
        out = np.empty(table_idx.size, dtype=np.int32)
        state, words = self.state, self.words
        for i, t in zip(order.tolist(), table_idx[order].tolist()):
            row = rows.get(t)
            if row is None:
                row = rows[t] = cum[t].tolist()
            out[i], state = pop(state, row, words)
        self.state = state
        return out

    def remaining_words(self) -> int:
        """Words still unread, counting the state as its nonzero 32-bit chunks."""
        return len(self.words) + (self.state > 0) + (self.state > WORD_MASK)

    def finish(self) -> None:
        """[core.ans_bytes] end check: the stream is exactly consumed iff no words remain and
        x == 0 (the encoder's initial state).  Raises BitstreamError otherwise."""
        if self.words or self.state != 0:
            raise BitstreamError(
                f"ANS stream not exactly consumed ({self.remaining_words()} word(s) left): "
                "corrupt data or wrong tables")
