"""Easz paper analyses, one function each (``codecref analyze easz NAME``), plus the edge-cost
benchmark (``codecref bench easz``).  Every analysis returns (columns, rows, notes) and the
CLI writes a Markdown table, a CSV and a PNG plot.

Evaluation images only (DESIGN "Data and weights"): skimage stereo_motorcycle (both views),
hubble_deep_field; camera / moon for grayscale.  Never the training images.

Reconstruction: the shipped transformer (ref.easz.recon) where it exists and matches the
configuration's (n, b); otherwise the model-free interpolation of easz.C16, and every row
says which one ("model" or "interp").
"""

from __future__ import annotations

import io
import time
from typing import Callable

import numpy as np

from ref.data.datasets import eval_image  # noqa: F401  (re-exported for callers)

from ref.easz.codec import (EaszParams, _model_reconstruct, encode_image, finish_pixels, inner_decode,
                            inner_encode, interpolate, make_mask, parse, reconstruct_parts)
from ref.easz.patchify import pad_to_multiple, pixel_keep
from ref.easz.sampler import erase_ratio_to_T
from ref.easz.squeeze import SqueezePlan, squeeze, unsqueeze

Rows = list[list]
EVAL_RGB = ("motorcycle_left", "motorcycle_right", "hubble")
EVAL_GRAY = ("camera", "moon")


# --------------------------------------------------------------------------- data
def kodak_size(img: np.ndarray) -> np.ndarray:
    """Resize (bicubic, Pillow) to 768 x 512, the Kodak size the paper measures on."""
    from PIL import Image

    im = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    out = np.asarray(im.resize((768, 512), Image.BICUBIC), dtype=np.uint8)
    return out[:, :, None] if out.ndim == 2 else out


def center_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(img[y:y + size, x:x + size])


def model_status(n: int, b: int) -> str | None:
    """None if the shipped model reconstructs (n, b); else a one-line reason."""
    try:
        from ref.easz import recon
        _, cfg = recon.load_default()
    except ModuleNotFoundError:
        return "ref.easz.recon not available"
    except Exception as exc:  # InputError: no weights shipped yet, etc.
        return f"model unavailable ({exc})"
    if (cfg.n, cfg.b) != (n, b):
        return f"model is for n={cfg.n}, b={cfg.b}"
    return None


def reconstruct(unsq: np.ndarray, K: np.ndarray, n: int, b: int, use_model: bool) -> list[tuple[str, np.ndarray]]:
    """Decoder outputs (uint8) of an unsqueezed image: [("interp", ...)] and, when the shipped
    model matches (n, b) and ``use_model``, also ("model", ...)."""
    out = [("interp", finish_pixels(interpolate(unsq, K), unsq, K))]
    if use_model and model_status(n, b) is None:
        out.append(("model", finish_pixels(_model_reconstruct(unsq.astype(np.float32), K, n, b), unsq, K)))
    return out


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def jpeg_bytes(img: np.ndarray, quality: int) -> int:
    return len(inner_encode(img, "jpeg", quality))


# --------------------------------------------------------------------------- (a) masks
def analysis_masks(images=EVAL_RGB, subs=(1, 2, 4), ratios=(0.1, 0.2, 0.3, 0.4, 0.5), seeds=(0, 1, 2),
                   n=32, quality=75, crop=None, use_model=True, progress: Callable | None = None):
    """Paper Fig. 3 / 7c: proposed sampler vs random masks over erase ratio and sub-patch size.

    saving = 1 - JPEG(squeezed) / JPEG(original)   (Pillow JPEG, quality ``quality``)
    mse    = MSE(original, reconstruction of the losslessly squeezed image)
    averaged over ``seeds`` and images.
    """
    cols = ["b", "ratio", "T/g", "mask", "jpeg_saving_%", "interp_mse", "model_mse"]
    rows: Rows = []
    imgs = {name: eval_image(name) for name in images}
    if crop:
        imgs = {k: center_crop(v, crop) for k, v in imgs.items()}
    base = {k: jpeg_bytes(pad_to_multiple(v, n), quality) for k, v in imgs.items()}
    for b in subs:
        g = n // b
        done = set()
        for ratio in ratios:
            T = erase_ratio_to_T(ratio, g)
            if T in done:  # two ratios that round to the same T: one row
                continue
            done.add(T)
            for kind in ("sampler", "random"):
                sav, err, merr = [], [], []
                for seed in seeds:
                    keep = make_mask(EaszParams(n=n, b=b, T=T, seed=seed, mask=kind))
                    plan = SqueezePlan.build(keep, n, b)
                    for name, img in imgs.items():
                        x = pad_to_multiple(img, n)
                        sq = squeeze(x, plan)
                        sav.append(1 - jpeg_bytes(sq, quality) / base[name])
                        K = pixel_keep(keep, n, b, *x.shape[:2])
                        for how, out in reconstruct(unsqueeze(sq, plan, x.shape[1]), K, n, b, use_model):
                            (err if how == "interp" else merr).append(mse(x, out))
                        if progress:
                            progress()
                rows.append([b, ratio, f"{T}/{g}", kind, round(100 * float(np.mean(sav)), 2),
                             round(float(np.mean(err)), 2), round(float(np.mean(merr)), 2) if merr else "-"])
    notes = [f"images: {', '.join(images)}" + (f" (center {crop}x{crop})" if crop else ""),
             f"n={n}; JPEG quality {quality}; seeds {list(seeds)}; MSE of the lossless squeeze's reconstruction",
             "interp_mse: model-free interpolation (easz.C16); model_mse: shipped transformer (ref/weights), "
             "same seeds and images; '-' where no shipped model matches (n, b)"]
    return cols, rows, notes


def plot_masks(cols, rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for ci, b in enumerate(sorted({r[0] for r in rows})):
        for kind, ls in (("sampler", "-"), ("random", "--")):
            sel = [r for r in rows if r[0] == b and r[3] == kind]
            x = [int(r[2].split("/")[0]) / int(r[2].split("/")[1]) for r in sel]
            style = dict(color=f"C{ci}", linestyle=ls, marker="o" if kind == "sampler" else "x")
            ax[0].plot(x, [r[4] for r in sel], label=f"b={b} {kind}", **style)
            ax[1].plot(x, [r[5] for r in sel], label=f"b={b} {kind} (interp)", **style)
            if any(r[6] != "-" for r in sel):
                ax[1].plot(x, [r[6] for r in sel], label=f"b={b} {kind} (model)",
                           **dict(style, color="k", alpha=0.6))
    ax[0].set(xlabel="erase ratio T/g", ylabel="JPEG file saving (%)", title="Impact on JPEG (higher better)")
    ax[1].set(xlabel="erase ratio T/g", ylabel="reconstruction MSE (log)", title="Impact on recon (lower better)",
              yscale="log")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- (b) 2x SR
def bicubic_2x_columns(img: np.ndarray) -> np.ndarray:
    """Baseline: keep every other column (x[:, ::2], same pixel budget as the 2x-SR pattern)
    and upsample back to full width with Pillow bicubic."""
    from PIL import Image

    h, w, c = img.shape
    half = np.ascontiguousarray(img[:, ::2])
    chans = [np.asarray(Image.fromarray(half[:, :, k]).resize((w, h), Image.BICUBIC)) for k in range(c)]
    return np.stack(chans, axis=2)


def analysis_sr(images=EVAL_RGB + EVAL_GRAY, n=32, crop=None, use_model=True, progress=None):
    """Paper Tab. I: the 2x-SR configuration (b = 1, T = n/2 checkerboard) vs bicubic
    upsampling of the 2x column-decimated image; PSNR and MS-SSIM (ref.core.metrics),
    lossless (no inner codec) as in the paper.  Also Easz at the shipped model's geometry
    (n=32, b=4, erase ratio 0.5, sampler mask) when the model is shipped."""
    from ref.core.metrics import ms_ssim, psnr

    cols = ["image", "method", "kept", "psnr_dB", "ms_ssim"]
    rows: Rows = []
    for name in images:
        img = eval_image(name)
        if crop:
            img = center_crop(img, crop)
        x = pad_to_multiple(img, n)
        h, w = img.shape[:2]
        cands = []
        keep = make_mask(EaszParams(n=n, b=1, T=n // 2, mask="sr2x"))
        plan = SqueezePlan.build(keep, n, 1)
        K = pixel_keep(keep, n, 1, *x.shape[:2])
        for how, out in reconstruct(unsqueeze(squeeze(x, plan), plan, x.shape[1]), K, n, 1, use_model):
            cands.append((f"Easz 2x-SR pattern (b=1, T=n/2), {how}", out[:h, :w]))
        for bm in (4,):  # the shipped model's sub-patch, erase ratio 0.5: model if shipped, else interp
            keep2 = make_mask(EaszParams(n=n, b=bm, T=n // bm // 2, seed=0))
            plan2 = SqueezePlan.build(keep2, n, bm)
            K2 = pixel_keep(keep2, n, bm, *x.shape[:2])
            for how2, out2 in reconstruct(unsqueeze(squeeze(x, plan2), plan2, x.shape[1]), K2, n, bm, use_model):
                cands.append((f"Easz sampler (b={bm}, ratio 0.5), {how2}", out2[:h, :w]))
        cands.append(("bicubic upsampling of x[:, ::2]", bicubic_2x_columns(img)))
        for label, rec in cands:
            rows.append([name, label, "50%", round(psnr(img, rec), 3), round(float(ms_ssim(img, rec)), 4)])
            if progress:
                progress()
    notes = ["MS-SSIM: ref.core.metrics.ms_ssim (pytorch_msssim convention), PSNR peak 255",
             "kept = fraction of pixels transmitted (all methods keep 50%)",
             "interp = model-free interpolation (easz.C16), model = shipped transformer"]
    return cols, rows, notes


def plot_bars(cols, rows, path, key_cols=(0, 1), value_col=3, ylabel="PSNR (dB)"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    labels = [" / ".join(str(r[k]) for k in key_cols) for r in rows]
    ax.barh(range(len(rows)), [r[value_col] for r in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.set_xlabel(ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- (c) JPEG vs JPEG+Easz
def analysis_jpeg(images=EVAL_RGB, qualities=(30, 50, 75), ratio=0.25, n=32, b=4, crop=None,
                  use_model=True, progress=None):
    """Paper Tab. II style: JPEG vs JPEG+Easz at matched bpp.  For each baseline JPEG quality q,
    JPEG+Easz uses the highest inner quality whose whole container is <= the JPEG file.
    Full-reference PSNR / MS-SSIM (no no-reference metric runs offline here)."""
    from ref.core.metrics import ms_ssim, psnr

    cols = ["image", "jpeg_q", "method", "inner_q", "bpp", "psnr_dB", "ms_ssim", "recon"]
    rows: Rows = []
    use = use_model and model_status(n, b) is None
    for name in images:
        img = eval_image(name)
        if crop:
            img = center_crop(img, crop)
        h, w = img.shape[:2]
        g = n // b
        T = erase_ratio_to_T(ratio, g)
        for q in qualities:
            data = inner_encode(img, "jpeg", q)
            base = inner_decode(data, "jpeg", img.shape[2], (h, w))
            rows.append([name, q, "JPEG", q, round(8 * len(data) / (h * w), 4), round(psnr(img, base), 3),
                         round(float(ms_ssim(img, base)), 4), "-"])
            best = None
            for iq in range(100, 0, -1):  # highest inner quality that fits the JPEG's size
                p = EaszParams(n=n, b=b, T=T, inner="jpeg", quality=iq, recon="model")
                enc = encode_image(img, p)
                if len(enc.data) <= len(data):
                    best = (iq, enc)
                    break
            if best is None:
                continue
            iq, enc = best
            from ref.core.container import unpack

            parts = parse(unpack(enc.data))
            for how in ("interp", "model") if use else ("interp",):
                out = reconstruct_parts(parts, how)
                rows.append([name, q, f"JPEG+Easz (ratio {T}/{g})", iq, round(8 * len(enc.data) / (h * w), 4),
                             round(psnr(img, out), 3), round(float(ms_ssim(img, out)), 4), how])
            if progress:
                progress()
    notes = ["No no-reference metric (BRISQUE, PI, TReS) runs offline in this environment: none is "
             "installed and all need downloaded model files; full-reference PSNR / MS-SSIM reported instead.",
             f"Easz: n={n}, b={b}, sampler mask seed 0, inner JPEG; bpp = whole container bytes * 8 / (H W)"]
    return cols, rows, notes


# --------------------------------------------------------------------------- (d) edge cost
def _best(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.min(ts)), float(np.median(ts))


def edge_cost(img: np.ndarray, p: EaszParams, repeats: int = 50, jpeg_quality: int = 75) -> dict:
    """Edge-side time of erase (mask generation) + squeeze vs Pillow JPEG encoding of the same
    image, measured in one run, interleaved (best-of and median of ``repeats`` each).

    mask_s:    make_mask + SqueezePlan.build (the template and its copy plan);
    squeeze_s: pad + squeeze with that plan;
    jpeg_s:    Image.fromarray + JPEG save (quality ``jpeg_quality``) of the full image.
    """
    from PIL import Image

    def mask():
        return SqueezePlan.build(make_mask(p), p.n, p.b)

    plan = mask()

    def sq():
        return squeeze(pad_to_multiple(img, p.n), plan)

    def jpeg():
        buf = io.BytesIO()
        Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(buf, format="JPEG", quality=jpeg_quality)
        return buf

    res = {k: [] for k in ("mask", "squeeze", "jpeg")}
    for _ in range(repeats):  # interleaved, so all three see the same machine load
        for k, f in (("mask", mask), ("squeeze", sq), ("jpeg", jpeg)):
            t = time.perf_counter()
            f()
            res[k].append(time.perf_counter() - t)
    best = {k: float(np.min(v)) for k, v in res.items()}
    med = {k: float(np.median(v)) for k, v in res.items()}
    return {
        "mask_s": best["mask"], "squeeze_s": best["squeeze"], "jpeg_s": best["jpeg"],
        "ratio": (best["mask"] + best["squeeze"]) / best["jpeg"],
        "ratio_squeeze_only": best["squeeze"] / best["jpeg"],
        "ratio_median": (med["mask"] + med["squeeze"]) / med["jpeg"],
    }


EDGE_CONFIGS = ((32, 8, 0.25), (32, 4, 0.25), (32, 2, 0.25), (32, 1, 0.25), (32, 4, 0.5), (32, 2, 0.5))


def analysis_edge(images=EVAL_RGB, configs=EDGE_CONFIGS, repeats=50, progress=None):
    """Edge cost on 768 x 512 RGB (evaluation images resized to the Kodak size)."""
    cols = ["image", "n", "b", "T/g", "squeeze_us", "jpeg_us", "per_image_%", "<=5%", "mask_once_us", "incl_mask_%"]
    rows: Rows = []
    for name in images:
        img = kodak_size(eval_image(name))
        for n, b, ratio in configs:
            g = n // b
            T = erase_ratio_to_T(ratio, g)
            r = edge_cost(img, EaszParams(n=n, b=b, T=T), repeats)
            rows.append([name, n, b, f"{T}/{g}", round(r["squeeze_s"] * 1e6, 1), round(r["jpeg_s"] * 1e6, 1),
                         round(100 * r["ratio_squeeze_only"], 2), "yes" if r["ratio_squeeze_only"] <= 0.05 else "no",
                         round(r["mask_s"] * 1e6, 1), round(100 * r["ratio"], 2)])
            if progress:
                progress()
    notes = ["768x512 RGB (evaluation image resized), Pillow JPEG quality 75 of the same image; best of "
             f"{repeats} interleaved repeats of each step, measured in one run",
             "per_image = erase+squeeze (pad + squeeze with the image's mask template; erased sub-patches are "
             "simply not copied) / JPEG encode; the mask template is generated once per (seed, n, b, T) and "
             "reused for every image (paper: 'a consistent mask is utilized on both edge and server sides'); "
             "incl_mask adds its generation time"]
    return cols, rows, notes


ANALYSES = {
    "masks": (analysis_masks, plot_masks),
    "sr": (analysis_sr, lambda c, r, p: plot_bars(c, r, p, (0, 1), 3, "PSNR (dB)")),
    "jpeg": (analysis_jpeg, lambda c, r, p: plot_bars(c, r, p, (0, 1, 2), 5, "PSNR (dB) at matched bpp")),
    "edge": (analysis_edge, lambda c, r, p: plot_bars(c, r, p, (0, 2, 3), 6, "erase+squeeze / JPEG encode (%)")),
}


def write_outputs(name: str, cols, rows, notes, outdir, plot) -> list[str]:
    """<out>/easz_<name>.md (table + notes), .csv, .png; returns the paths."""
    from pathlib import Path

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# Easz analysis: {name}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    md += [""] + [f"- {n}" for n in notes]
    paths = [out / f"easz_{name}.md", out / f"easz_{name}.csv", out / f"easz_{name}.png"]
    paths[0].write_text("\n".join(md) + "\n")
    paths[1].write_text("\n".join(",".join(str(v) for v in r) for r in [cols] + rows) + "\n")
    plot(cols, rows, paths[2])
    return [str(p) for p in paths]
