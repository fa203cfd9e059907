"""HCF quantisation policies (paper 001, Sec. 3.2 and 4.2; spec/hcf-cascade.md).

A policy vector lists the process type of every level of a cascade from the source level s
down to the destination level d (s >= d >= 1):

    pi = [pi_s, pi_{s-1}, ..., pi_d],   pi_k in {0, 1},   pi_d = 1            (Sec. 3.2)

pi_k = 1: level k runs the inter-node process (quantise, code, transmit, eq. 6);
pi_k = 0: the intra-node process (no quantisation, eq. 7).  In code a policy is a tuple of
Python ints in that order: ``pi[i]`` is pi_{s-i}, ``len(pi) == s - d + 1``.

    Pi(s, d; n_q) = { pi in {0,1}^(s-d+1) : sum_k pi_k = n_q, pi_d = 1 }      [hcf.policy_space]
    |Pi(s, d; n_q)| = C(s - d, n_q - 1)        (the n_q - 1 free ones among the s - d free slots)
    pi_edge = [1^(n_q-1), 0^(s-d+1-n_q), 1]                                      [hcf.16]
    pi_late = [0^(s-d+1-n_q), 1^(n_q)]          (Tab. 1's counterpart of pi_edge, [hcf.C24])
    pi_*    = [0, ..., 0, 1] in Pi(s, d; 1),  pi^* = [1, ..., 1] in Pi(s, d; s-d+1)  [hcf.ref_policies]

Enumeration order ([hcf.policy_space]): descending lexicographic order of the vector read
from pi_s to pi_d, so pi_edge is the first member of Pi(s, d; n_q) and pi_late the last.
"""

from __future__ import annotations

from itertools import combinations
from math import comb
from typing import Sequence

from ref.core.errors import InputError
from ref.core.registry import implements

Policy = tuple[int, ...]

__all__ = ["Policy", "check_levels", "check_policy", "policy_space", "policy_space_size", "edge_policy",
           "late_policy", "min_policy", "max_policy", "policy_entry", "truncate_policy", "transmission_levels"]


def _int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(f"{name} must be an integer, got {v!r}")
    return v


def check_levels(s: int, d: int) -> None:
    """Source level s and destination level d: integers with s >= d >= 1, else InputError."""
    s, d = _int("source level s", s), _int("destination level d", d)
    if d < 1 or s < d:
        raise InputError(f"need source level s >= destination level d >= 1, got s={s}, d={d}")


def _check_nq(s: int, d: int, n_q: int) -> None:
    check_levels(s, d)
    n_q = _int("n_q", n_q)
    if not 1 <= n_q <= s - d + 1:
        raise InputError(f"n_q (number of quantisations) must be in 1..{s - d + 1} for s={s}, d={d}, got {n_q}")


def check_policy(pi: Sequence[int], s: int, d: int) -> Policy:
    """Validated policy vector for levels s..d: length s - d + 1, entries 0/1, last entry 1.

    pi: sequence of ints (pi_s first).  Returns it as a tuple of ints; InputError otherwise.
    """
    check_levels(s, d)
    try:
        t = tuple(pi)
    except TypeError:
        raise InputError(f"policy must be a sequence of 0/1, got {pi!r}") from None
    if len(t) != s - d + 1:
        raise InputError(f"policy for levels {s}..{d} has {s - d + 1} entries, got {len(t)}: {list(t)}")
    if any(isinstance(v, bool) or v not in (0, 1) for v in t):
        raise InputError(f"policy entries must be 0 or 1, got {list(t)}")
    if t[-1] != 1:
        raise InputError(f"policy must end with pi_d = 1 (the last level is transmitted), got {list(t)}")
    return tuple(int(v) for v in t)


@implements("hcf.policy_space")
def policy_space_size(s: int, d: int, n_q: int) -> int:
    """|Pi(s, d; n_q)| = C(s - d, n_q - 1): pi_d = 1 is fixed, the remaining n_q - 1 ones sit
    in any of the s - d other slots.  (The paper gives no closed form; this is the count.)"""
    _check_nq(s, d, n_q)
    return comb(s - d, n_q - 1)


@implements("hcf.policy_space")
def policy_space(s: int, d: int, n_q: int) -> list[Policy]:
    """Pi(s, d; n_q) = {pi in {0,1}^(s-d+1) : sum pi_k = n_q, pi_d = 1} (paper Sec. 4.2).

    s, d: levels (s >= d >= 1); n_q: number of quantisations, 1..s-d+1.
    Returns the policies as tuples (pi_s, ..., pi_d) in descending lexicographic order
    (positions of the n_q - 1 free ones in ascending lexicographic order).
    """
    _check_nq(s, d, n_q)
    free = s - d
    out = []
    for ones in combinations(range(free), n_q - 1):
        v = [0] * free
        for i in ones:
            v[i] = 1
        out.append(tuple(v) + (1,))
    return out


@implements("hcf.16")
def edge_policy(s: int, d: int, n_q: int) -> Policy:
    """pi_edge = [1^(n_q - 1), 0^(s - d + 1 - n_q), 1] (eq. 16): n_q - 1 quantisations at the
    front of the cascade plus the mandatory last one."""
    _check_nq(s, d, n_q)
    return (1,) * (n_q - 1) + (0,) * (s - d + 1 - n_q) + (1,)


@implements("hcf.C24")
def late_policy(s: int, d: int, n_q: int) -> Policy:
    """pi_late = [0^(s - d + 1 - n_q), 1^(n_q)]: all quantisations at the end of the cascade,
    the counterpart Tab. 1 compares pi_edge with ([0,0,0,1,1], [0,0,1,1,1,1])."""
    _check_nq(s, d, n_q)
    return (0,) * (s - d + 1 - n_q) + (1,) * n_q


@implements("hcf.ref_policies")
def min_policy(s: int, d: int) -> Policy:
    """pi_* = [0, ..., 0, 1] in Pi(s, d; 1): minimal quantisation, only at the final level."""
    check_levels(s, d)
    return (0,) * (s - d) + (1,)


@implements("hcf.ref_policies")
def max_policy(s: int, d: int) -> Policy:
    """pi^* = [1, ..., 1] in Pi(s, d; s - d + 1): quantisation at every level."""
    check_levels(s, d)
    return (1,) * (s - d + 1)


def policy_entry(pi: Sequence[int], s: int, k: int) -> int:
    """pi_k of a policy whose first entry is pi_s: ``pi[s - k]``."""
    if not 0 <= s - k < len(pi):
        raise InputError(f"level {k} is not in the policy's levels {s}..{s - len(pi) + 1}")
    return int(pi[s - k])


@implements("hcf.policy_space")
def truncate_policy(pi: Sequence[int], s: int, k: int) -> Policy:
    """The policy under which level k is decoded: [pi_s, ..., pi_{k+1}, 1].

    x^k_pi, y^k_pi of eqs. 13-15 (a policy's reconstruction at an intermediate level k)
    are C(s, k, truncate_policy(pi, s, k)) of eq. 10: the cascade F_{s->k} uses only
    pi_s..pi_{k+1}, and decoding at k quantises at k.  k in d..s; k = d returns pi itself.
    """
    d = s - len(pi) + 1
    pi = check_policy(pi, s, d)
    check_levels(s, k)
    if k < d:
        raise InputError(f"level {k} is below the policy's destination level {d}")
    return pi[: s - k] + (1,)


def transmission_levels(pi: Sequence[int], s: int) -> tuple[int, ...]:
    """Levels k with pi_k = 1 (where a bitstream is sent), from s downwards."""
    return tuple(s - i for i, v in enumerate(pi) if v == 1)
