"""``codecref data``: the photo corpus (ref.data.corpus, docs/data.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ref.cli.base import CONTEXT, cli


@cli.group(context_settings=CONTEXT)
def data() -> None:
    """The photo corpus: codecref data fetch [DIR]."""


@data.command("fetch", context_settings=CONTEXT)
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def fetch_command(directory: str | None) -> None:
    """Download and extract the photo corpus into DIR (default: $CODECREF_CORPUS or <repo>/corpus).

    Needs apt-get and dpkg-deb (Debian/Ubuntu); installs nothing.  Idempotent: a complete
    corpus is only verified (sizes and SHA-256 against its manifest)."""
    from ref.data.corpus import fetch

    r = fetch(Path(directory) if directory else None, echo=click.echo)
    c = r["counts"]
    click.echo(f"corpus {r['action']}: {c['train']} train, {c['eval']} eval photographs in {r['root']} "
               f"({r['seconds']:.1f} s)")
