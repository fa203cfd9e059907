"""``codecref`` command line (also ``python -m ref``).

Systems plug in through ``ref/<system>/cli.py`` (imported lazily), which may define:

* ``encode_command``   click.Command taking its own options and ``IN OUT``;
* ``decode_container`` (Container) -> uint8 image (H, W, C);
* ``train_command``    click.Command (or ``ref/<system>/train.py:train_command``,
  which is looked up when the CLI module does not define one);
* ``analyze_commands`` {name: click.Command};
* ``bench_commands``   {name: click.Command};
* ``commands``         {name: click.Command}: commands of the system itself, run as
  ``codecref <system> NAME`` (ref/cli/system.py; list the system in its
  SYSTEM_COMMAND_GROUPS);
* ``demo_row``         (image uint8 (H,W,C), workdir Path) -> dict with keys
  system, config, bytes, bpp, psnr, ms_ssim, encode_ms, decode_ms.

Errors: a :class:`~ref.core.errors.CodecrefError` is printed as one line on stderr
with its exit code; any other exception is reported as an internal error in one
line (``CODECREF_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys

import click

from ref.cli.base import cli
from ref.cli import codec, golden, spec, work  # noqa: F401,E402 (each module registers its commands)
from ref.cli import data  # noqa: F401,E402 (codecref data: the photo corpus)
from ref.cli import entropy  # noqa: F401,E402 (codecref entropy: KL estimate of a sample array)
from ref.cli import system  # noqa: F401,E402 (codecref <system> NAME: system command groups)
from ref.core.errors import CodecrefError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors, no tracebacks (unless CODECREF_DEBUG=1)."""
    debug = os.environ.get("CODECREF_DEBUG") == "1"
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        # No terminal (CI log, pipe, file): rich would lay every table out in 80 columns and
        # cut IDs; at this width tables take their natural width instead (all commands).
        os.environ["COLUMNS"] = "100000"
    try:
        cli.main(args=argv, prog_name="codecref", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except CodecrefError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line
        if debug:
            raise
        click.echo(f"internal error: {exc.__class__.__name__}: {exc} (CODECREF_DEBUG=1 shows the traceback)", err=True)
        sys.exit(70)
    sys.exit(0)
