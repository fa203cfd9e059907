"""``codecref`` commands: bench, train, analyze, demo."""

from __future__ import annotations

import time
from pathlib import Path

import click

import importlib

from ref.cli.base import CONTEXT, FORWARD, _console, _forward, _require, _table, cli
from ref.core.errors import CodecrefError, InputError


# --------------------------------------------------------------------------- work
# Benchmarks that belong to no system: name -> "module:click command".
CROSS_SYSTEM_BENCHES = {"core": "ref.app.core_bench:bench_command", "kl": "ref.app.bench_kl:bench_command"}
# Trainers that are not a system's own ``train_command`` (codecref train NAME): name -> "module:click command".
EXTRA_TRAINERS = {"hcf-cascade": "ref.hcf.cascade_train:train_command"}

HELP_FLAGS = ("-h", "--help")


def _help_wanted(ctx: click.Context, *required: str | None) -> bool:
    """True (after printing this command's help) when a required argument is missing or
    it is replaced by -h/--help; ``codecref X --help`` then shows help, not an error."""
    if all(r is not None and r not in HELP_FLAGS for r in required):
        return False
    if any(r in HELP_FLAGS for r in required) or any(a in HELP_FLAGS for a in ctx.args):
        click.echo(ctx.get_help())
        return True
    raise click.UsageError(f"missing argument (see {ctx.command_path} --help)", ctx)


@cli.command(context_settings=FORWARD, add_help_option=False)
@click.argument("name", required=False)
@click.pass_context
def bench(ctx: click.Context, name: str | None) -> None:
    """Benchmarks: codecref bench core | <system>[:<name>] (see `codecref bench NAME --help`)."""
    if _help_wanted(ctx, name):
        return
    if name in CROSS_SYSTEM_BENCHES:
        module, attr = CROSS_SYSTEM_BENCHES[name].split(":")
        _forward(getattr(importlib.import_module(module), attr), ctx.args, f"codecref bench {name}")
        return
    system, _, sub = name.partition(":")
    cmds = _require(system, "bench_commands")
    key = sub or next(iter(cmds))
    if key not in cmds:
        raise InputError(f"unknown benchmark {name!r}; {system} has: {', '.join(cmds)}")
    _forward(cmds[key], ctx.args, f"codecref bench {system}:{key}")


@cli.command(context_settings=FORWARD, add_help_option=False)
@click.argument("system", required=False)
@click.pass_context
def train(ctx: click.Context, system: str | None) -> None:
    """Train a system's model: codecref train SYSTEM [options] (`codecref train SYSTEM --help`)."""
    if _help_wanted(ctx, system):
        return
    if system in EXTRA_TRAINERS:
        module, attr = EXTRA_TRAINERS[system].split(":")
        _forward(getattr(importlib.import_module(module), attr), ctx.args, f"codecref train {system}")
        return
    _forward(_require(system, "train_command", "train"), ctx.args, f"codecref train {system}")


@cli.command(context_settings=FORWARD, add_help_option=False)
@click.argument("system", required=False)
@click.argument("name", required=False)
@click.pass_context
def analyze(ctx: click.Context, system: str | None, name: str | None) -> None:
    """Run one of a system's paper analyses: codecref analyze SYSTEM NAME
    (`codecref analyze SYSTEM --help` lists NAME; `... SYSTEM NAME --help` its options)."""
    if system is None or system in HELP_FLAGS:
        _help_wanted(ctx, system)
        return
    cmds = _require(system, "analyze_commands")
    if name is None or name in HELP_FLAGS:
        if name is None and not any(a in HELP_FLAGS for a in ctx.args):
            raise InputError(f"missing analysis name; {system} has: {', '.join(cmds)}")
        click.echo(ctx.get_help())
        click.echo(f"\n{system} analyses: {', '.join(cmds)}")
        return
    if name not in cmds:
        raise InputError(f"unknown analysis {name!r}; {system} has: {', '.join(cmds)}")
    _forward(cmds[name], ctx.args, f"codecref analyze {system} {name}")


@cli.command(context_settings=CONTEXT)
@click.option("--image", type=click.Path(dir_okay=False), default=None, help="default: bundled image")
@click.option("--out", "outdir", type=click.Path(file_okay=False), default="out/demo", show_default=True)
def demo(image: str | None, outdir: str) -> None:
    """Encode/decode a real image with every implemented system and print a table."""
    from ref.app.demo import run_demo

    run_demo(image, Path(outdir))
