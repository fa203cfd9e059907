"""Tab. 4 of paper 001: cross-quality paths, shorter vs longer path to the same target
(``codecref analyze hcf cross``; spec/hcf-analyses.md [hcf.analysis_cross]).

The RD curve of a path s -> d is the set of points the path passes through (:func:`path_points`):

    k = s:          the base codec at s (the source's stream, F_{s->s} = identity)
    k = s-1 .. d:   C(s, k, π^edge(s, k; 2))(x)   (the n_q = 2 configuration of Sec. 4.3)

each point the mean (bpp, PSNR) / (bpp, MS-SSIM dB) over images ([hcf.C22]).  Tab. 4 compares
the path from s-1 with the path from s to the same d (5 -> 1 vs 6 -> 1, 4 -> 1 vs 5 -> 1,
3 -> 1 vs 4 -> 1): BD-rate of the shorter path (test) against the longer (anchor), pchip
([core.C12]); negative = the shorter path needs fewer bits (the paper: -7.13, -7.36, -10.87 %
in PSNR, cheng2020_attn on CLIC2020-mobile).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import click
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.hcf.analysis_common import CascadeCache, PointCoder, common_options, load_images, load_setup, write_table
from ref.hcf.analysis_drf import bd_compare
from ref.hcf.policy import check_levels, edge_policy

__all__ = ["path_points", "tab4_comparisons", "evaluate", "summarize", "write_outputs", "run", "cross_command"]

#: paper Tab. 4 (cheng2020_attn, CLIC2020-mobile): (shorter s, longer s) -> (BD-rate_P %, BD-rate_M %)
PAPER_TAB4 = {(5, 6): (-7.13, -7.29), (4, 5): (-7.36, -7.02), (3, 4): (-10.87, -7.80)}


@implements("hcf.analysis_cross")
def path_points(s: int, d: int) -> list[tuple[int, tuple[int, ...]]]:
    """[(k, policy decoded at k)] for k = s .. d: (s, (1,)) then (k, π^edge(s, k; 2)) (hcf.16)."""
    check_levels(s, d)
    return [(s, (1,))] + [(k, edge_policy(s, k, 2)) for k in range(s - 1, d - 1, -1)]


@implements("hcf.analysis_cross")
def tab4_comparisons(s_max: int, d: int, n: int = 3) -> list[tuple[int, int]]:
    """(shorter source, longer source) pairs, both paths ending at d: (s_max - 1, s_max),
    (s_max - 2, s_max - 1), ... -- ``n`` pairs, each shorter path at least 2 levels (s' > d)."""
    check_levels(s_max, d)
    pairs = [(s - 1, s) for s in range(s_max, d + 1, -1)][:n]
    if not pairs:
        raise InputError(f"no cross-quality comparison from s = {s_max} to d = {d} (need s - 1 > d)")
    return pairs


def evaluate(images: Mapping[str, np.ndarray], *, sources: Sequence[int], d: int, models: Mapping[int, object],
             modules: Mapping[int, dict], echo: Callable = lambda m: None) -> list[dict]:
    """Per-image rows {image, source, k, policy, bpp, psnr, ms_ssim_db} of every path s -> d."""
    from ref.hcf.cascade import coded_transmit
    from ref.hcf.transform import phi_jit

    transmit = coded_transmit(models)
    rows, t0 = [], time.time()
    for name, img in images.items():
        pc = PointCoder(img, models)
        for s in sources:
            cache = CascadeCache(pc.y_s(s), s, modules, transmit, phi_jit)
            for k, pi in path_points(s, d):
                y_k = cache.latent(pi[:-1])                # F^π_{s->k}(ỹ^s), eq. 9 (ỹ^s at k = s)
                rows.append({"image": name, "source": s, "k": k, "policy": "[" + ",".join(map(str, pi)) + "]",
                             **pc.metrics(*pc.code(y_k, k))})
        echo(f"{name}: done ({time.time() - t0:.0f} s)")
    return rows


def summarize(rows: Sequence[dict], pairs: Sequence[tuple[int, int]]) -> tuple[list[dict], list[dict]]:
    """(points, bd): mean point per (source, k); per pair the BD-rate / BD-quality of the
    shorter path against the longer, PSNR and MS-SSIM dB."""
    mean: dict = {}
    for key in dict.fromkeys((r["source"], r["k"], r["policy"]) for r in rows):
        sel = [r for r in rows if (r["source"], r["k"], r["policy"]) == key]
        mean[key] = {m: float(np.mean([r[m] for r in sel])) for m in ("bpp", "psnr", "ms_ssim_db")} | {"images": len(sel)}
    points = [{"path": f"{s}->{min(k for s2, k, _ in mean if s2 == s)}", "source": s, "k": k, "policy": pol, **v}
              for (s, k, pol), v in mean.items()]
    curve = {s: [p for p in points if p["source"] == s] for s in {p["source"] for p in points}}
    d = min(p["k"] for p in points)
    bd = []
    for short, long in pairs:
        row = {"comparison": f"{short}->{d} vs {long}->{d}"}
        notes = []
        for metric, tag in (("psnr", "P"), ("ms_ssim_db", "M")):
            res = bd_compare(curve[long], curve[short], metric)
            row[f"bd_rate_{tag}"] = res.get("bd_rate_pct", math.nan)
            row[f"bd_q_{tag}"] = res.get("bd_quality_db", math.nan)
            if "error" in res:
                notes.append(f"{tag}: {res['error']}")
        paper = PAPER_TAB4.get((short, long)) if d == 1 else None
        row["paper_P"], row["paper_M"] = paper if paper else (math.nan, math.nan)
        row["note"] = "; ".join(notes)
        bd.append(row)
    return points, bd


POINT_COLUMNS = (("path", "path", 0), ("k", "decoded at k", 0), ("policy", "π", 0), ("bpp", "bpp", 4),
                 ("psnr", "PSNR (dB)", 3), ("ms_ssim_db", "MS-SSIM (dB)", 3), ("images", "images", 0))
BD_COLUMNS = (("comparison", "shorter vs longer path", 0), ("bd_rate_P", "BD-rate_P (%)", 2),
              ("bd_q_P", "BD-PSNR (dB)", 3), ("bd_rate_M", "BD-rate_M (%)", 2), ("bd_q_M", "BD-MS-SSIM (dB)", 3),
              ("paper_P", "paper BD-rate_P (%)", 2), ("paper_M", "paper BD-rate_M (%)", 2), ("note", "note", 0))


def write_outputs(points: Sequence[dict], bd: Sequence[dict], out: Path, title: str) -> tuple[list[Path], str]:
    """cross_bd.{csv,md} (Tab. 4), cross_points.{csv,md} (every path point), cross.png."""
    notes = ["Negative BD-rate: the shorter path needs fewer bits than the longer one for the same quality. "
             "Paper numbers: cheng2020_attn on CLIC2020-mobile."]
    p1, t1 = write_table(bd, BD_COLUMNS, out, "cross_bd", title, notes)
    p2, t2 = write_table(points, POINT_COLUMNS, out, "cross_points", "Points: " + title)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for s in sorted({p["source"] for p in points}, reverse=True):
        ps = [p for p in points if p["source"] == s]
        ax.plot([p["bpp"] for p in ps], [p["psnr"] for p in ps], "o-", ms=4, label=ps[0]["path"])
    ax.set_xlabel("bpp")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title("Cross-quality paths (π^edge, n_q = 2)", fontsize=10)
    ax.legend(fontsize=8)
    fig.text(0.01, 0.005, title[:150], fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(Path(out) / "cross.png", dpi=110)
    plt.close(fig)
    return p1 + p2 + [Path(out) / "cross.png"], t1 + "\n" + t2


def run(out: Path, *, s: int = 6, d: int = 1, limit: int | None = None, cascade_path: Path | None = None,
        image_files: Sequence[str] = (), echo: Callable = print) -> tuple[list[Path], str]:
    pairs = tab4_comparisons(s, d)
    sources = sorted({v for p in pairs for v in p}, reverse=True)
    setup = load_setup(range(d, s + 1), range(s, d, -1), cascade_path)
    images, desc = load_images(limit, image_files)
    echo(setup.label)
    rows = evaluate(images, sources=sources, d=d, models=setup.models, modules=setup.modules, echo=echo)
    points, bd = summarize(rows, pairs)
    return write_outputs(points, bd, out, f"HCF cross-quality paths to d = {d}, {desc}; {setup.label}")


@click.command("cross", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", "s", type=int, default=6, show_default=True, help="longest path's source level")
@click.option("--target", "d", type=int, default=1, show_default=True, help="target level d of every path")
@common_options
def cross_command(s, d, out, limit, cascade_path, image_files):
    """Tab. 4: BD-rate of the path (s-1) -> d against s -> d (and so on down); writes
    OUT/cross_bd.{csv,md}, OUT/cross_points.{csv,md}, OUT/cross.png."""
    paths, text = run(Path(out), s=s, d=d, limit=limit, cascade_path=Path(cascade_path) if cascade_path else None,
                      image_files=image_files, echo=lambda m: click.echo(m, err=True))
    click.echo(text)
    for p in paths:
        click.echo(f"-> {p}")
