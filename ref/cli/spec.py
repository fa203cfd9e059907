"""``codecref`` commands: spec trace."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ref.cli.base import CONTEXT, FORWARD, _console, _forward, _require, _table, cli
from ref.core.errors import CodecrefError, InputError


# --------------------------------------------------------------------------- spec
@cli.group(context_settings=CONTEXT)
def spec() -> None:
    """Normative spec: traceability."""


@spec.command("trace", context_settings=CONTEXT)
@click.option("--check", is_flag=True, help="exit non-zero on any gap")
def spec_trace(check: bool) -> None:
    """Print ID -> function -> tests -> golden vectors."""
    from ref.conformance.spec_trace import build

    rows, problems = build()
    con = _console()
    table = _table(
        "spec trace",
        ["id", "spec", "functions", "tests", "vectors"],
        [[r.eq_id, r.spec_file, "\n".join(r.functions) or "-", str(len(r.tests)), str(len(r.vectors))] for r in rows],
    )
    con.print(table)
    con.print(f"{len(rows)} IDs, {sum(r.complete for r in rows)} complete")
    for p in problems:
        click.echo(f"gap: {p}", err=True)
    if check and problems:
        raise CodecrefError(f"{len(problems)} traceability gap(s)")
