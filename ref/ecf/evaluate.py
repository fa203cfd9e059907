"""``codecref analyze ecf rd``: rate-distortion of the shipped ecf qualities on the evaluation split.

For every evaluation image (the corpus evaluation split, short side 768; or the bundled
evaluation photographs when the corpus is absent) and every shipped quality: the real
bitstream (ref.ecf.codec.encode_image), its bpp = 8 * container bytes / (H W) (everything
counted), and PSNR / MS-SSIM (ref.core.metrics, uint8, peak 255) of the decoded image, with
encode and decode wall times.  Means over images per quality.  ``--compare FILE`` takes the
JSON of ``codecref analyze hcf rd --out FILE`` and reports, on the same images, the HCF base
codec's PSNR interpolated at each ecf point's rate (piecewise linear in log-rate between the
two HCF levels around it): the equal-rate PSNR difference, since a BD-rate needs at least
two ecf qualities.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np


def eval_names(limit: int | None) -> list[str]:
    """Names of the evaluation images, first ``limit`` of them."""
    from ref.data.datasets import EVAL_RGB, corpus_eval_names

    names = list(corpus_eval_names()) or list(EVAL_RGB)
    return names[:limit] if limit else names


def evaluate(limit: int | None = None, qualities=None, echo=print) -> list[dict]:
    """Per-image rows {image, quality, bpp, psnr, ms_ssim, encode_s, decode_s}."""
    from ref.core.metrics import ms_ssim, psnr
    from ref.data.datasets import eval_image
    from ref.ecf import codec

    qualities = list(qualities or codec.shipped_qualities())
    models = {q: codec.get_model(q) for q in qualities}
    rows = []
    for name in eval_names(limit):
        img = eval_image(name)
        for q in qualities:
            t0 = time.perf_counter()
            data = codec.encode_image(img, q, models[q])
            t1 = time.perf_counter()
            rec = codec.decode_bytes(data, models[q])
            t2 = time.perf_counter()
            h, w = img.shape[:2]
            rows.append({"image": name, "quality": q, "bpp": 8 * len(data) / (h * w), "psnr": float(psnr(img, rec)),
                         "ms_ssim": float(ms_ssim(img, rec)), "encode_s": t1 - t0, "decode_s": t2 - t1})
            echo(f"{name} q{q}: {rows[-1]['bpp']:.4f} bpp, {rows[-1]['psnr']:.2f} dB "
                 f"(encode {t1 - t0:.1f} s, decode {t2 - t1:.1f} s)")
    return rows


def hcf_psnr_at_rate(hcf_points: list[tuple[float, float]], bpp: float) -> float | None:
    """PSNR of the HCF curve [(bpp, psnr)] at ``bpp``, linear in log(bpp) between the two
    neighbouring points after sorting by rate; None outside the curve's rate range."""
    pts = sorted(hcf_points)
    for (r0, p0), (r1, p1) in zip(pts, pts[1:]):
        if r0 <= bpp <= r1 and r1 > r0:
            t = (np.log(bpp) - np.log(r0)) / (np.log(r1) - np.log(r0))
            return float(p0 + t * (p1 - p0))
    return None


def compare(rows: list[dict], hcf_json: dict) -> list[dict]:
    """Per image and ecf quality: ecf (bpp, PSNR) and HCF's PSNR at that rate (same image)."""
    out = []
    for r in rows:
        pts = [(x["bpp"], x["psnr"]) for x in hcf_json["rows"] if x["codec"] == "hcf" and x["image"] == r["image"]]
        p = hcf_psnr_at_rate(pts, r["bpp"]) if pts else None
        out.append({"image": r["image"], "quality": r["quality"], "bpp": r["bpp"], "psnr": r["psnr"],
                    "hcf_psnr_at_rate": p, "delta_db": None if p is None else r["psnr"] - p})
    return out


def bd_against_hcf(rows: list[dict], hcf_json: dict) -> dict:
    """BD-rate / BD-PSNR (ref.core.metrics, pchip, PSNR) of the mean ecf curve (one point per
    quality) against the mean HCF curve (one point per level), both averaged over the images
    of ``rows``; needs at least two ecf qualities."""
    from ref.core.errors import InputError
    from ref.core.metrics import bd_psnr, bd_rate

    images = sorted({r["image"] for r in rows})

    def curve(sel, key):
        pts = []
        for s in sorted({x[key] for x in sel}):
            pick = [x for x in sel if x[key] == s]
            pts.append((float(np.mean([x["bpp"] for x in pick])), float(np.mean([x["psnr"] for x in pick]))))
        return pts

    hcf = [x for x in hcf_json["rows"] if x["codec"] == "hcf" and x["image"] in images]
    if {x["image"] for x in hcf} != set(images):
        return {"error": "the HCF results do not cover every evaluated image"}
    a, t = curve(hcf, "setting"), curve(rows, "quality")
    if len(t) < 2:
        return {"error": f"needs at least two ecf qualities, have {len(t)}"}
    out: dict = {"hcf": a, "ecf": t}
    for key, fn in (("bd_rate_pct", bd_rate), ("bd_psnr_db", bd_psnr)):
        try:
            out[key] = fn(*zip(*a), *zip(*t))
        except InputError as exc:          # e.g. no overlap of the PSNR (bd_rate) or rate (bd_psnr) ranges
            out[key + "_error"] = str(exc)
    if "bd_rate_pct" not in out:
        out["error"] = out["bd_rate_pct_error"]
    return out


@click.command("rd")
@click.option("--limit", type=int, default=None, help="first N evaluation images")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="write the rows as JSON")
@click.option("--compare", "compare_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON of `codecref analyze hcf rd --out` on the same images: equal-rate PSNR difference")
def rd_command(limit, out, compare_path):
    """RD of the shipped ecf qualities on the evaluation split (and against HCF at equal rate)."""
    rows = evaluate(limit, echo=click.echo)
    result = {"rows": rows}
    click.echo("| quality | images | bpp | PSNR dB | MS-SSIM | encode s | decode s |")
    click.echo("|---|---|---|---|---|---|---|")
    for q in sorted({r["quality"] for r in rows}):
        sel = [r for r in rows if r["quality"] == q]
        m = {k: float(np.mean([r[k] for r in sel])) for k in ("bpp", "psnr", "ms_ssim", "encode_s", "decode_s")}
        click.echo(f"| {q} | {len(sel)} | {m['bpp']:.4f} | {m['psnr']:.2f} | {m['ms_ssim']:.4f} | "
                   f"{m['encode_s']:.1f} | {m['decode_s']:.1f} |")
    if compare_path:
        cmp_rows = compare(rows, json.loads(Path(compare_path).read_text()))
        result["compare_hcf"] = cmp_rows
        d = [c["delta_db"] for c in cmp_rows if c["delta_db"] is not None]
        click.echo(f"ecf - hcf PSNR at equal rate: mean {np.mean(d):+.2f} dB over {len(d)} of {len(cmp_rows)} "
                   f"points (others outside HCF's rate range)" if d else "no ecf point inside HCF's rate range")
        bd = bd_against_hcf(rows, json.loads(Path(compare_path).read_text()))
        result["bd_vs_hcf"] = bd
        click.echo(f"BD-rate of ecf against hcf (PSNR, mean curves over the same images): "
                   + (f"{bd['bd_rate_pct']:+.2f} %" if "bd_rate_pct" in bd else bd.get("bd_rate_pct_error", bd.get("error")))
                   + "; BD-PSNR: " + (f"{bd['bd_psnr_db']:+.2f} dB" if "bd_psnr_db" in bd
                                      else bd.get("bd_psnr_db_error", "-")))
    if out:
        from ref.data.safe_write import atomic_write

        atomic_write(out, json.dumps(result, indent=1).encode())
        click.echo(f"-> {out}")
