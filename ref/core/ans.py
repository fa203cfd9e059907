"""Entropy coder of codecref: rANS over integer frequency tables (spec/core-ans.md).

Public API (every system codes its symbols through this)::

    data = encode_groups([(symbols, freqs, table_idx), ...])        # -> bytes
    dec = AnsDecoder(data)
    symbols0 = dec.pop(freqs0, table_idx0)                          # groups in the same order
    symbols1 = dec.pop(freqs1, table_idx1)
    dec.finish()                                                    # BitstreamError if not exactly consumed

    encode(symbols, freqs, table_idx) / decode(data, freqs, table_idx)   # one group

* ``freqs``: integer array (n_tables, K), 2 <= K <= 2**16, every entry >= 1, every
  row sums to exactly 2**24 (``uint32`` preferred).  ``table_idx``: int (N,), the
  table of each symbol.  ``symbols``: int (N,) in [0, K).
* Two backends produce **identical bytes** (tests prove it):
  ``"constriction"`` -- ``constriction.stream.stack.AnsCoder`` (Rust, fast), driven
  by this adapter; ``"mirror"`` -- :mod:`ref.core.ans_mirror`, pure NumPy/Python,
  the porting reference and the coder on Linux aarch64 (no constriction wheel).
  ``backend="auto"`` (default) honours the environment variable
  ``CODECREF_CODER`` (``constriction`` | ``mirror`` | ``auto``) and otherwise uses
  constriction when it imports, else the mirror.

How the adapter makes constriction use *our* integers  [core.ans_adapter]:
``Categorical(perfect=False)`` quantises float probabilities p (K,) with
``C[s] = floor(sum_{j<s} p_j * (2**24 - K) / sum_j p_j) + s`` (and C[K] = 2**24).
Fed with ``p_j = f_j - 1`` as float64, every partial sum is an integer below 2**24
(exact in float64), the scale ``(2**24 - K) / (2**24 - K)`` is exactly 1.0, so
``C[s] = sum_{j<s} (f_j - 1) + s = sum_{j<s} f_j``: exactly the integer table.  The
same formula is used by constriction's lazy (per-symbol, model-family) and eager
(one table, binary-search) categorical models; both are exercised by tests.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ref.core import ans_mirror as mirror
from ref.core.ans_mirror import (
    K_MAX,
    K_MIN,
    PRECISION,
    TOTAL,
    bytes_to_words,
    check_freqs,
    check_group,
    coding_order,
    words_to_bytes,
)
from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements

__all__ = [
    "encode_groups", "AnsDecoder", "encode", "decode", "resolve_backend",
    "constriction_probabilities", "categorical_fast_left_boundaries", "coding_order", "PRECISION", "TOTAL", "K_MIN", "K_MAX", "BACKENDS", "ENV_VAR",
]

ENV_VAR = "CODECREF_CODER"
BACKENDS = ("constriction", "mirror")

# A run of at least this many consecutive (in coding order) symbols of one table is
# coded with one eager Categorical model (O(K) once, O(1)/O(log K) per symbol);
# shorter runs are batched into model-family calls with one probability row per
# symbol (O(K) per symbol).  Both give identical bytes; this only tunes speed.
MIN_RUN = 8
# Upper bound on the float64 elements of one gathered (rows, K) probability block.
BLOCK_ELEMENTS = 1 << 18


# ----------------------------------------------------------------------------- backend
def _constriction():
    """Import constriction lazily (absent on Linux aarch64); None if unavailable."""
    try:
        import constriction
    except ImportError:
        return None
    return constriction


def resolve_backend(backend: str = "auto") -> str:
    """Map ``"auto" | "constriction" | "mirror"`` to the backend that will run.

    ``"auto"`` reads ``$CODECREF_CODER`` (same three values, default ``auto``); a
    remaining ``auto`` becomes ``constriction`` if it imports, else ``mirror``.
    Raises InputError for unknown names or when constriction is requested but
    cannot be imported.
    """
    if backend == "auto":
        backend = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
        source = f"${ENV_VAR}"
    else:
        source = "backend"
    if backend == "auto":
        return "constriction" if _constriction() is not None else "mirror"
    if backend not in BACKENDS:
        raise InputError(f"{source}={backend!r}: choose auto, constriction or mirror")
    if backend == "constriction" and _constriction() is None:
        raise InputError("backend 'constriction' requested but constriction is not installed "
                         "(use the mirror: backend='mirror' or CODECREF_CODER=mirror)")
    return backend


# ----------------------------------------------------------------------------- adapter
@implements("core.ans_adapter")
def constriction_probabilities(freqs_rows: np.ndarray) -> np.ndarray:
    """Float64 probabilities handed to constriction's Categorical(perfect=False).

    [core.ans_adapter]  p[..., s] = f[..., s] - 1   (float64, exact).  freqs_rows: uint32
    (..., K), rows of validated tables.  With these p, constriction's fixed-point
    quantisation returns exactly C[s] = sum_{j<s} f_j (module docstring).
    """
    return np.subtract(freqs_rows, 1, dtype=np.float64)


@implements("core.ans_adapter")
def categorical_fast_left_boundaries(p: np.ndarray) -> np.ndarray:
    """constriction 0.5.0's ``Categorical(perfect=False)`` quantisation, in NumPy float64.

    p: float64 (..., K) nonnegative weights -> C int64 (..., K+1) with
    C[s] = floor(S_s * (2**24 - K) / S_K) + s for s < K and C[K] = 2**24, where
    S_s = p_0 + ... + p_{s-1} summed left to right (as constriction does).  This is
    the documented formula the adapter relies on; tests check it against
    constriction itself and against ``cumulative`` for p = f - 1.
    """
    p = np.asarray(p, dtype=np.float64)
    k = p.shape[-1]
    partial = np.cumsum(p, axis=-1)                          # sequential left-to-right sums
    scale = float(TOTAL - k) / partial[..., -1:]             # (2**24 - K) / sum(p)
    left = np.concatenate([np.zeros_like(partial[..., :1]), partial[..., :-1]], axis=-1)
    out = np.empty(p.shape[:-1] + (k + 1,), dtype=np.int64)
    out[..., :k] = np.floor(left * scale).astype(np.int64) + np.arange(k)
    out[..., k] = TOTAL
    return out


def _segments(table_idx: np.ndarray, n_tables: int) -> list[tuple[int, int, int]]:
    """Split a group, in coding order, into coding calls.

    table_idx (N,) int, each in [0, n_tables).  In coding order the symbols of
    table t form one run of length count[t].  Returns [(start, end, table)] over
    coding positions: table >= 0 means one eager model for that table over
    [start, end); table == -1 means a model-family block with one row per symbol.
    """
    counts = np.bincount(table_idx, minlength=n_tables)
    used = np.flatnonzero(counts)                     # tables present, in coding order
    if used.size == 0:
        return []
    ends = np.cumsum(counts)[used]
    starts = ends - counts[used]
    long = counts[used] >= MIN_RUN
    # a segment begins at every long run and at every short run that follows a long one
    begin = long.copy()
    begin[0] = True
    begin[1:] |= long[:-1]
    first = np.flatnonzero(begin)
    last = np.append(first[1:], used.size) - 1
    return [(int(starts[i]), int(ends[j]), int(used[i]) if long[i] else -1)
            for i, j in zip(first.tolist(), last.tolist())]


def _blocks(a: int, b: int, k: int) -> list[tuple[int, int]]:
    step = max(1, BLOCK_ELEMENTS // k)
    return [(s, min(s + step, b)) for s in range(a, b, step)]


def _push_group_constriction(cs, coder, symbols, freqs, table_idx) -> None:
    """Push one validated group onto a constriction AnsCoder (last-decoded symbol first)."""
    k = freqs.shape[1]
    order = coding_order(table_idx, freqs.shape[0])
    sym = symbols[order]
    family = cs.stream.model.Categorical(perfect=False)
    for a, b, t in reversed(_segments(table_idx, freqs.shape[0])):
        if t >= 0:
            model = cs.stream.model.Categorical(constriction_probabilities(freqs[t]), perfect=False)
            coder.encode_reverse(sym[a:b], model)
        else:
            for lo, hi in reversed(_blocks(a, b, k)):
                rows = freqs[table_idx[order[lo:hi]]]
                coder.encode_reverse(sym[lo:hi], family, constriction_probabilities(rows))


def _pop_group_constriction(cs, coder, freqs, table_idx) -> np.ndarray:
    k = freqs.shape[1]
    order = coding_order(table_idx, freqs.shape[0])
    decoded = np.empty(order.size, dtype=np.int32)
    family = cs.stream.model.Categorical(perfect=False)
    for a, b, t in _segments(table_idx, freqs.shape[0]):
        if t >= 0:
            model = cs.stream.model.Categorical(constriction_probabilities(freqs[t]), perfect=False)
            decoded[a:b] = coder.decode(model, b - a)
        else:
            for lo, hi in _blocks(a, b, k):
                rows = freqs[table_idx[order[lo:hi]]]
                decoded[lo:hi] = coder.decode(family, constriction_probabilities(rows))
    out = np.empty_like(decoded)
    out[order] = decoded
    return out


# ----------------------------------------------------------------------------- public API
@implements("core.ans", "core.ans_order", "core.ans_bytes", "core.ans_adapter")
def encode_groups(groups: Sequence[tuple], *, backend: str = "auto") -> bytes:
    """Entropy-code groups of symbols into one stream.

    groups: list of (symbols int (N_g,), freqs uint32 (T_g, K_g), table_idx int (N_g,));
    each group may use its own tables.  Returns the stream (bytes, a multiple of 4:
    little-endian uint32 words).  Decode with ``AnsDecoder(data).pop(...)`` once per
    group, in the same order.  Raises InputError on invalid tables/symbols.
    """
    checked = []
    for i, g in enumerate(groups):
        if not isinstance(g, (tuple, list)) or len(g) != 3:
            raise InputError(f"group {i} must be a (symbols, freqs, table_idx) tuple")
        checked.append(check_group(*g))
    which = resolve_backend(backend)
    if which == "mirror":
        return words_to_bytes(mirror.encode_words(checked))
    cs = _constriction()
    coder = cs.stream.stack.AnsCoder()
    for symbols, freqs, table_idx in reversed(checked):
        _push_group_constriction(cs, coder, symbols, freqs, table_idx)
    return words_to_bytes(coder.get_compressed())


@implements("core.ans", "core.ans_bytes")
class AnsDecoder:
    """Decoder over one stream made by :func:`encode_groups`.

    ``pop(freqs, table_idx)`` decodes the next group (N = len(table_idx) symbols,
    int32 (N,)); ``finish()`` raises BitstreamError unless the stream is exactly
    consumed.  Construction raises BitstreamError for a byte count that is not a
    multiple of 4 or a stream whose last word is zero.  Decoding itself never fails
    (ANS maps any state to some symbol): corrupt data or wrong tables show up as
    wrong symbols that ``finish()`` reports -- always call it.
    """

    def __init__(self, data: bytes, *, backend: str = "auto"):
        words = bytes_to_words(data)
        self.backend = resolve_backend(backend)
        if self.backend == "mirror":
            self._mirror = mirror.MirrorDecoder(words)
        else:
            self._cs = _constriction()
            if words.size:
                self._coder = self._cs.stream.stack.AnsCoder(words)
            else:
                self._coder = self._cs.stream.stack.AnsCoder()

    def pop(self, freqs, table_idx) -> np.ndarray:
        """Decode the next group: table_idx int (N,) into freqs (T, K) -> symbols int32 (N,)."""
        _, f, t = check_group(None, freqs, table_idx, need_symbols=False)
        if self.backend == "mirror":
            return self._mirror.pop(f, t)
        return _pop_group_constriction(self._cs, self._coder, f, t)

    def remaining_words(self) -> int:
        """Unread 32-bit words, counting the coder state's nonzero chunks (0 when consumed)."""
        if self.backend == "mirror":
            return self._mirror.remaining_words()
        return int(self._coder.num_words())

    def finish(self) -> None:
        """Raise BitstreamError unless every word was read and the state is back to 0."""
        if self.backend == "mirror":
            self._mirror.finish()
        elif self.remaining_words() != 0:
            raise BitstreamError(
                f"ANS stream not exactly consumed ({self.remaining_words()} word(s) left): "
                "corrupt data or wrong tables")


def encode(symbols, freqs, table_idx, *, backend: str = "auto") -> bytes:
    """One group: ``encode_groups([(symbols, freqs, table_idx)])``."""
    return encode_groups([(symbols, freqs, table_idx)], backend=backend)


def decode(data: bytes, freqs, table_idx, *, backend: str = "auto") -> np.ndarray:
    """Decode a one-group stream and check it is exactly consumed -> symbols int32 (N,)."""
    dec = AnsDecoder(data, backend=backend)
    out = dec.pop(freqs, table_idx)
    dec.finish()
    return out
