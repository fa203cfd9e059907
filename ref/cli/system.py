"""``codecref <system> NAME ...``: commands that belong to one system and to no shared verb
(e.g. ``codecref hcf transcode``, the HCF intermediate node).  A system provides them as
``commands`` {name: click.Command} in ``ref/<system>/cli.py`` (contract: ref/cli/__init__.py)."""

from __future__ import annotations

import click

from ref.cli.base import FORWARD, _forward, _require, cli
from ref.core.errors import InputError

HELP_FLAGS = ("-h", "--help")


def _system_group(system: str) -> click.Command:
    @click.pass_context
    def run(ctx: click.Context, name: str | None) -> None:
        cmds = _require(system, "commands")
        if name is None or name in HELP_FLAGS:
            if name is None and not any(a in HELP_FLAGS for a in ctx.args):
                raise InputError(f"missing command name; {system} has: {', '.join(cmds)}")
            click.echo(ctx.get_help())
            click.echo(f"\n{system} commands: {', '.join(cmds)}")
            return
        if name not in cmds:
            raise InputError(f"unknown command {name!r}; {system} has: {', '.join(cmds)}")
        _forward(cmds[name], ctx.args, f"codecref {system} {name}")

    run.__doc__ = (f"Commands of system {system}: codecref {system} NAME [options] "
                   f"(`codecref {system} --help` lists NAME).")
    return click.Command(system, callback=run, params=[click.Argument(["name"], required=False)],
                         context_settings=FORWARD, add_help_option=False, help=run.__doc__)


#: systems whose ref/<system>/cli.py defines ``commands`` (listed here so that ``codecref --help``
#: shows only groups that exist, without importing every system)
SYSTEM_COMMAND_GROUPS = ("hcf",)

for _s in SYSTEM_COMMAND_GROUPS:
    cli.add_command(_system_group(_s))
