"""``codecref`` plug-in for moc (see ref/cli/__init__.py for the contract)."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from ref.core.errors import InputError

CONTEXT = {"help_option_names": ["-h", "--help"]}
LARGE_PIXELS = 1 << 22  # encodes of at least this many pixels print progress on stderr


@click.command(context_settings=CONTEXT)
@click.option("--model", default="rgb_16x", show_default=True,
              help="rgb_16x | rgb_4x (trained) | linear_rgb_16x | linear_rgb_4x | linear_gray_16x | linear_gray_4x")
@click.option("--lossless", type=click.Choice(["webp", "png", "ans"]), default="webp", show_default=True,
              help="lossless stage: mosaic as WebP or PNG, or fitted table + core ANS")
@click.argument("infile", type=click.Path(dir_okay=False))
@click.argument("outfile", type=click.Path(dir_okay=False))
def encode_command(model: str, lossless: str, infile: str, outfile: str) -> None:
    """Encode IN with a moc model and write OUT; prints rate, multiplier, PSNR, MS-SSIM.

    OUT is written (atomically) only after the verification decode succeeds."""
    from ref.data.imageio import read_image
    from ref.data.safe_write import atomic_write, check_output
    from ref.core.metrics import ms_ssim, psnr
    from ref.moc.codec import decode_bytes, encode_image, get_model

    check_output(outfile, inputs=[infile], what="encoded file")
    t_start = time.perf_counter()
    img = read_image(infile)
    params, cfg, _ = get_model(model)
    h, w, c = img.shape
    if h * w >= LARGE_PIXELS:
        click.echo(f"moc: encoding {w}x{h}x{c} ({h * w / 1e6:.1f} MP) with {model} ...", err=True)
    t0 = time.perf_counter()
    data, info = encode_image(img, params, cfg, model=model, lossless=lossless)
    enc_ms = (time.perf_counter() - t0) * 1e3
    if h * w >= LARGE_PIXELS:
        click.echo(f"moc: encoded in {enc_ms / 1e3:.1f} s; verification decode ...", err=True)
    t0 = time.perf_counter()
    rec = decode_bytes(data)
    dec_ms = (time.perf_counter() - t0) * 1e3
    if rec.shape != img.shape:
        raise AssertionError(f"moc verification decode returned {rec.shape}, expected {img.shape}")
    atomic_write(outfile, data)
    try:
        mss = f"{ms_ssim(img, rec):.4f}"
    except InputError:
        mss = "n/a (image < 161 px)"
    click.echo(f"moc {model} ({cfg.reduction:g}x dimension reduction, {lossless}): {w}x{h}x{c} -> "
               f"{len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp, compression ratio "
               f"{img.size / len(data):.1f}:1, lossless multiplier {info.multiplier:.2f}x; "
               f"PSNR {psnr(img, rec):.2f} dB, MS-SSIM {mss}; "
               f"encode {enc_ms:.0f} ms (analysis {info.times['analysis_ms']:.0f} ms incl. jit "
               f"on a first call, packing {info.times['pack_ms']:.0f} ms), verification decode "
               f"{dec_ms:.0f} ms, total {(time.perf_counter() - t_start) * 1e3:.0f} ms -> {outfile}")


def decode_container(container) -> np.ndarray:
    from ref.moc.codec import decode_container as dc

    return dc(container)


def demo_row(image: np.ndarray, workdir: Path) -> dict:
    from ref.core.metrics import ms_ssim, psnr
    from ref.moc.codec import DEFAULT_MODEL, decode_bytes, encode_image, get_model

    try:
        name = DEFAULT_MODEL
        params, cfg, _ = get_model(name)
    except InputError:
        name = "linear_rgb_16x"
        params, cfg, _ = get_model(name)
    encode_image(image, params, cfg, model=name)  # warm the jit
    t0 = time.perf_counter()
    data, _ = encode_image(image, params, cfg, model=name)
    t1 = time.perf_counter()
    rec = decode_bytes(data)
    t2 = time.perf_counter()
    Path(workdir).mkdir(parents=True, exist_ok=True)
    from ref.data.safe_write import atomic_write

    atomic_write(Path(workdir) / "moc.cref", data)
    h, w = image.shape[:2]
    return {"system": "moc", "config": f"{name} webp", "bytes": len(data),
            "bpp": 8 * len(data) / (h * w), "psnr": psnr(image, rec), "ms_ssim": ms_ssim(image, rec),
            "encode_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3}


def _analysis_command(name: str, doc: str) -> click.Command:
    @click.command(name=name, help=doc, context_settings=CONTEXT)
    @click.option("--out", "outdir", type=click.Path(file_okay=False), default=f"out/moc", show_default=True)
    @click.option("--quick", is_flag=True, help="one evaluation image, fewer points (for tests)")
    @click.option("--models/--no-models", default=True, show_default=True,
                  help="include the trained models when their checkpoints ship")
    def cmd(outdir, quick, models):
        from ref.moc import analyses

        analyses.run(name, outdir=outdir, quick=quick, use_models=models)
    return cmd


analyze_commands = {
    "rd": _analysis_command("rd", "RD table + plot across latent dimension and bit depth "
                                  "(linear PCA models; trained models where shipped)."),
    "reduction": _analysis_command("reduction", "Dimension reduction vs reconstruction quality (PSNR, MS-SSIM; no downstream accuracy): resolution "
                                                "reduction vs WPT bottleneck at equal dimension."),
    "multiplier": _analysis_command("multiplier", "Lossless multiplier of WebP / PNG / ANS on the "
                                                  "quantised latents of the evaluation images."),
}


from ref.moc.bench import bench_speed  # noqa: E402  (light: heavy imports are inside)

bench_commands = {"speed": bench_speed}
