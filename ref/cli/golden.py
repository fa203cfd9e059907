"""``codecref`` commands: golden verify / regen / docs, conform."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ref.cli.base import CONTEXT, _console, _table, cli
from ref.core.errors import CodecrefError, InputError

ROOT_HELP = ("golden directory holding manifest.json and the vector files "
             "(default: golden/ of this checkout)")


# --------------------------------------------------------------------------- golden
@cli.group(context_settings=CONTEXT)
def golden() -> None:
    """Golden vectors: verify, regenerate, render docs/vectors.md."""


def _select(system: str | None, vid: str | None):
    return lambda v: (system is None or v.split(".", 1)[0] == system) and (vid is None or v == vid or v.startswith(vid + "."))


def _counts(results) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def _print_results(title: str, results, backend: dict[str, str]) -> dict[str, int]:
    con = _console()
    con.print(" ".join(f"{k}={v}" for k, v in backend.items()))
    rows = [[r.id, r.output, r.rule, r.status, r.detail] for r in results]
    con.print(_table(title, ["vector", "output", "rule", "status", "detail"], rows))
    counts = _counts(results)
    con.print(", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())))
    return counts


class _progress:
    """Context manager yielding a ``select`` wrapper that shows which vector is being
    recomputed (a transient bar on a terminal's stderr; one start line otherwise)."""

    def __init__(self, groot: Path, select):
        import json

        self.select = select
        try:
            ids = json.loads((groot / "manifest.json").read_text())["vectors"]
            self.total = sum(1 for v in ids if select(v))
        except Exception:  # noqa: BLE001 - the verify itself reports a broken manifest
            self.total = None
        self.bar = None

    def __enter__(self):
        import sys

        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("golden verify", total=self.total)
        elif self.total:
            click.echo(f"golden verify: recomputing {self.total} vector(s) ...", err=True)

        def tick(vid: str) -> bool:
            ok = self.select(vid)
            if ok and self.bar is not None:
                self.bar.update(self.task, advance=1, description=vid)
            return ok

        return tick

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


@golden.command("verify", context_settings=CONTEXT)
@click.option("--system", default=None, help="only this system's vectors")
@click.option("--id", "vid", default=None, help="only this vector (or id prefix)")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=ROOT_HELP)
def golden_verify(system: str | None, vid: str | None, root: str | None) -> None:
    """Recompute every golden vector on this backend; exit 0 only if all pass."""
    from ref.conformance import golden as g
    from ref.core.runtime import describe

    groot = Path(root) if root else g.default_root()
    select = _select(system, vid)
    vectors = g.discover()
    with _progress(groot, select) as tick:
        results = g.verify(groot, vectors, tick)
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
@click.option("--docs-only", is_flag=True,
              help="copy only the doc fields (description, params_doc, input/output docs) from the "
                   "code into the manifest; nothing is recomputed, files and hashes are untouched")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=ROOT_HELP)
def golden_regen(system: str | None, vid: str | None, write: bool, docs_only: bool, root: str | None) -> None:
    """Recompute vectors from fresh inputs and show what changed; --write to store.

    Status per vector: NEW, CHANGED (files or metadata differ), DOCS (files identical, only
    the doc fields differ: --write updates those fields and keeps files, hashes, platform and
    date), SAME."""
    from ref.conformance import golden as g
    from ref.core.runtime import describe

    groot = Path(root) if root else g.default_root()
    platform = describe()
    if docs_only:
        results = g.refresh_docs(groot, g.discover(), write, _select(system, vid))
        counts = _print_results(f"golden regen --docs-only ({'WRITE' if write else 'dry run'})", results, {})
    else:
        results = g.regen(groot, g.discover(), write, platform, _select(system, vid))
        counts = _print_results(f"golden regen ({'WRITE' if write else 'dry run'})", results, platform)
    if not write and (counts.get("NEW", 0) or counts.get("CHANGED", 0) or counts.get("DOCS", 0)):
        click.echo("nothing written: re-run with --write to store the NEW/CHANGED/DOCS vectors", err=True)
    if write and root is None:
        _render_vectors_md(groot)


def _render_vectors_md(groot: Path) -> None:
    """Keep docs/vectors.md in step with the checkout's manifest after a write."""
    from ref.conformance import golden as g
    from ref.conformance import vector_docs as vd

    path = vd.default_path()
    text = vd.render(g.load_manifest(groot))
    if path.parent.is_dir() and (not path.exists() or path.read_text() != text):
        path.write_text(text)
        click.echo(f"updated {path}", err=True)


@golden.command("docs", context_settings=CONTEXT)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="file to write (default: docs/vectors.md of this checkout)")
@click.option("--check", is_flag=True, help="write nothing; exit 1 if the file is not up to date")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=ROOT_HELP)
def golden_docs(out: str | None, check: bool, root: str | None) -> None:
    """Render golden/manifest.json into docs/vectors.md (what every vector computes)."""
    from ref.conformance import golden as g
    from ref.conformance import vector_docs as vd

    groot = Path(root) if root else g.default_root()
    path = Path(out) if out else vd.default_path()
    text = vd.render(g.load_manifest(groot))
    if check:
        if not path.exists() or path.read_text() != text:
            raise CodecrefError(f"{path} is out of date: run `codecref golden docs`")
        click.echo(f"{path} is up to date")
        return
    path.write_text(text)
    click.echo(f"wrote {path} ({len(g.load_manifest(groot)['vectors'])} vectors)")


# --------------------------------------------------------------------------- conform
@cli.command(context_settings=CONTEXT)
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--strict", is_flag=True, help="also fail on golden outputs the candidate lacks (MISSING)")
@click.option("--only-produced", is_flag=True,
              help="hide MISSING rows (outputs the candidate did not produce); they are still counted")
@click.option("--system", default=None, help="only this system's vectors")
@click.option("--id", "vid", default=None, help="only this vector (or id prefix)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document instead of tables")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=ROOT_HELP)
def conform(directory: str, strict: bool, only_produced: bool, system: str | None, vid: str | None,
            as_json: bool, root: str | None) -> None:
    """Check a port's outputs in DIRECTORY against the golden vectors.

    DIRECTORY is laid out like golden/: for vector <system>/<id>, tensors in
    <system>/<id>.safetensors under keys out.<name>, byte strings in
    <system>/<id>.out.<name>.bin (docs/conformance.md).  Each produced output is compared
    with the rule in the manifest; a FAIL shows the first differing elements (index, got,
    want).  Prints one row per output, a per-system summary and a warning for files that
    match no vector.  Exit 0 when every produced output passes (and, with --strict, none is
    missing); 2 otherwise or when nothing matched."""
    from ref.conformance import golden as g

    cand = Path(directory)
    if not cand.is_dir():
        raise InputError(f"{directory}: not a directory")
    groot = Path(root) if root else g.default_root()
    report = g.conform_report(groot, cand, _select(system, vid))
    results = report.results
    counts = _counts(results)
    summary = g.summarize(results)
    failed = counts.get("FAIL", 0) + counts.get("ERROR", 0) + (counts.get("MISSING", 0) if strict else 0)
    if as_json:
        doc = {"golden": str(groot), "candidate": str(cand), "counts": counts, "systems": summary,
               "stray": report.stray,
               "results": [r.to_json() for r in results if not (only_produced and r.status == "MISSING")]}
        click.echo(json.dumps(doc, indent=1))
    else:
        con = _console()
        shown = [r for r in results if not (only_produced and r.status == "MISSING")]
        rows = [[r.id, r.output, r.rule, r.status, r.detail] for r in shown]
        title = f"conformance of {directory}" + (" (produced outputs only)" if only_produced else "")
        con.print(f"golden={groot}")
        con.print(_table(title, ["vector", "output", "rule", "status", "detail"], rows))
        statuses = ["PASS", "FAIL", "ERROR", "MISSING"]
        con.print(_table("per system (outputs; vectors all passing / listed)",
                         ["system"] + [s.lower() for s in statuses] + ["vectors"],
                         [[s] + [str(c.get(k, 0)) for k in statuses] + [f"{c['vectors_pass']}/{c['vectors']}"]
                          for s, c in summary.items()]))
        con.print(", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items()))
                  + (f" ({counts['MISSING']} missing rows hidden)" if only_produced and counts.get("MISSING") else ""))
    for s in report.stray:
        click.echo(f"warning: {s} matches no golden vector output (misnamed? see docs/conformance.md)", err=True)
    if counts.get("PASS", 0) == 0:
        raise CodecrefError("no candidate output matched any golden vector")
    if failed:
        raise CodecrefError(f"{failed} conformance check(s) did not pass")
