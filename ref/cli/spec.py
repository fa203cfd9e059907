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
@click.argument("eq_id", required=False)
@click.option("--check", is_flag=True, help="exit non-zero on any gap")
def spec_trace(eq_id: str | None, check: bool) -> None:
    """Print ID -> function -> tests -> golden vectors.

    With EQ_ID (e.g. ``codecref spec trace easz.C28``): the whole chain of that one ID as
    plain lines -- spec heading (file:line), every implementing function (file:line), every
    test (file:line), every golden vector.  Without: the matrix of all IDs."""
    from ref.conformance.spec_trace import build, chain_lines

    if eq_id:
        lines = chain_lines(eq_id)
        if lines[0].endswith("not declared in spec/"):
            raise InputError(f"unknown spec ID {eq_id!r} (not declared in spec/)")
        for line in lines:
            click.echo(line)
        if check and lines[-1].lstrip().startswith("GAP"):
            raise CodecrefError(f"{eq_id}: traceability gap")
        return
    rows, problems = build()
    data = [[r.eq_id, r.spec_file, "\n".join(r.functions) or "-", str(len(r.tests)), str(len(r.vectors))] for r in rows]
    table = _table("spec trace", ["id", "spec", "functions", "tests", "vectors"], data)
    for col in table.columns[2:3]:     # function names are never folded or cut: the table is as
        col.no_wrap = True             # wide as its longest name (the terminal wraps the line)
    con = _console()
    need = 1 + sum(3 + max(len(line) for r in data for line in str(r[i]).splitlines() or [""])
                   for i in range(5))
    if con.width < need:
        from rich.console import Console

        con = Console(width=need)
    con.print(table)
    con.print(f"{len(rows)} IDs, {sum(r.complete for r in rows)} complete")
    for p in problems:
        click.echo(f"gap: {p}", err=True)
    if check and problems:
        raise CodecrefError(f"{len(problems)} traceability gap(s)")
