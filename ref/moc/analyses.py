"""``codecref analyze moc rd | reduction | multiplier`` (talk 002's trade-offs).

Every row says what produced it: ``linear (PCA)`` = the training-free PCA bottleneck of
moc.C16 (WPT -> top-M principal directions fitted on the training images -> companding
-> rounding, decoded by the orthogonal projection back); ``learned`` = a trained moc model
of ref/weights (ViT decoder), where shipped; ``resample`` = resolution reduction (moc.C17).
Quality is measured only on the evaluation images of moc.C18.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image

from ref.core.metrics import ms_ssim, psnr
from ref.core.registry import implements

from ref.data.datasets import EVAL_GRAY, EVAL_RGB


def eval_images(gray: bool = False, quick: bool = False) -> list[tuple[str, np.ndarray]]:
    """The evaluation images (never trained on), uint8 (H, W, C)."""
    from ref.data.datasets import load_image

    names = EVAL_GRAY if gray else EVAL_RGB
    if quick:
        names = names[:1]
    out = []
    for n in names:
        img = load_image(n)
        if quick:
            img = img[:256, :384]
        out.append((n, img))
    return out


@implements("moc.C17")
def resample_baseline(img: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """Resolution reduction by 2^k (box average, uint8) + lossless WebP + bicubic upsample.

    Returns (reconstruction uint8 (H, W, C), coded bytes of the small image).
    """
    from ref.moc.codec import pad_image
    from ref.moc.packing import image_encode

    H, W, C = img.shape
    f = 1 << k
    p = pad_image(img, f).astype(np.float64)
    small = p.reshape(p.shape[0] // f, f, p.shape[1] // f, f, C).mean(axis=(1, 3))
    small = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    nbytes = len(image_encode(small if C == 3 else small[:, :, :1], "webp"))
    planes = [Image.fromarray(small[:, :, c]).resize((p.shape[1], p.shape[0]), Image.BICUBIC)
              for c in range(C)]
    up = np.stack([np.asarray(q) for q in planes], axis=2)
    return np.ascontiguousarray(up[:H, :W]), nbytes


def _codec_point(img, name, params, cfg, lossless="webp"):
    from ref.moc.codec import decode_bytes, encode_image

    data, info = encode_image(img, params, cfg, model=name, lossless=lossless)
    rec = decode_bytes(data) if not name.startswith("linear_") or name in _SHIPPED_LINEAR \
        else _decode_linear(data, params, cfg)
    h, w = img.shape[:2]
    return {"bytes": len(data), "bpp": 8 * len(data) / (h * w), "psnr": psnr(img, rec),
            "ms_ssim": ms_ssim(img, rec), "multiplier": info.multiplier}


_SHIPPED_LINEAR = ("linear_rgb_16x", "linear_rgb_4x", "linear_gray_16x", "linear_gray_4x")


def _decode_linear(data, params, cfg):
    """Decode with an ad-hoc linear model (any R, any bits) -- same path as the codec."""
    import jax
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.moc.codec import read_symbols, to_uint8
    from ref.moc.companding import from_symbols
    from ref.moc.encoder import synthesis
    from ref.moc.linear import linear_decode

    c = ctr.unpack(data, expect_system="moc")
    q = jnp.asarray(from_symbols(read_symbols(c), cfg.latent_bits))
    xh = jax.jit(lambda p, q: synthesis(p, q, cfg, linear_decode))(params, q)
    hd = c.header
    return to_uint8(xh)[: int(hd["h"]), : int(hd["w"])]


def _learned_models(use_models: bool) -> list[str]:
    if not use_models:
        return []
    try:
        from ref.moc import model as mm
    except Exception:  # pragma: no cover
        return []
    return mm.list_models()


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows]))


def rd_rows(quick: bool = False, use_models: bool = True) -> list[dict]:
    """RD across latent dimension (reduction R) and bit depth b, averaged over eval images."""
    from ref.moc.linear import linear_model

    reductions = (4, 16) if quick else (4, 8, 16, 32, 64)
    bits_list = (6, 8) if quick else (4, 5, 6, 7, 8)
    out = []
    for gray in (False, True):
        imgs = eval_images(gray, quick)
        C = 1 if gray else 3
        for R in reductions:
            for b in bits_list:
                name = f"linear_{'gray' if gray else 'rgb'}_{R}x_b{b}"
                params, cfg = linear_model(C, R, bits=b, name=name)
                pts = [_codec_point(img, name, params, cfg) for _, img in imgs]
                out.append({"model": name, "kind": "linear (PCA)", "channels": C, "R": R,
                            "bits": b, "latent": cfg.latent_channels,
                            **{k: _mean(pts, k) for k in ("bpp", "psnr", "ms_ssim", "multiplier")}})
    from ref.moc.codec import get_model

    for name in _learned_models(use_models):
        params, cfg, _ = get_model(name)
        imgs = eval_images(False, quick)
        pts = [_codec_point(img, name, params, cfg) for _, img in imgs]
        out.append({"model": name, "kind": "learned (ViT decoder)", "channels": cfg.in_channels,
                    "R": cfg.reduction, "bits": cfg.latent_bits, "latent": cfg.latent_channels,
                    **{k: _mean(pts, k) for k in ("bpp", "psnr", "ms_ssim", "multiplier")}})
    return out


def reduction_rows(quick: bool = False, use_models: bool = True) -> list[dict]:
    """Resolution reduction vs WPT bottleneck at equal dimension R = 4^k (RGB eval images)."""
    from ref.moc.linear import linear_model

    imgs = eval_images(False, quick)
    out = []
    for k in ((1, 2) if quick else (1, 2, 3)):
        R = 4 ** k
        pts = []
        for _, img in imgs:
            rec, nb = resample_baseline(img, k)
            h, w = img.shape[:2]
            pts.append({"bpp": 8 * nb / (h * w), "psnr": psnr(img, rec), "ms_ssim": ms_ssim(img, rec)})
        out.append({"method": f"resample 1/{1 << k} per axis", "kind": "resample", "R": R,
                    **{kk: _mean(pts, kk) for kk in ("bpp", "psnr", "ms_ssim")}})
        name = f"linear_rgb_{R}x_b8"
        params, cfg = linear_model(3, R, bits=8, name=name)
        pts = [_codec_point(img, name, params, cfg) for _, img in imgs]
        out.append({"method": f"WPT J=3 + PCA 192->{cfg.latent_channels}", "kind": "linear (PCA)",
                    "R": R, **{kk: _mean(pts, kk) for kk in ("bpp", "psnr", "ms_ssim")}})
    from ref.moc.codec import get_model

    for name in _learned_models(use_models):
        params, cfg, _ = get_model(name)
        pts = [_codec_point(img, name, params, cfg) for _, img in imgs]
        out.append({"method": f"WPT J=3 + learned ({name})", "kind": "learned (ViT decoder)",
                    "R": cfg.reduction, **{kk: _mean(pts, kk) for kk in ("bpp", "psnr", "ms_ssim")}})
    return sorted(out, key=lambda r: (r["R"], r["kind"]))


def multiplier_rows(quick: bool = False, use_models: bool = True) -> list[dict]:
    """Lossless multiplier (raw 8-bit latent bytes / coded bytes) of WebP, PNG and ANS."""
    from ref.moc.codec import encode_image, get_model

    names = ["linear_rgb_16x", "linear_rgb_4x"] + _learned_models(use_models)
    out = []
    for name in names:
        params, cfg, _ = get_model(name)
        for _, img in eval_images(False, quick):
            row = {"model": name, "kind": "linear (PCA)" if name.startswith("linear") else "learned",
                   "image": _, "raw_bytes": None}
            for mode in ("webp", "png", "ans"):
                data, info = encode_image(img, params, cfg, model=name, lossless=mode)
                row["raw_bytes"] = info.latent_raw
                row[mode] = info.multiplier
                row[f"{mode}_bpp"] = 8 * len(data) / (img.shape[0] * img.shape[1])
            out.append(row)
    return out


def _write(rows: list[dict], outdir: Path, stem: str, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    outdir.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0].keys())
    with open(outdir / f"{stem}.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=keys)
        wr.writeheader()
        wr.writerows(rows)
    t = Table(title=title)
    for k in keys:
        t.add_column(k)
    for r in rows:
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values()])
    Console().print(t)


def _plot(rows, outdir: Path, stem: str, which: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    if which == "rd":
        groups = {}
        for r in rows:
            key = (r["kind"], r["channels"], r["R"])
            groups.setdefault(key, []).append(r)
        for (kind, C, R), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
            rs = sorted(rs, key=lambda r: r["bpp"])
            ax.plot([r["bpp"] for r in rs], [r["psnr"] for r in rs], "o-" if kind.startswith("linear") else "s",
                    label=f"{kind}, {'RGB' if C == 3 else 'grey'}, {R:g}x")
        ax.set_xscale("log")
        ax.set_xlabel("bpp (whole container)")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title("moc RD: latent dimension (curves) x bit depth (points)")
    else:
        for kind in sorted({r["kind"] for r in rows}):
            rs = sorted([r for r in rows if r["kind"] == kind], key=lambda r: r["R"])
            ax.plot([r["R"] for r in rs], [r["psnr"] for r in rs], "o-", label=kind)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("dimension reduction R")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title("resolution reduction vs WPT bottleneck at equal dimension")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    path = outdir / f"{stem}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(name: str, outdir: str = "out/moc", quick: bool = False, use_models: bool = True) -> list[dict]:
    out = Path(outdir)
    if name == "rd":
        rows = rd_rows(quick, use_models)
        _write(rows, out, "moc_rd", "moc RD (evaluation images; linear = PCA, no training)")
        p = _plot(rows, out, "moc_rd", "rd")
    elif name == "reduction":
        rows = reduction_rows(quick, use_models)
        _write(rows, out, "moc_reduction", "dimension reduction vs reconstruction quality (PSNR, MS-SSIM; RGB evaluation images)")
        p = _plot(rows, out, "moc_reduction", "reduction")
    elif name == "multiplier":
        rows = multiplier_rows(quick, use_models)
        _write(rows, out, "moc_multiplier", "lossless multiplier (raw 8-bit latent bytes / coded bytes)")
        p = None
    else:
        raise ValueError(name)
    if p is not None:
        print(f"plot -> {p}")
    return rows
