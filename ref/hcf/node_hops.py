"""Hop history of an hcf bitstream: the optional header field ``hops`` ([hcf.hops],
spec/hcf-cascade.md "The intermediate node").

A stream written by the base encoder has no ``hops`` field.  Every intermediate node that
lowers its level appends one hop, so the field of a stream that went 6 -> 3 (HCF node,
default policy) and then 3 -> 2 (DRF node) reads ``6>3:hcf=1001,3>2:drf``.  Grammar::

    hops   = hop *("," hop)
    hop    = level ">" level ":" mode
    mode   = "drf" | "hcf=" bits          bits: the node's policy (pi_src, ..., pi_dst) as 0/1
    level  = "1" | "2" | "3" | "4" | "5" | "6"

Valid when, in addition: src > dst in every hop; bits has src - dst + 1 digits, the first
and the last "1" ([hcf.node_policy]); hops are contiguous (each hop's dst is the next hop's
src); the last dst equals the header's ``level``.  Hence at most 5 hops.

This module is light (no JAX): the decoder's header check imports it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements
from ref.hcf.config import LEVELS

__all__ = ["Hop", "MODES", "parse_hops", "format_hops", "check_hops", "append_hop"]

MODES = ("hcf", "drf")
_HOP_RE = re.compile(r"^([1-6])>([1-6]):(drf|hcf=([01]+))$")


class Hop(NamedTuple):
    """One node: source level ``src``, target level ``dst`` (< src), ``mode`` "hcf" | "drf",
    ``policy`` the node's policy (pi_src, ..., pi_dst) as a tuple of ints for hcf, None for drf."""

    src: int
    dst: int
    mode: str
    policy: tuple[int, ...] | None = None


def _check_hop(h: Hop) -> None:
    if h.src not in LEVELS or h.dst not in LEVELS or h.dst >= h.src:
        raise InputError(f"hop {h.src}>{h.dst}: need levels 6 >= src > dst >= 1")
    if h.mode not in MODES:
        raise InputError(f"hop {h.src}>{h.dst}: mode must be one of {', '.join(MODES)}, got {h.mode!r}")
    if h.mode == "drf":
        if h.policy is not None:
            raise InputError(f"hop {h.src}>{h.dst}: a drf hop has no policy")
        return
    pi = h.policy
    if pi is None or len(pi) != h.src - h.dst + 1 or any(v not in (0, 1) for v in pi) or pi[0] != 1 or pi[-1] != 1:
        raise InputError(f"hop {h.src}>{h.dst}: an hcf hop needs a policy of {h.src - h.dst + 1} entries 0/1 "
                         f"that starts and ends with 1, got {pi!r}")


def _check_chain(hops: list[Hop], level: int | None) -> None:
    for a, b in zip(hops, hops[1:]):
        if a.dst != b.src:
            raise InputError(f"hops are not contiguous: {a.src}>{a.dst} is followed by {b.src}>{b.dst}")
    if level is not None and hops and hops[-1].dst != level:
        raise InputError(f"the last hop ends at level {hops[-1].dst}, the stream is level {level}")


@implements("hcf.hops")
def parse_hops(text: str, level: int | None = None) -> list[Hop]:
    """The hop list of a ``hops`` field value (grammar in the module docstring).

    text: the field's string; level: the header's level (checked against the last hop) or
    None.  Returns [Hop, ...] (at least one).  InputError for anything not valid.
    """
    if not isinstance(text, str) or not text:
        raise InputError(f"hops must be a non-empty string, got {text!r}")
    parts = text.split(",")
    if len(parts) > len(LEVELS) - 1:
        raise InputError(f"hops: {len(parts)} hops, at most {len(LEVELS) - 1} (every hop lowers the level)")
    hops = []
    for part in parts:
        m = _HOP_RE.match(part)
        if not m:
            raise InputError(f"hops: {part!r} is not <src>><dst>:drf or <src>><dst>:hcf=<bits>")
        src, dst = int(m.group(1)), int(m.group(2))
        h = Hop(src, dst, "drf") if m.group(3) == "drf" else Hop(src, dst, "hcf", tuple(int(c) for c in m.group(4)))
        _check_hop(h)
        hops.append(h)
    _check_chain(hops, level)
    return hops


@implements("hcf.hops")
def format_hops(hops) -> str:
    """The ``hops`` field value of a list of Hop (the inverse of :func:`parse_hops`).
    InputError for an empty list or an invalid hop/chain."""
    hops = [Hop(*h) for h in hops]
    if not hops:
        raise InputError("hops: no hop to write (a stream without hops has no hops field)")
    for h in hops:
        _check_hop(h)
    _check_chain(hops, None)
    return ",".join(f"{h.src}>{h.dst}:" + ("drf" if h.mode == "drf" else "hcf=" + "".join(map(str, h.policy)))
                    for h in hops)


@implements("hcf.hops")
def check_hops(text, level: int) -> list[Hop]:
    """The decoder's check of a ``hops`` field: :func:`parse_hops` with BitstreamError
    instead of InputError (a damaged or forged header)."""
    try:
        return parse_hops(text, level)
    except InputError as exc:
        raise BitstreamError(f"bitstream: hcf header field hops {text!r}: {exc}") from None


def append_hop(text: str | None, hop: Hop) -> str:
    """The ``hops`` value after one more node: ``text`` (None or the input stream's value,
    already valid) followed by ``hop``."""
    prev = parse_hops(text) if text is not None else []
    return format_hops(prev + [Hop(*hop)])
