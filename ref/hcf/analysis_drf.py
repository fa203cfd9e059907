"""Tab. 2 of paper 001: HCF vs the Distributed Recompression Framework (DRF, Fig. 1) in BD-rate
(``codecref analyze hcf drf``; spec/hcf-analyses.md [hcf.analysis_drf]).

DRF is simulated here with the base codec's own functions (ref.hcf.codec): at every
transmission level t_1 > t_2 > ... > t_n the image is encoded at t_i from pixels -- the
original at t_1, the previous hop's decoded uint8 image afterwards -- and decoded
(:func:`drf_chain`).  Per source level s, two configurations of paths s -> d, d = 1 .. s-1:

    2-stage  (Sec. 4.3, n_q = 2): HCF π^edge(s, d; 2) = [1, 0, ..., 0, 1]   DRF t = (s, d)
    per-level (Fig. 1, a node per level): HCF π^*(s, d) = [1, ..., 1]        DRF t = (s, s-1, ..., d)

and, as the centralised reference, SSF = the base codec at d.  The RD curve of a method is
its mean (bpp, PSNR) and (bpp, MS-SSIM dB) over images at d = 1 .. s-1 ([hcf.C22] units);
BD-rate and BD-quality (ref.core.metrics, pchip, [core.C12]) of DRF (test) against HCF
(anchor): positive BD-rate = DRF needs more bits for the same quality (the paper's Tab. 2
sign: DRF +4.87 % Kodak, +5.56 % CLIC with MLIC++).
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
from ref.hcf.policy import check_levels, edge_policy, max_policy

__all__ = ["drf_chain", "tab2_paths", "bd_compare", "evaluate", "summarize", "write_outputs", "run", "drf_command"]

CONFIGS = ("2-stage", "per-level")
#: paper Tab. 2, DRF relative to HCF π^edge (MLIC++): (BD-rate_P %, BD-PSNR dB)
PAPER_TAB2 = {"Kodak": (4.87, -0.22), "CLIC": (5.56, -0.23)}


@implements("hcf.analysis_drf")
def drf_chain(img: np.ndarray, levels: Sequence[int], models: Mapping[int, object]) -> list[tuple[int, bytes, np.ndarray]]:
    """DRF along transmission levels t_1 > ... > t_n (Fig. 1): hop i encodes the pixels it has
    at level t_i (ref.hcf.codec.encode_image: hcf.1-hcf.3, hcf.C3-hcf.C6) and the receiver
    decodes them (decode_bytes: hcf.4, hcf.5, hcf.C4: uint8, cropped to H x W).

    img: uint8 (H, W, C); levels: strictly decreasing; models: {level: HcfModel}.
    Returns [(t_i, container bytes, decoded uint8 (H, W, C))] per hop.
    """
    from ref.hcf.codec import decode_bytes, encode_image

    lv = [int(v) for v in levels]
    if not lv or any(a <= b for a, b in zip(lv, lv[1:])):
        raise InputError(f"DRF transmission levels must be non-empty and strictly decreasing, got {lv}")
    out, x = [], img
    for k in lv:
        data = encode_image(x, k, models[k])
        x = decode_bytes(data, models[k])
        out.append((k, data, x))
    return out


@implements("hcf.analysis_drf")
def tab2_paths(s: int) -> dict[str, list[tuple[int, tuple[int, ...], tuple[int, ...]]]]:
    """{config: [(d, HCF policy, DRF transmission levels)] for d = s-1 .. 1} (module docstring):
    "2-stage": (d, π^edge(s, d; 2), (s, d)); "per-level": (d, π^*(s, d), (s, s-1, ..., d))."""
    check_levels(s, 1)
    if s < 2:
        raise InputError(f"Tab. 2 needs a source level s >= 2, got {s}")
    return {"2-stage": [(d, edge_policy(s, d, 2), (s, d)) for d in range(s - 1, 0, -1)],
            "per-level": [(d, max_policy(s, d), tuple(range(s, d - 1, -1))) for d in range(s - 1, 0, -1)]}


@implements("hcf.analysis_drf")
def bd_compare(anchor: Sequence[Mapping], test: Sequence[Mapping], metric: str) -> dict:
    """BD-rate (%) and BD-quality (dB) of the ``test`` curve against the ``anchor`` curve.

    anchor, test: RD points {bpp, <metric>} (mean over images); metric: "psnr" or "ms_ssim_db".
    ref.core.metrics.bd_rate / bd_psnr (pchip, [core.C12]) with the metric as quality.
    Returns {bd_rate_pct, bd_quality_db} or {error} if the curves cannot be compared (too few
    points, no overlap, non-finite values).
    """
    from ref.core.metrics import bd_psnr, bd_rate

    args = ([p["bpp"] for p in anchor], [p[metric] for p in anchor], [p["bpp"] for p in test], [p[metric] for p in test])
    try:
        return {"bd_rate_pct": float(bd_rate(*args)), "bd_quality_db": float(bd_psnr(*args))}
    except InputError as exc:
        return {"error": str(exc)}


def evaluate(images: Mapping[str, np.ndarray], *, s: int, models: Mapping[int, object], modules: Mapping[int, dict],
             echo: Callable = lambda m: None) -> list[dict]:
    """Per-image rows {image, config, method (hcf|drf|ssf), d, bpp, psnr, ms_ssim_db}."""
    from ref.hcf.cascade import coded_transmit
    from ref.hcf.transform import phi_jit

    paths = tab2_paths(s)
    transmit = coded_transmit(models)
    rows, t0 = [], time.time()
    for name, img in images.items():
        pc = PointCoder(img, models)
        y_s = pc.y_s(s)
        ssf = {}
        for d in range(s - 1, 0, -1):
            data, rec = pc.code(pc.y_s(d), d)
            ssf[d] = pc.metrics(data, rec)
        chain = drf_chain(img, range(s, 0, -1), models)
        per_level_drf = {k: pc.metrics(data, rec) for k, data, rec in chain}
        first_hop = chain[0][2]                    # x̂ after the hop at s
        cache = CascadeCache(y_s, s, modules, transmit, phi_jit)
        for config, items in paths.items():
            for d, pi, levels in items:
                y_d = cache.latent(pi[:-1])                # F^π_{s->d}(ỹ^s), eq. 9
                hcf = pc.metrics(*pc.code(y_d, d))
                if config == "per-level":          # the per-level chain passes through every d
                    drf = per_level_drf[d]
                else:                              # drf_chain(img, (s, d)), the hop at s computed once
                    _, data, rec = drf_chain(first_hop, [d], models)[0]
                    drf = pc.metrics(data, rec)
                for method, m in (("hcf", hcf), ("drf", drf), ("ssf", ssf[d])):
                    rows.append({"image": name, "config": config, "method": method, "d": d, **m})
        echo(f"{name}: done ({time.time() - t0:.0f} s)")
    return rows


def summarize(rows: Sequence[dict], s: int) -> tuple[list[dict], list[dict]]:
    """(points, bd): mean points per (config, d) with HCF, DRF and SSF columns; per config the
    BD-rates of DRF and of SSF against HCF (PSNR and MS-SSIM dB)."""
    paths = tab2_paths(s)
    mean: dict = {}
    for key in {(r["config"], r["method"], r["d"]) for r in rows}:
        sel = [r for r in rows if (r["config"], r["method"], r["d"]) == key]
        mean[key] = {m: float(np.mean([r[m] for r in sel])) for m in ("bpp", "psnr", "ms_ssim_db")} | {"images": len(sel)}
    points, bd = [], []
    for config, items in paths.items():
        for d, pi, levels in items:
            h, r, f = (mean[(config, m, d)] for m in ("hcf", "drf", "ssf"))
            points.append({"config": config, "d": d, "hcf_policy": "[" + ",".join(map(str, pi)) + "]",
                           "drf_levels": ">".join(map(str, levels)),
                           "hcf_bpp": h["bpp"], "hcf_psnr": h["psnr"], "hcf_ms_ssim_db": h["ms_ssim_db"],
                           "drf_bpp": r["bpp"], "drf_psnr": r["psnr"], "drf_ms_ssim_db": r["ms_ssim_db"],
                           "ssf_bpp": f["bpp"], "ssf_psnr": f["psnr"], "images": h["images"]})
        curve = {m: [mean[(config, m, d)] for d, _, _ in items] for m in ("hcf", "drf", "ssf")}
        for test in ("drf", "ssf"):
            row = {"config": config, "comparison": f"{test.upper()} vs HCF"}
            for metric, tag in (("psnr", "P"), ("ms_ssim_db", "M")):
                res = bd_compare(curve["hcf"], curve[test], metric)
                row[f"bd_rate_{tag}"] = res.get("bd_rate_pct", math.nan)
                row[f"bd_q_{tag}"] = res.get("bd_quality_db", math.nan)
                if "error" in res:
                    row[f"note_{tag}"] = f"{tag}: {res['error']}"
            row["note"] = "; ".join(row.pop(f"note_{t}") for t in "PM" if f"note_{t}" in row)
            bd.append(row)
    return points, bd


POINT_COLUMNS = (("config", "config", 0), ("d", "d", 0), ("hcf_policy", "HCF π", 0), ("drf_levels", "DRF hops", 0),
                 ("hcf_bpp", "HCF bpp", 4), ("hcf_psnr", "HCF PSNR", 3), ("hcf_ms_ssim_db", "HCF MS-SSIM dB", 3),
                 ("drf_bpp", "DRF bpp", 4), ("drf_psnr", "DRF PSNR", 3), ("drf_ms_ssim_db", "DRF MS-SSIM dB", 3),
                 ("ssf_bpp", "SSF bpp", 4), ("ssf_psnr", "SSF PSNR", 3), ("images", "images", 0))
BD_COLUMNS = (("config", "config", 0), ("comparison", "comparison", 0), ("bd_rate_P", "BD-rate_P (%)", 2),
              ("bd_q_P", "BD-PSNR (dB)", 3), ("bd_rate_M", "BD-rate_M (%)", 2), ("bd_q_M", "BD-MS-SSIM (dB)", 3),
              ("note", "note", 0))


def write_outputs(points: Sequence[dict], bd: Sequence[dict], out: Path, title: str) -> tuple[list[Path], str]:
    """drf_bd.{csv,md} (the Tab. 2 numbers), drf_points.{csv,md} (every path), drf.png (RD curves)."""
    notes = ["Positive BD-rate: the compared method needs more bits than HCF for the same quality. "
             "Paper Tab. 2 (MLIC++, DRF vs HCF π^edge): " +
             "; ".join(f"{k} {v[0]:+.2f} % / {v[1]:+.2f} dB" for k, v in PAPER_TAB2.items()) + "."]
    p1, t1 = write_table(bd, BD_COLUMNS, out, "drf_bd", title, notes)
    p2, t2 = write_table(points, POINT_COLUMNS, out, "drf_points", "Points: " + title)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), squeeze=False)
    for ax, config in zip(axes[0], CONFIGS):
        ps = [p for p in points if p["config"] == config]
        for m, style in (("hcf", "o-"), ("drf", "s--"), ("ssf", "^:")):
            ax.plot([p[f"{m}_bpp"] for p in ps], [p[f"{m}_psnr"] for p in ps], style, ms=4, label=m.upper())
        ax.set_title(f"{config}", fontsize=10)
        ax.set_xlabel("bpp")
        ax.set_ylabel("PSNR (dB)")
        ax.legend(fontsize=8)
    fig.text(0.01, 0.005, title[:160], fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(Path(out) / "drf.png", dpi=110)
    plt.close(fig)
    return p1 + p2 + [Path(out) / "drf.png"], t1 + "\n" + t2


def run(out: Path, *, s: int = 6, limit: int | None = None, cascade_path: Path | None = None,
        image_files: Sequence[str] = (), echo: Callable = print) -> tuple[list[Path], str]:
    setup = load_setup(range(1, s + 1), range(s, 1, -1), cascade_path)
    images, desc = load_images(limit, image_files)
    echo(setup.label)
    rows = evaluate(images, s=s, models=setup.models, modules=setup.modules, echo=echo)
    points, bd = summarize(rows, s)
    return write_outputs(points, bd, out, f"HCF vs DRF from s = {s}, {desc}; {setup.label}")


@click.command("drf", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", "s", type=int, default=6, show_default=True, help="source level s (paths s -> 1 .. s-1)")
@common_options
def drf_command(s, out, limit, cascade_path, image_files):
    """Tab. 2: BD-rate of DRF (decode + re-encode at each hop) and SSF against HCF over all
    paths s -> d; writes OUT/drf_bd.{csv,md}, OUT/drf_points.{csv,md}, OUT/drf.png."""
    paths, text = run(Path(out), s=s, limit=limit, cascade_path=Path(cascade_path) if cascade_path else None,
                      image_files=image_files, echo=lambda m: click.echo(m, err=True))
    click.echo(text)
    for p in paths:
        click.echo(f"-> {p}")
