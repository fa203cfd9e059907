"""``codecref`` command line (also ``python -m ref``).

Systems plug in through ``ref/<system>/cli.py`` (imported lazily), which may define:

* ``encode_command``   click.Command taking its own options and ``IN OUT``;
* ``decode_container`` (Container) -> uint8 image (H, W, C);
* ``train_command``    click.Command (or ``ref/<system>/train.py:train_command``,
  which is looked up when the CLI module does not define one);
* ``analyze_commands`` {name: click.Command};
* ``bench_commands``   {name: click.Command};
* ``demo_row``         (image uint8 (H,W,C), workdir Path) -> dict with keys
  system, config, bytes, bpp, psnr, ms_ssim, encode_ms, decode_ms.

Errors: a :class:`~ref.core.errors.CodecrefError` is printed as one line on stderr
with its exit code; any other exception is reported as an internal error in one
line (``CODECREF_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from ref.app.systems import require as _require
from ref.core.errors import CodecrefError, InputError

CONTEXT = {"help_option_names": ["-h", "--help"]}
FORWARD = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def _forward(cmd: click.Command, args: list[str], prog: str) -> None:
    cmd.main(args=args, prog_name=prog, standalone_mode=False)


def _console():
    from rich.console import Console

    return Console()


def _table(title: str, columns: list[str], rows: list[list[str]]):
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="codecref", prog_name="codecref")
def cli() -> None:
    """codecref: reference codecs (Easz, HCF, WaLLoC/LiVeAction, eContextformer)."""


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


# --------------------------------------------------------------------------- work
@cli.command(context_settings=FORWARD, add_help_option=False)
@click.argument("name")
@click.pass_context
def bench(ctx: click.Context, name: str) -> None:
    """Benchmarks: codecref bench core | <system>[:<name>]."""
    if name == "core":
        from ref.app.core_bench import bench_command

        _forward(bench_command, ctx.args, "codecref bench core")
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors, no tracebacks (unless CODECREF_DEBUG=1)."""
    debug = os.environ.get("CODECREF_DEBUG") == "1"
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
