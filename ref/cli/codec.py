"""``codecref`` commands: encode, decode, inspect."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from ref.cli.base import CONTEXT, FORWARD, _console, _forward, _require, _table, cli
from ref.core.errors import CodecrefError, InputError

HELP_FLAGS = ("-h", "--help")


# --------------------------------------------------------------------------- codec
@cli.command(context_settings=FORWARD, add_help_option=False)
@click.option("--system", "system", default=None, help="easz | moc | hcf | ecf")
@click.pass_context
def encode(ctx: click.Context, system: str | None) -> None:
    """Encode an image: codecref encode --system S [system options] IN OUT.

    `codecref encode --system S --help` lists system S's options.  Output files are
    written atomically and never over the input (docs/reliability.md)."""
    if system is None:
        if any(a in HELP_FLAGS for a in ctx.args):
            click.echo(ctx.get_help())
            return
        raise click.UsageError("missing --system (easz | moc | hcf | ecf; see codecref encode --help)", ctx)
    _forward(_require(system, "encode_command"), ctx.args, f"codecref encode --system {system}")


@cli.command(context_settings=CONTEXT)
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("outfile", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--max-pixels", type=click.IntRange(min=1), default=None,
              help="refuse images declaring more than this many pixels (H*W); default "
                   "$CODECREF_MAX_PIXELS or 16777216 (2**24, about 1 GB of decoder memory)")
def decode(infile: str, outfile: str, max_pixels: int | None) -> None:
    """Decode a codecref file to PNG (the system is read from the container).

    OUT must end in .png (or be - for stdout); it is checked before decoding and written
    atomically.  Exit 3 for any non-conforming stream, 2 for bad usage."""
    from ref.data.safe_write import check_output

    if max_pixels is not None:
        from ref.core.limits import ENV_MAX_PIXELS

        os.environ[ENV_MAX_PIXELS] = str(max_pixels)
    check_output(outfile, inputs=[infile], extensions=(".png",), what="decoded image")
    data = _read_file(infile)
    from ref.app.decoding import decode_bytes
    from ref.data.imageio import png_bytes
    from ref.data.safe_write import atomic_write

    t0 = time.perf_counter()
    container, img = decode_bytes(data)
    ms = (time.perf_counter() - t0) * 1e3
    png = png_bytes(img)
    if outfile == "-":
        sys.stdout.buffer.write(png)
        sys.stdout.buffer.flush()
    else:
        atomic_write(outfile, png)
    h, w, c = img.shape
    click.echo(f"{container.system}: decoded {w}x{h}x{c} from {len(data)} bytes "
               f"({8 * len(data) / (h * w):.4f} bpp) in {ms:.1f} ms -> {outfile}",
               err=outfile == "-")


def _read_file(path: str) -> bytes:
    """The bytes of a container file (or stdin for -); BitstreamError (exit 3) above
    ref.core.limits.MAX_FILE_BYTES (1 GiB), checked before reading."""
    from ref.core.errors import BitstreamError
    from ref.core.limits import MAX_FILE_BYTES

    too_big = BitstreamError(f"bitstream: {path}: larger than {MAX_FILE_BYTES} bytes, the most "
                             "a codecref container file may have for this decoder")
    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise too_big
        return data
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise too_big
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


@cli.command(context_settings=CONTEXT)
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
def inspect(infile: str) -> None:
    """Show a container's header fields and sections (and check its CRC)."""
    data = _read_file(infile)
    from ref.core.container import describe, unpack

    c = unpack(data)
    for key, value in describe(c, len(data)):
        click.echo(f"{key:<22} {value}")
