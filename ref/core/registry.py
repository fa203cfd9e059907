"""Equation registry: which function implements which equation ID.

Usage::

    from ref.core.registry import implements

    @implements("easz.1")
    def intra_row_ok(...): ...

IDs have the form ``<system>.<name>``: ``easz.1``, ``hcf.14``, ``ecf.4a``,
``moc.wpt``, ``core.ans``; normative choices the papers leave open are
``<system>.C<n>``.  ``spec/*.md`` declares every ID (see :mod:`ref.conformance.spec_trace`);
tests declare the IDs they check with ``@pytest.mark.eq("easz.1")``; golden
vectors list theirs in ``golden/manifest.json``.  ``codecref spec trace --check``
fails on any gap.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Callable, TypeVar

ID_RE = re.compile(r"^(core|bits|easz|hcf|moc|ecf)\.[A-Za-z0-9_]+$")

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Entry:
    """One (equation ID, implementing object) pair."""

    eq_id: str
    module: str
    qualname: str

    @property
    def path(self) -> str:
        return f"{self.module}.{self.qualname}"


REGISTRY: dict[str, list[Entry]] = {}


def implements(*eq_ids: str) -> Callable[[F], F]:
    """Decorator recording that the decorated function/class implements ``eq_ids``."""
    for eq_id in eq_ids:
        if not ID_RE.match(eq_id):
            raise ValueError(f"malformed equation ID {eq_id!r} (expected e.g. 'easz.1')")

    def deco(obj: F) -> F:
        for eq_id in eq_ids:
            entry = Entry(eq_id, obj.__module__, obj.__qualname__)
            bucket = REGISTRY.setdefault(eq_id, [])
            if entry not in bucket:
                bucket.append(entry)
        existing = getattr(obj, "__equations__", ())
        try:
            obj.__equations__ = tuple(existing) + tuple(eq_ids)
        except (AttributeError, TypeError):  # builtins / slots: registry entry is enough
            pass
        return obj

    return deco


# Modules never imported by load_all (entry points, or modules with import-time side effects).
_SKIP = {"ref.__main__", "ref.cli"}


def load_all(package: str = "ref") -> dict[str, list[Entry]]:
    """Import every module of ``package`` so that all ``@implements`` run; return REGISTRY."""
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        name = info.name
        if name in _SKIP or name.startswith("ref.cli.") or name.endswith(".cli") or ".weights" in name:
            continue
        importlib.import_module(name)
    return REGISTRY
