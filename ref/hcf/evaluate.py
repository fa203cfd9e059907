"""RD evaluation of the shipped HCF levels on the evaluation split (docs/hcf.md tables).

For every evaluation image and level: bpp = 8 * container bytes / (H W) (everything
counted), PSNR and MS-SSIM of the decoded image (ref.core.metrics, uint8, peak 255); the
same for the float path (ŷ table indices from the float h_s, ref.core.hyperprior
float_indices_fn: the stream the encoder would write without the integer network, and the
reconstruction from its ŷ); anchors Pillow JPEG (4:2:0, quality q) and WebP (lossy, quality q)
on the same images (PSNR only: the BD-rates use PSNR).  Curves are the per-setting means over images; BD-rates
(ref.core.metrics.bd_rate, pchip, PSNR) compare the mean curves.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np

JPEG_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def eval_set(limit: int | None = None) -> tuple[list[str], str]:
    """Names of the evaluation images used, and a one-line description of the set."""
    from ref.data.datasets import EVAL_RGB, corpus_eval_names

    names = list(corpus_eval_names())
    if names:
        desc = f"corpus evaluation split ({len(names)} photos, short side 768)"
    else:
        names = list(EVAL_RGB)
        desc = "bundled evaluation images (no corpus): " + ", ".join(names)
    if limit:
        names = names[:limit]
        desc += f", first {limit}"
    return names, desc


def _pil(img: np.ndarray, fmt: str, q: int) -> tuple[int, np.ndarray]:
    from PIL import Image

    buf = io.BytesIO()
    im = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)
    if fmt == "jpeg":
        im.save(buf, format="JPEG", quality=q, subsampling=2)  # 4:2:0
    else:
        im.save(buf, format="WEBP", quality=q, method=4)
    data = buf.getvalue()
    rec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB" if img.shape[2] == 3 else "L"))
    return len(data), rec.reshape(img.shape)


def _metrics(img, rec, nbytes, with_ms_ssim: bool = True):
    from ref.core.errors import InputError
    from ref.core.metrics import ms_ssim, psnr

    h, w = img.shape[:2]
    mss = float("nan")
    if with_ms_ssim:
        try:
            mss = float(ms_ssim(img, rec))
        except InputError:
            pass
    return {"bpp": 8 * nbytes / (h * w), "psnr": float(psnr(img, rec)), "ms_ssim": mss}


def float_path_point(img: np.ndarray, level: int) -> dict:
    """Rate/PSNR if ŷ's table indices came from the float h_s (same y~, same z^)."""
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.core import hyperprior as HP
    from ref.hcf import codec

    m = codec.get_model(level)
    y, z = codec._encoder_nets(m.params, jnp.asarray(codec.to_network(codec.pad_image(img))))
    z_hat = HP.quantize_z(z)
    fn = HP.float_indices_fn(m.params["hyper"], m.cfg.mean_grid)
    sections, y_hat = HP.encode_hyperprior(np.asarray(y), z_hat, m.z_tables, m.z_offsets, fn, radius=m.cfg.radius)
    H, W, C = img.shape
    data = ctr.pack("hcf", {"level": level, "model": m.model_id, "height": H, "width": W, "channels": C},
                    [(k, sections[k]) for k in HP.SECTIONS])
    rec = codec.to_uint8(codec._decoder_net(m.params, jnp.asarray(y_hat)), H, W, C)
    return _metrics(img, rec, len(data))


def evaluate(levels=None, limit: int | None = None, anchors: bool = True, float_path: bool = True,
             echo=print) -> dict:
    """Per-image rows and mean curves (see module docstring)."""
    from ref.data.datasets import eval_image
    from ref.hcf import codec
    from ref.hcf.config import LEVELS

    levels = list(LEVELS if levels is None else levels)
    names, desc = eval_set(limit)
    rows = []
    t0 = time.time()
    for name in names:
        img = eval_image(name)
        for k in levels:
            data = codec.encode_image(img, k)
            rec = codec.decode_bytes(data)
            rows.append({"image": name, "codec": "hcf", "setting": k, **_metrics(img, rec, len(data))})
            if float_path:
                rows.append({"image": name, "codec": "hcf-float-indices", "setting": k, **float_path_point(img, k)})
        if anchors:
            for q in JPEG_QUALITIES:
                n, rec = _pil(img, "jpeg", q)
                rows.append({"image": name, "codec": "jpeg420", "setting": q, **_metrics(img, rec, n, False)})
            for q in WEBP_QUALITIES:
                n, rec = _pil(img, "webp", q)
                rows.append({"image": name, "codec": "webp", "setting": q, **_metrics(img, rec, n, False)})
        echo(f"{name}: done ({time.time() - t0:.0f} s)")
    return {"eval_set": desc, "images": names, "rows": rows, "summary": summarize(rows)}


def merge(results: list[dict]) -> dict:
    """Union of the rows of several :func:`evaluate` results (e.g. one process per level)."""
    rows = [r for res in results for r in res["rows"]]
    return {"eval_set": results[0]["eval_set"], "images": results[0]["images"], "rows": rows,
            "summary": summarize(rows)}


def summarize(rows: list[dict]) -> dict:
    """Mean curves per codec and BD-rates of hcf against each anchor and the float path."""
    from ref.core.metrics import bd_psnr, bd_rate

    curves: dict[str, list[dict]] = {}
    for codec_name in sorted({r["codec"] for r in rows}):
        settings = sorted({r["setting"] for r in rows if r["codec"] == codec_name})
        pts = []
        for s in settings:
            sel = [r for r in rows if r["codec"] == codec_name and r["setting"] == s]
            pts.append({"setting": s, "bpp": float(np.mean([r["bpp"] for r in sel])),
                        "psnr": float(np.mean([r["psnr"] for r in sel])),
                        "ms_ssim": float(np.nanmean([r["ms_ssim"] for r in sel]))})
        curves[codec_name] = pts
    out = {"curves": curves, "bd": {}}
    if "hcf" in curves:
        t = curves["hcf"]
        for anchor in ("jpeg420", "webp", "hcf-float-indices"):
            if anchor in curves:
                a = curves[anchor]
                args = ([p["bpp"] for p in a], [p["psnr"] for p in a], [p["bpp"] for p in t], [p["psnr"] for p in t])
                try:
                    out["bd"][anchor] = {"bd_rate_pct": bd_rate(*args), "bd_psnr_db": bd_psnr(*args)}
                except Exception as exc:  # noqa: BLE001 - e.g. no overlap: report, do not fail
                    out["bd"][anchor] = {"error": str(exc)}
    return out


def write(result: dict, out: Path) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))


def table_lines(summary: dict) -> list[str]:
    """Markdown table of the hcf levels, then the BD-rates."""
    lines = ["| level | λ | bpp | PSNR dB | MS-SSIM | float-indices bpp | float-indices PSNR |", "|---|---|---|---|---|---|---|"]
    from ref.hcf.config import LAMBDAS

    fl = {p["setting"]: p for p in summary["curves"].get("hcf-float-indices", [])}
    for p in summary["curves"].get("hcf", []):
        f = fl.get(p["setting"], {})
        lines.append(f"| {p['setting']} | {LAMBDAS[p['setting']]} | {p['bpp']:.4f} | {p['psnr']:.2f} | {p['ms_ssim']:.4f} | "
                     f"{f.get('bpp', float('nan')):.4f} | {f.get('psnr', float('nan')):.2f} |")
    lines.append("")
    for k, v in summary["bd"].items():
        if "error" in v:
            lines.append(f"- vs {k}: {v['error']}")
        else:
            lines.append(f"- BD-rate vs {k}: {v['bd_rate_pct']:+.2f} % (BD-PSNR {v['bd_psnr_db']:+.3f} dB)")
    return lines
