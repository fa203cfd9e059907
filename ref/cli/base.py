"""The ``codecref`` click group and the helpers every command module shares."""

from __future__ import annotations

import click

from ref.app.systems import require as _require  # noqa: F401 (used by command modules)
from ref.core.errors import CodecrefError, InputError  # noqa: F401

CONTEXT = {"help_option_names": ["-h", "--help"]}
FORWARD = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def _forward(cmd: click.Command, args: list[str], prog: str) -> None:
    cmd.main(args=args, prog_name=prog, standalone_mode=False)


def _console():
    """A rich console; when stdout is not a terminal (CI logs, pipes, files) and COLUMNS is
    unset, tables are laid out at their natural width instead of rich's default 80 columns,
    so no ID or detail is ever truncated."""
    import os
    import sys

    from rich.console import Console

    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=100_000)


def _table(title: str, columns: list[str], rows: list[list[str]]):
    from rich.table import Table

    t = Table(title=title)
    for i, c in enumerate(columns):
        if i == 0:  # the key column (an ID): never wrapped or cut, whatever the width
            width = max([len(c)] + [max(map(len, str(r[0]).splitlines() or [""])) for r in rows])
            t.add_column(c, no_wrap=True, min_width=width)
        else:
            t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="codecref", prog_name="codecref")
def cli() -> None:
    """codecref: reference codecs (Easz, HCF, WaLLoC/LiVeAction, eContextformer)."""


