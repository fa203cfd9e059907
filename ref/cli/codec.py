"""``codecref`` commands: encode, decode, inspect."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ref.cli.base import CONTEXT, FORWARD, _console, _forward, _require, _table, cli
from ref.core.errors import CodecrefError, InputError


# --------------------------------------------------------------------------- codec
@cli.command(context_settings=FORWARD, add_help_option=False)
@click.option("--system", "system", required=True, help="easz | moc | hcf | ecf")
@click.pass_context
def encode(ctx: click.Context, system: str) -> None:
    """Encode an image: codecref encode --system S [system options] IN OUT."""
    _forward(_require(system, "encode_command"), ctx.args, f"codecref encode --system {system}")


@cli.command(context_settings=CONTEXT)
@click.argument("infile", type=click.Path(dir_okay=False))
@click.argument("outfile", type=click.Path(dir_okay=False))
def decode(infile: str, outfile: str) -> None:
    """Decode a codecref file to PNG (the system is read from the container)."""
    data = _read_file(infile)
    from ref.core.container import unpack
    from ref.data.imageio import write_png

    t0 = time.perf_counter()
    container = unpack(data)
    img = _require(container.system, "decode_container")(container)
    ms = (time.perf_counter() - t0) * 1e3
    write_png(outfile, img)
    h, w, c = img.shape
    click.echo(f"{container.system}: decoded {w}x{h}x{c} from {len(data)} bytes "
               f"({8 * len(data) / (h * w):.4f} bpp) in {ms:.1f} ms -> {outfile}")


def _read_file(path: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    return p.read_bytes()


@cli.command(context_settings=CONTEXT)
@click.argument("infile", type=click.Path(dir_okay=False))
def inspect(infile: str) -> None:
    """Show a container's header fields and sections (and check its CRC)."""
    data = _read_file(infile)
    from ref.core.container import describe, unpack

    c = unpack(data)
    for key, value in describe(c, len(data)):
        click.echo(f"{key:<22} {value}")
