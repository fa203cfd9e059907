"""``codecref`` plug-in for ecf (see ref/cli/__init__.py for the contract)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from ref.core.errors import InputError

CONTEXT = {"help_option_names": ["-h", "--help"]}


def _read_input(infile: str) -> np.ndarray:
    from ref.data.imageio import read_image

    if infile != "-":
        return read_image(infile)
    data = sys.stdin.buffer.read()
    if not data:
        raise InputError("-: no image data on standard input")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "stdin"
        p.write_bytes(data)
        return read_image(p)


def default_quality() -> int:
    """The lowest quality with a shipped checkpoint (InputError if there is none)."""
    from ref.ecf.codec import shipped_qualities

    q = shipped_qualities()
    if not q:
        raise InputError("no ecf checkpoint is shipped (ref/weights/ecf_q<Q>.safetensors); train one with "
                         "codecref train ecf")
    return q[0]


@click.command(context_settings=CONTEXT)
@click.option("--quality", "-q", "quality", type=int, default=None,
              help="quality 1 (lowest rate) .. 6; default: the lowest shipped quality")
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("outfile", type=click.Path(dir_okay=False, allow_dash=True))
def encode_command(quality: int | None, infile: str, outfile: str) -> None:
    """Encode IN (PNG/JPEG/..., or - for stdin) with eContextformer; write OUT (or - for stdout).

    OUT is written (atomically) only after a verification decode reproduced the encoder's
    latent; the summary line goes to stderr when OUT is -."""
    from ref.core.metrics import psnr
    from ref.data.safe_write import atomic_write, check_output
    from ref.data.imageio import check_image
    from ref.ecf.codec import check_size, decode_bytes, encode_image, get_model

    if outfile != "-":
        check_output(outfile, inputs=[infile] if infile != "-" else [], what="encoded file")
    img = check_image(_read_input(infile), infile)
    check_size(img.shape[0], img.shape[1])
    q = default_quality() if quality is None else quality
    m = get_model(q)
    t0 = time.perf_counter()
    enc_lat: dict = {}
    data = encode_image(img, q, m, latent=enc_lat)
    enc_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    dec_lat: dict = {}
    rec = decode_bytes(data, m, latent=dec_lat)
    dec_ms = (time.perf_counter() - t0) * 1e3
    if rec.shape != img.shape or not np.array_equal(enc_lat["y_hat"], dec_lat["y_hat"]):
        raise AssertionError("ecf verification decode did not reproduce the encoder's latent (integer paths "
                             "of encoder and decoder disagree); nothing written")
    if outfile == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(outfile, data)
    h, w, c = img.shape
    click.echo(f"ecf q{q}: {w}x{h}x{c} -> {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp, "
               f"PSNR {psnr(img, rec):.2f} dB; encode {enc_ms:.0f} ms, verification decode {dec_ms:.0f} ms "
               f"(first calls include jit) -> {outfile}", err=outfile == "-")


def decode_container(container) -> np.ndarray:
    from ref.ecf.codec import decode_container as dc

    return dc(container)


from ref.ecf.bench import bench_speed  # noqa: E402  (light: heavy imports are inside)

bench_commands = {"speed": bench_speed}


from ref.ecf.evaluate import rd_command  # noqa: E402  (light: heavy imports are inside)

analyze_commands = {"rd": rd_command}


def demo_row(image: np.ndarray, workdir) -> dict:
    """One row of ``codecref demo``: encode/decode ``image`` at the lowest shipped quality
    (encode once untimed to warm the jit), write ecf.cref."""
    from pathlib import Path

    from ref.core.metrics import ms_ssim, psnr
    from ref.data.safe_write import atomic_write
    from ref.ecf.codec import decode_bytes, encode_image, get_model

    q = default_quality()
    model = get_model(q)
    encode_image(image, q, model)
    t0 = time.perf_counter()
    data = encode_image(image, q, model)
    t1 = time.perf_counter()
    rec = decode_bytes(data, model)
    t2 = time.perf_counter()
    Path(workdir).mkdir(parents=True, exist_ok=True)
    atomic_write(Path(workdir) / "ecf.cref", data)
    h, w = image.shape[:2]
    return {"system": "ecf", "config": f"quality {q} (under-trained)", "bytes": len(data),
            "bpp": 8 * len(data) / (h * w), "psnr": psnr(image, rec), "ms_ssim": ms_ssim(image, rec),
            "encode_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3}
