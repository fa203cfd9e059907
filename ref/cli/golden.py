"""``codecref`` commands: golden verify / regen, conform."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ref.cli.base import CONTEXT, FORWARD, _console, _forward, _require, _table, cli
from ref.core.errors import CodecrefError, InputError


# --------------------------------------------------------------------------- golden
@cli.group(context_settings=CONTEXT)
def golden() -> None:
    """Golden vectors: verify, regenerate."""


def _select(system: str | None, vid: str | None):
    return lambda v: (system is None or v.split(".", 1)[0] == system) and (vid is None or v == vid or v.startswith(vid + "."))


def _print_results(title: str, results, backend: dict[str, str]) -> dict[str, int]:
    con = _console()
    con.print(" ".join(f"{k}={v}" for k, v in backend.items()))
    rows = [[r.id, r.output, r.rule, r.status, r.detail] for r in results]
    con.print(_table(title, ["vector", "output", "rule", "status", "detail"], rows))
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    con.print(", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())))
    return counts


@golden.command("verify", context_settings=CONTEXT)
@click.option("--system", default=None, help="only this system's vectors")
@click.option("--id", "vid", default=None, help="only this vector (or id prefix)")
@click.option("--root", type=click.Path(file_okay=False), default=None, help="golden/ directory")
def golden_verify(system: str | None, vid: str | None, root: str | None) -> None:
    """Recompute every golden vector on this backend; exit 0 only if all pass."""
    from ref.conformance import golden as g
    from ref.core.runtime import describe

    groot = Path(root) if root else g.default_root()
    results = g.verify(groot, g.discover(), _select(system, vid))
    counts = _print_results(f"golden verify ({groot})", results, describe())
    bad = sum(v for k, v in counts.items() if k != "PASS")
    if not results:
        raise CodecrefError("no golden vectors selected")
    if bad:
        raise CodecrefError(f"{bad} golden check(s) did not pass")


@golden.command("regen", context_settings=CONTEXT)
@click.option("--system", default=None, help="only this system's vectors")
@click.option("--id", "vid", default=None, help="only this vector (or id prefix)")
@click.option("--write", is_flag=True, help="actually write new/changed vectors (default: dry run)")
@click.option("--root", type=click.Path(file_okay=False), default=None)
def golden_regen(system: str | None, vid: str | None, write: bool, root: str | None) -> None:
    """Recompute vectors from fresh inputs and show what changed; --write to store."""
    from ref.conformance import golden as g
    from ref.core.runtime import describe

    groot = Path(root) if root else g.default_root()
    platform = describe()
    results = g.regen(groot, g.discover(), write, platform, _select(system, vid))
    counts = _print_results(f"golden regen ({'WRITE' if write else 'dry run'})", results, platform)
    if not write and (counts.get("NEW", 0) or counts.get("CHANGED", 0)):
        click.echo("nothing written: re-run with --write to store the NEW/CHANGED vectors", err=True)


@cli.command(context_settings=CONTEXT)
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--strict", is_flag=True, help="also fail on vectors the candidate lacks")
@click.option("--root", type=click.Path(file_okay=False), default=None)
def conform(directory: str, strict: bool, root: str | None) -> None:
    """Check a third party's outputs (laid out like golden/) against the vectors."""
    from ref.conformance import golden as g

    cand = Path(directory)
    if not cand.is_dir():
        raise InputError(f"{directory}: not a directory")
    groot = Path(root) if root else g.default_root()
    results = g.conform(groot, cand)
    counts = _print_results(f"conformance of {directory}", results, {"golden": str(groot)})
    failed = counts.get("FAIL", 0) + counts.get("ERROR", 0) + (counts.get("MISSING", 0) if strict else 0)
    if counts.get("PASS", 0) == 0:
        raise CodecrefError("no candidate output matched any golden vector")
    if failed:
        raise CodecrefError(f"{failed} conformance check(s) did not pass")
