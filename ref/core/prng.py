"""Deterministic PRNG: PCG-XSH-RR 64/32 ("pcg32"), bit-exact with O'Neill's reference.

Everything sampled in codecref (erase masks, sampled structures) comes from this
generator, never from NumPy or JAX RNGs, so that a port in any language reproduces
it from ``spec/core-prng.md`` alone.  All arithmetic is on unsigned 64-bit integers
modulo 2**64 and unsigned 32-bit integers modulo 2**32.

Reference: M. E. O'Neill, *PCG: A Family of Simple Fast Space-Efficient
Statistically Good Algorithms for Random Number Generation* (2014) and the
``pcg-c-basic`` code (``pcg32_srandom_r``, ``pcg32_random_r``,
``pcg32_boundedrand_r``, ``pcg32_advance_r``).  With ``seed=42, stream=54`` the
first outputs are ``0xa15c02b7 0x7b47f409 0xba1d3330 ...`` (the reference demo).

The scalar methods (:meth:`Pcg32.next_u32`, :meth:`Pcg32.bounded`) are the
readable definition; the ``*_array`` methods are vectorised with LCG jump-ahead
and return exactly what repeated scalar calls return, leaving the generator in
exactly the same state.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
#: LCG multiplier of pcg32 (Knuth's MMIX multiplier).
PCG_MULT = 6364136223846793005
#: splitmix64 increment (golden ratio * 2**64), used by :func:`derive_seed`.
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
#: Largest ``count`` accepted by the array methods (refuses absurd allocations).
MAX_ARRAY = 1 << 28
#: Outputs per vectorised chunk in the array methods (bounds temporary memory).
CHUNK = 1 << 16


def _u64(name: str, v: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {type(v).__name__}")
    v = int(v)
    if not 0 <= v <= MASK64:
        raise InputError(f"{name} must be in [0, 2**64), got {v}")
    return v


def _count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise InputError(f"count must be an integer, got {type(count).__name__}")
    count = int(count)
    if not 0 <= count <= MAX_ARRAY:
        raise InputError(f"count must be in [0, {MAX_ARRAY}], got {count}")
    return count


@implements("core.prng_next")
def output_xsh_rr(oldstate: int) -> int:
    """PCG output permutation XSH-RR of a 64-bit state (pure function).

    xorshifted = uint32(((s >> 18) ^ s) >> 27)
    rot        = s >> 59
    out        = rotr32(xorshifted, rot) = (xorshifted >> rot) | (xorshifted << ((-rot) & 31))

    ``oldstate``: the state *before* the LCG step (u64).  Returns a u32.
    """
    xorshifted = (((oldstate >> 18) ^ oldstate) >> 27) & MASK32
    rot = oldstate >> 59
    return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & MASK32


def _output_xsh_rr_array(old: np.ndarray) -> np.ndarray:
    """Vectorised :func:`output_xsh_rr` on a uint64 array -> uint32 array."""
    xorshifted = (((old >> np.uint64(18)) ^ old) >> np.uint64(27)).astype(np.uint32)
    rot = (old >> np.uint64(59)).astype(np.uint32)
    left = (np.uint32(32) - rot) & np.uint32(31)
    return (xorshifted >> rot) | (xorshifted << left)


@implements("core.prng_advance")
def lcg_jump(delta: int, mult: int = PCG_MULT, plus: int = 1) -> tuple[int, int]:
    """Coefficients (A, C) with  step^delta(s) = A*s + C  (mod 2**64).

    The LCG step is s' = mult*s + plus.  Brown's algorithm (as
    ``pcg_advance_lcg_64``): square-and-multiply over the bits of ``delta``
    (u64; a "negative" delta is 2**64 - |delta| and steps backwards, since the
    LCG has period 2**64).
    """
    delta &= MASK64
    acc_mult, acc_plus = 1, 0
    cur_mult, cur_plus = mult & MASK64, plus & MASK64
    while delta > 0:
        if delta & 1:
            acc_mult = (acc_mult * cur_mult) & MASK64
            acc_plus = (acc_plus * cur_mult + cur_plus) & MASK64
        cur_plus = ((cur_mult + 1) * cur_plus) & MASK64
        cur_mult = (cur_mult * cur_mult) & MASK64
        delta >>= 1
    return acc_mult, acc_plus


def _jump_tables(count: int, inc: int) -> tuple[np.ndarray, np.ndarray]:
    """uint64 arrays A[k], C[k] (k < count) with step^k(s) = A[k]*s + C[k] mod 2**64.

    Built by doubling: step^(m+k) = step^k o step^m, i.e.
    A[m+k] = A[k]*A[m], C[m+k] = A[k]*C[m] + C[k]  (uint64 wrap-around).
    """
    a = np.ones(max(count, 1), dtype=np.uint64)
    c = np.zeros(max(count, 1), dtype=np.uint64)
    m = 1
    am, cm = PCG_MULT, inc  # coefficients of step^m, m = current filled length
    with np.errstate(over="ignore"):
        while m < count:
            n = min(m, count - m)
            a[m:m + n] = a[:n] * np.uint64(am)
            c[m:m + n] = a[:n] * np.uint64(cm) + c[:n]
            # step^(2m) = step^m o step^m
            am, cm = (am * am) & MASK64, (am * cm + cm) & MASK64
            m += n
    return a[:count], c[:count]


class Pcg32:
    """PCG-XSH-RR 64/32 generator, seeded exactly as ``pcg32_srandom_r(seed, stream)``.

    seed:   u64 initial state ("initstate").
    stream: u64 sequence selector ("initseq"); inc = ((stream << 1) | 1) mod 2**64, so
            only the low 63 bits matter.

    Methods mutate the generator (it is the one stateful object in ``ref``; pass it
    explicitly, never keep one in a global).
    """

    __slots__ = ("state", "inc")

    @implements("core.prng_seed")
    def __init__(self, seed: int, stream: int = 0) -> None:
        """pcg32_srandom_r:  state = 0; inc = (stream << 1) | 1; step();
        state += seed; step().   (all mod 2**64)"""
        seed = _u64("seed", seed)
        stream = _u64("stream", stream)
        self.inc = ((stream << 1) | 1) & MASK64
        self.state = 0
        self._step()
        self.state = (self.state + seed) & MASK64
        self._step()

    # ------------------------------------------------------------------ scalar
    def _step(self) -> None:
        self.state = (self.state * PCG_MULT + self.inc) & MASK64

    @implements("core.prng_next")
    def next_u32(self) -> int:
        """pcg32_random_r: out = XSH-RR(state); state = state*6364136223846793005 + inc."""
        old = self.state
        self._step()
        return output_xsh_rr(old)

    @implements("core.prng_bounded")
    def bounded(self, n: int) -> int:
        """pcg32_boundedrand_r: unbiased integer in [0, n), 1 <= n < 2**32.

        threshold = (2**32 - n) mod n; draw r = next_u32() until r >= threshold;
        return r mod n.  (Consumes one draw per attempt.)
        """
        n = self._bound(n)
        threshold = ((1 << 32) - n) % n
        while True:
            r = self.next_u32()
            if r >= threshold:
                return r % n

    @implements("core.prng_advance")
    def advance(self, delta: int) -> None:
        """pcg32_advance_r: skip ``delta`` draws (mod 2**64; negative steps back)."""
        if isinstance(delta, bool) or not isinstance(delta, (int, np.integer)):
            raise InputError(f"delta must be an integer, got {type(delta).__name__}")
        a, c = lcg_jump(int(delta), PCG_MULT, self.inc)
        self.state = (a * self.state + c) & MASK64

    @implements("core.prng_uniform01")
    def uniform01(self) -> float:
        """(next_u32() >> 8) * 2**-24: a float64 in [0, 1), exact on every platform."""
        return (self.next_u32() >> 8) * (1.0 / (1 << 24))

    # ------------------------------------------------------------------ vectorised
    def _peek_u32(self, count: int) -> np.ndarray:
        """The next ``count`` outputs without changing the state.

        States k = 0..count-1 are A[k]*s + C[k] (uint64 wrap-around), computed in chunks of
        at most CHUNK so the jump tables stay small; chunk j starts from step^(j*CHUNK)(s).
        """
        n = min(count, CHUNK)
        a, c = _jump_tables(n, self.inc)
        a_chunk, c_chunk = lcg_jump(n, PCG_MULT, self.inc)
        out = np.empty(count, dtype=np.uint32)
        s = self.state
        with np.errstate(over="ignore"):
            for start in range(0, count, CHUNK):
                m = min(CHUNK, count - start)
                out[start:start + m] = _output_xsh_rr_array(a[:m] * np.uint64(s) + c[:m])
                s = (a_chunk * s + c_chunk) & MASK64
        return out

    @implements("core.prng_next")
    def u32_array(self, count: int) -> np.ndarray:
        """``count`` outputs as uint32, identical to ``count`` calls of next_u32()."""
        count = _count(count)
        out = self._peek_u32(count)
        self.advance(count)
        return out

    @implements("core.prng_bounded")
    def bounded_array(self, n: int, count: int) -> np.ndarray:
        """``count`` draws of bounded(n) as uint32 (same values, same final state)."""
        n = self._bound(n)
        count = _count(count)
        threshold = ((1 << 32) - n) % n
        parts: list[np.ndarray] = []
        need = count
        while need > 0:
            # Expected rejections are threshold/2**32 < 1/2; over-draw a little.
            batch = min(MAX_ARRAY, need + need * threshold // (1 << 31) + 16)
            raw = self._peek_u32(batch)
            ok = np.flatnonzero(raw >= np.uint32(threshold))[:need]
            parts.append(raw[ok] % np.uint32(n))
            consumed = int(ok[-1]) + 1 if len(ok) == need else batch
            self.advance(consumed)
            need -= len(ok)
        if not parts:
            return np.zeros(0, dtype=np.uint32)
        return np.concatenate(parts).astype(np.uint32, copy=False)

    @implements("core.prng_uniform01")
    def uniform01_array(self, count: int) -> np.ndarray:
        """float64 array: (u32 >> 8) * 2**-24 for the next ``count`` outputs (exact)."""
        u = self.u32_array(count) >> np.uint32(8)
        return u.astype(np.float64) * (1.0 / (1 << 24))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _bound(n: int) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise InputError(f"bound must be an integer, got {type(n).__name__}")
        n = int(n)
        if not 1 <= n <= MASK32:
            raise InputError(f"bound must be in [1, 2**32), got {n}")
        return n

    def copy(self) -> "Pcg32":
        """An independent generator in the same state."""
        other = object.__new__(Pcg32)
        other.state, other.inc = self.state, self.inc
        return other

    def __repr__(self) -> str:
        return f"Pcg32(state=0x{self.state:016x}, inc=0x{self.inc:016x})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pcg32) and (self.state, self.inc) == (other.state, other.inc)

    __hash__ = None  # mutable


# ---------------------------------------------------------------------- derived seeds
@implements("core.prng_derive")
def splitmix64_mix(z: int) -> int:
    """splitmix64 finaliser (Stafford "Mix13"), a bijection on u64:

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z =  z ^ (z >> 31)                          (all mod 2**64)
    """
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def encode_labels(labels: tuple[int | str, ...]) -> bytes:
    """Prefix-free byte encoding of derive_seed labels.

    int  (0 <= v < 2**64): 0x00, then v as 8 bytes little-endian
    str  (UTF-8, < 2**16 bytes): 0x01, then byte length as u32 little-endian, then UTF-8
    """
    out = bytearray()
    for lab in labels:
        if isinstance(lab, str):
            raw = lab.encode("utf-8")
            if len(raw) >= 1 << 16:
                raise InputError("derive_seed: string label longer than 65535 UTF-8 bytes")
            out += b"\x01" + len(raw).to_bytes(4, "little") + raw
        elif isinstance(lab, (int, np.integer)) and not isinstance(lab, bool):
            out += b"\x00" + _u64("derive_seed label", lab).to_bytes(8, "little")
        else:
            raise InputError(f"derive_seed labels must be int or str, got {type(lab).__name__}")
    return bytes(out)


@implements("core.prng_derive")
def derive_seed(seed: int, *labels: int | str) -> int:
    """A u64 seed for a named sub-structure, e.g. derive_seed(7, "easz", "mask", 3).

    m = encode_labels(labels) padded with zero bytes to a multiple of 8;
    words w_1..w_k = m read as u64 little-endian, then w_{k+1} = len(encode_labels(labels));
    h = seed;  for each word w:  h = mix64((h ^ w) + 0x9E3779B97F4A7C15)   (mod 2**64).

    With no labels this is splitmix64's first output for state ``seed``.
    """
    seed = _u64("seed", seed)
    msg = encode_labels(labels)
    padded = msg + b"\x00" * (-len(msg) % 8)
    words = [int.from_bytes(padded[i:i + 8], "little") for i in range(0, len(padded), 8)]
    words.append(len(msg))
    h = seed
    for w in words:
        h = splitmix64_mix(((h ^ w) + GOLDEN_GAMMA) & MASK64)
    return h


def derive(seed: int, *labels: int | str, stream: int = 0) -> Pcg32:
    """``Pcg32(derive_seed(seed, *labels), stream)``: a generator for a sub-structure."""
    return Pcg32(derive_seed(seed, *labels), stream)
