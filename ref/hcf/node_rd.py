"""``codecref analyze hcf node-transcode``: one intermediate node from level s to level d
(default 6 -> 3) against encoding directly at d, on the evaluation split (issue 14 target:
PSNR within 1 dB of direct coding at no more than 1.1x its bits).

Per evaluation image x (ref.hcf.evaluate.eval_set, full size):

    direct : B = encode_image(x, d)                                     (the base codec at d)
    hcf    : B = transcode_hcf(encode_image(x, s), d, policy)           (hcf.node; default policy
                                                                         hcf.node_policy)
    drf    : B = transcode_drf(encode_image(x, s), d)                   (hcf.node_drf)

bpp = 8 |B| / (H W) of the complete level-d container (hcf.C22's rate), PSNR of the decoded
uint8 image (core.psnr, peak 255); means over images.  The HCF row needs a cascade checkpoint
(--cascade or the shipped ref/weights/hcf_cascade.safetensors; one InputError line without).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import click
import numpy as np


def run(out: Path, s: int = 6, d: int = 3, policy: str | None = None, limit: int | None = None,
        cascade_path: str | None = None, echo=print) -> dict:
    from ref.core.metrics import psnr
    from ref.data.datasets import eval_image
    from ref.hcf import codec
    from ref.hcf.evaluate import eval_set
    from ref.hcf.node import check_node_levels, load_cascade, parse_policy, transcode_hcf
    from ref.hcf.node_drf import transcode_drf

    check_node_levels(s, d)
    pi = parse_policy(policy, s, d)
    cascade = load_cascade(cascade_path)
    names, desc = eval_set(limit)
    rows = []
    t0 = time.time()
    for name in names:
        img = eval_image(name)
        H, W = img.shape[:2]
        src = codec.encode_image(img, s)
        streams = {"direct": codec.encode_image(img, d), "hcf": transcode_hcf(src, d, pi, cascade=cascade).data,
                   "drf": transcode_drf(src, d).data}
        for method, data in streams.items():
            rec = codec.decode_bytes(data)
            rows.append({"image": name, "method": method, "bpp": 8 * len(data) / (H * W), "psnr": float(psnr(img, rec))})
        echo(f"{name}: done ({time.time() - t0:.0f} s)")
    summary = {}
    for method in ("direct", "hcf", "drf"):
        sel = [r for r in rows if r["method"] == method]
        summary[method] = {"bpp": float(np.mean([r["bpp"] for r in sel])), "psnr": float(np.mean([r["psnr"] for r in sel]))}
    for method in ("hcf", "drf"):
        summary[method]["d_psnr_db"] = summary[method]["psnr"] - summary["direct"]["psnr"]
        summary[method]["bits_ratio"] = summary[method]["bpp"] / summary["direct"]["bpp"]
    h = summary["hcf"]
    res = {"eval_set": desc, "s": s, "d": d, "policy": "".join(map(str, pi)), "cascade": str(cascade_path or "shipped"),
           "cascade_train": cascade.train, "rows": rows, "summary": summary,
           "target_met": bool(h["d_psnr_db"] >= -1.0 and h["bits_ratio"] <= 1.1)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "node_transcode.json").write_text(json.dumps(res, indent=1))
    (out / "node_transcode.md").write_text("\n".join(table_lines(res)) + "\n")
    with open(out / "node_transcode.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["image", "method", "bpp", "psnr"])
        w.writeheader()
        w.writerows(rows)
    return res


def table_lines(res: dict) -> list[str]:
    s, d = res["s"], res["d"]
    lines = [f"# One node {s} -> {d} (policy {res['policy']}) vs direct coding at {d}: {res['eval_set']}", "",
             "| method | bpp | PSNR dB | ΔPSNR vs direct dB | bits / direct |", "|---|---|---|---|---|"]
    names = {"direct": f"encode at {d}", "hcf": f"encode at {s}, HCF node -> {d}", "drf": f"encode at {s}, DRF node -> {d}"}
    for m in ("direct", "hcf", "drf"):
        v = res["summary"][m]
        extra = (f"{v['d_psnr_db']:+.2f} | {v['bits_ratio']:.3f}" if m != "direct" else "0 | 1")
        lines.append(f"| {names[m]} | {v['bpp']:.4f} | {v['psnr']:.2f} | {extra} |")
    lines += ["", f"target (HCF within 1 dB at <= 1.1x the bits): {'met' if res['target_met'] else 'NOT met'}"]
    return lines


@click.command("node-transcode", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", "s", type=int, default=6, show_default=True, help="level the images are encoded at")
@click.option("--target", "d", type=int, default=3, show_default=True, help="level the node transcodes to")
@click.option("--policy", default=None, help="node policy (hcf.node_policy syntax); default 1,0,...,0,1")
@click.option("--limit", type=int, default=None, help="first N evaluation images only")
@click.option("--cascade", "cascade_path", type=click.Path(dir_okay=False), default=None,
              help="cascade checkpoint (default ref/weights/hcf_cascade.safetensors)")
@click.option("--out", type=click.Path(file_okay=False), default="out/hcf/node_transcode", show_default=True)
def node_transcode_command(s: int, d: int, policy: str | None, limit: int | None, cascade_path: str | None,
                           out: str) -> None:
    """One node s -> d (HCF and DRF) vs direct coding at d: mean bpp, PSNR on the evaluation
    split; writes OUT/node_transcode.{md,csv,json}."""
    res = run(Path(out), s, d, policy, limit, cascade_path, echo=lambda m: click.echo(m, err=True))
    for line in table_lines(res):
        click.echo(line)
    click.echo(f"-> {out}/node_transcode.md, .csv, .json")
