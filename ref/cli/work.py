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
CROSS_SYSTEM_BENCHES = {"core": "ref.app.core_bench:bench_command"}

@cli.command(context_settings=FORWARD, add_help_option=False)
@click.argument("name")
@click.pass_context
def bench(ctx: click.Context, name: str) -> None:
    """Benchmarks: codecref bench core | <system>[:<name>] (see `codecref bench NAME --help`)."""
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
@click.argument("system")
@click.pass_context
def train(ctx: click.Context, system: str) -> None:
    """Train a system's model: codecref train SYSTEM [options]."""
    _forward(_require(system, "train_command", "train"), ctx.args, f"codecref train {system}")


@cli.command(context_settings=FORWARD, add_help_option=False)
@click.argument("system")
@click.argument("name")
@click.pass_context
def analyze(ctx: click.Context, system: str, name: str) -> None:
    """Run one of a system's paper analyses: codecref analyze SYSTEM NAME."""
    cmds = _require(system, "analyze_commands")
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
