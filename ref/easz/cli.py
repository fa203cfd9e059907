"""Easz CLI plug-in (docs/architecture.md "CLI plug-in").

* ``codecref encode --system easz --erase-ratio R --inner jpeg[:Q]|webp[:Q]|png [--seed S]
  [--patch n] [--sub b] [--mask sampler|random|diagonal|sr2x] [--recon model|interp] IN OUT``
* ``codecref decode IN OUT.png`` -> :func:`decode_container`
* ``codecref analyze easz masks|sr|jpeg|edge [--out DIR] [--quick]``
* ``codecref bench easz`` (edge cost: erase + squeeze vs Pillow JPEG encode)
* ``codecref train easz`` -> ``ref.easz.train.train_command`` (imported only when asked for)

The model (JAX) is imported lazily: encoding never touches it.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from ref.core.errors import InputError

CONTEXT = {"help_option_names": ["-h", "--help"]}


# --------------------------------------------------------------------------- encode / decode
@click.command(context_settings=CONTEXT)
@click.option("--erase-ratio", "ratio", type=str, default=None,
              help="fraction of sub-patches erased per row, [0, 1); T = floor(R*g + 1/2) (required for "
                   "sampler/random masks)")
@click.option("--inner", "inner", default="jpeg", show_default=True, help="inner codec: jpeg[:Q] | webp[:Q] | png")
@click.option("--seed", type=int, default=0, show_default=True, help="mask seed (u64)")
@click.option("--patch", "n", type=int, default=None, help="patch side n (default 32)")
@click.option("--sub", "b", type=int, default=None, help="sub-patch side b (default 4, the shipped model's; 1 for sr2x)")
@click.option("--delta", "delta", type=int, default=1, show_default=True,
              help="intra-row threshold (eq. 1, strict >; default easz.C29)")
@click.option("--inter-delta", "Delta", type=int, default=0, show_default=True,
              help="inter-row threshold (strict >; -1 = off; default easz.C29)")
@click.option("--mask", "mask", type=click.Choice(["sampler", "random", "diagonal", "sr2x"]), default="sampler",
              show_default=True)
@click.option("--recon", "recon", type=click.Choice(["model", "interp"]), default="model", show_default=True,
              help="server-side reconstruction recorded in the file")
@click.argument("infile", type=click.Path(dir_okay=False))
@click.argument("outfile", type=click.Path(dir_okay=False))
def encode_command(ratio, inner, seed, n, b, delta, Delta, mask, recon, infile, outfile) -> None:
    """Erase + squeeze IN, code the squeezed image with an inner codec, write OUT."""
    from ref.data.imageio import read_image
    from ref.data.safe_write import atomic_write, check_output
    from ref.easz.codec import DEFAULT_B, DEFAULT_N, EaszParams, encode_image, parse_inner
    from ref.easz.patchify import check_geometry
    from ref.easz.sampler import erase_ratio_to_T

    check_output(outfile, inputs=[infile], what="encoded file")
    codec, quality = parse_inner(inner)
    n = DEFAULT_N if n is None else n
    b = (1 if mask == "sr2x" else DEFAULT_B) if b is None else b
    g = check_geometry(n, b)
    if mask == "diagonal":
        T = 1
    elif mask == "sr2x":
        if g % 2:
            raise InputError("the 2x-SR pattern needs an even n/b")
        T = g // 2
    else:
        if ratio is None:
            raise InputError("--erase-ratio is required for the sampler and random masks")
        T = erase_ratio_to_T(ratio, g)
    if seed < 0 or seed >= 1 << 64:
        raise InputError(f"--seed {seed} must be in [0, 2**64)")
    if recon == "model":  # refuse now what the decoder could not reconstruct
        from ref.easz.analyses import model_status

        why = model_status(n, b)
        if why is not None:
            raise InputError(f"--recon model cannot be decoded with n={n}, b={b}: {why} "
                             "(use --recon interp, or the model's --patch/--sub)")
    img = read_image(infile)
    p = EaszParams(n=n, b=b, T=T, delta=delta, Delta=Delta, seed=seed, mask=mask, inner=codec,
                   quality=quality, recon=recon)
    t0 = time.perf_counter()
    enc = encode_image(img, p)
    ms = (time.perf_counter() - t0) * 1e3
    atomic_write(outfile, enc.data)
    h, w, c = img.shape
    click.echo(f"easz: {w}x{h}x{c} -> {enc.squeezed.shape[1]}x{enc.squeezed.shape[0]} squeezed "
               f"(n={n}, b={b}, T={T}/{g}, erase ratio {T / g:.4f}, {mask} mask, seed {seed}), "
               f"{codec}{':' + str(quality) if codec != 'png' else ''} -> {len(enc.data)} bytes "
               f"({8 * len(enc.data) / (h * w):.4f} bpp) in {ms:.1f} ms -> {outfile}")


def decode_container(container) -> np.ndarray:
    """An easz container -> uint8 (H, W, C) (inner decode, unsqueeze, reconstruct)."""
    from ref.easz.codec import parse, reconstruct_parts

    return reconstruct_parts(parse(container))


# --------------------------------------------------------------------------- demo
def demo_row(image: np.ndarray, workdir: Path) -> dict:
    """One row of ``codecref demo``: erase ratio 0.25, inner JPEG q75, model if shipped."""
    from ref.core.container import unpack
    from ref.core.metrics import ms_ssim, psnr
    from ref.easz.analyses import model_status
    from ref.easz.codec import DEFAULT_B, DEFAULT_N, EaszParams, encode_image, parse, reconstruct_parts
    from ref.easz.sampler import erase_ratio_to_T

    g = DEFAULT_N // DEFAULT_B
    recon = "model" if model_status(DEFAULT_N, DEFAULT_B) is None else "interp"
    p = EaszParams(n=DEFAULT_N, b=DEFAULT_B, T=erase_ratio_to_T(0.25, g), inner="jpeg", quality=75, recon=recon)
    t0 = time.perf_counter()
    data = encode_image(image, p).data
    t1 = time.perf_counter()
    out = reconstruct_parts(parse(unpack(data, expect_system="easz")))
    t2 = time.perf_counter()
    Path(workdir).mkdir(parents=True, exist_ok=True)
    from ref.data.safe_write import atomic_write

    atomic_write(Path(workdir) / "easz.cref", data)
    h, w = image.shape[:2]
    return {"system": "easz", "config": f"ratio 0.25, jpeg:75, {recon}", "bytes": len(data),
            "bpp": 8 * len(data) / (h * w), "psnr": psnr(image, out), "ms_ssim": float(ms_ssim(image, out)),
            "encode_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3}


# --------------------------------------------------------------------------- analyses
def _run_analysis(name: str, outdir: str, quick: bool, no_model: bool) -> None:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ref.easz import analyses as A

    fn, plot = A.ANALYSES[name]
    kwargs = {}
    if name != "edge":
        kwargs["use_model"] = not no_model
    if quick:
        kwargs.update({"masks": {"crop": 256, "seeds": (0,)}, "sr": {"crop": 256}, "jpeg": {"crop": 256},
                       "edge": {"repeats": 15}}[name])
    with Progress(transient=True) as prog:
        task = prog.add_task(f"easz {name}", total=None)
        cols, rows, notes = fn(progress=lambda: prog.advance(task), **kwargs)
    paths = A.write_outputs(name, cols, rows, notes, outdir, plot)
    con = Console()
    t = Table(title=f"easz {name}")
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*[str(v) for v in r])
    con.print(t)
    for note in notes:
        con.print(f"- {note}")
    con.print("wrote " + ", ".join(paths))


def _analysis_command(name: str, doc: str) -> click.Command:
    @click.command(name=name, context_settings=CONTEXT, help=doc)
    @click.option("--out", "outdir", type=click.Path(file_okay=False), default="out/easz", show_default=True)
    @click.option("--quick", is_flag=True, help="smaller run (crops / fewer seeds / repeats)")
    @click.option("--no-model", is_flag=True, help="use the model-free interpolation even if a model is shipped")
    def cmd(outdir: str, quick: bool, no_model: bool) -> None:
        _run_analysis(name, outdir, quick, no_model)

    return cmd


analyze_commands = {
    "masks": _analysis_command("masks", "(a) sampler vs random masks: JPEG file saving and recon MSE (Fig. 3, 7c)."),
    "sr": _analysis_command("sr", "(b) 2x-SR configuration vs bicubic upsampling: PSNR, MS-SSIM (Tab. I)."),
    "jpeg": _analysis_command("jpeg", "(c) JPEG vs JPEG+Easz at matched bpp (Tab. II style)."),
    "edge": _analysis_command("edge", "(d) edge cost: erase+squeeze time / JPEG encode time."),
}


# --------------------------------------------------------------------------- bench
@click.command(context_settings=CONTEXT)
@click.option("--repeats", type=int, default=100, show_default=True)
@click.option("--patch", "n", type=int, default=32, show_default=True)
@click.option("--sub", "b", type=int, default=None, help="sub-patch side (default: 4, 2 and 8)")
@click.option("--erase-ratio", "ratio", type=str, default="0.25", show_default=True)
def bench_edge(repeats: int, n: int, b: int | None, ratio: str) -> None:
    """Edge cost on a 768x512 RGB evaluation image: (mask + squeeze) / Pillow JPEG encode, one run."""
    from ref.easz.analyses import edge_cost, eval_image, kodak_size
    from ref.easz.codec import EaszParams
    from ref.easz.patchify import check_geometry
    from ref.easz.sampler import erase_ratio_to_T

    if repeats < 1:
        raise InputError("--repeats must be >= 1")
    img = kodak_size(eval_image("motorcycle_left"))
    click.echo("image: skimage stereo_motorcycle (left) resized to 768x512 RGB; JPEG = Pillow quality 75; "
               f"best of {repeats} interleaved repeats")
    for sub in ([b] if b else [4, 2, 8]):
        g = check_geometry(n, sub)
        T = erase_ratio_to_T(ratio, g)
        r = edge_cost(img, EaszParams(n=n, b=sub, T=T), repeats)
        verdict = "meets" if r["ratio_squeeze_only"] <= 0.05 else "misses"
        click.echo(f"n={n} b={sub} T={T}/{g}: per image: erase+squeeze {r['squeeze_s'] * 1e6:.1f} us vs JPEG encode "
                   f"{r['jpeg_s'] * 1e6:.1f} us -> {100 * r['ratio_squeeze_only']:.2f}% ({verdict} the 5% target); "
                   f"one-off mask generation {r['mask_s'] * 1e6:.1f} us (with it: {100 * r['ratio']:.2f}%)")


bench_commands = {"edge": bench_edge}
