"""``codecref entropy SAMPLES.npy``: Kozachenko-Leonenko differential entropy of a user's samples."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from ref.cli.base import CONTEXT, cli
from ref.core.errors import InputError


def load_samples(path: str) -> np.ndarray:
    """Read an .npy array (no pickles); InputError on a missing or unreadable file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc})") from None


@cli.command(context_settings=CONTEXT)
@click.argument("samples", type=click.Path(dir_okay=False))
@click.option("--k", "k", type=int, default=4, show_default=True, help="neighbour rank")
@click.option("--norm", type=click.Choice(["max", "euclidean"]), default="max", show_default=True)
@click.option("--unit", type=click.Choice(["nats", "bits"]), default="nats", show_default=True)
@click.option("--latent", is_flag=True, help="SAMPLES is a (B,H,W,C) or (H,W,C) latent: one sample per position "
                                            "[core.C21]")
@click.option("--dither-seed", type=int, default=None,
              help="samples are quantised: add U(-1/2,1/2) PCG32 dither with this seed first [core.C22]")
@click.option("--progress/--no-progress", default=None, help="progress line on stderr (default: on a terminal)")
def entropy(samples: str, k: int, norm: str, unit: str, latent: bool, dither_seed: int | None,
            progress: bool | None) -> None:
    """Differential entropy of the (N, d) samples in SAMPLES.npy (one sample per row).

    Prints N, d, the settings and the time; the last line is the estimate alone.
    """
    from ref.core.kl_entropy import kl_entropy, latent_samples

    x = load_samples(samples)
    if latent:
        x = latent_samples(x)
    t0 = time.perf_counter()
    h = kl_entropy(x, k, norm, unit, dither_seed=dither_seed, progress=progress)
    n, d = x.shape
    click.echo(f"N={n} d={d} k={k} norm={norm} dither_seed={dither_seed} time={time.perf_counter() - t0:.2f}s "
               f"unit={unit}")
    click.echo(repr(h))
