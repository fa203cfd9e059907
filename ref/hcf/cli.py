"""``codecref`` plug-in for hcf (see ref/cli/__init__.py for the contract)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from ref.core.errors import InputError
from ref.hcf.train import train_command  # noqa: F401

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


@click.command(context_settings=CONTEXT)
@click.option("--quality", "-q", "level", type=int, required=True, help="quality level 1 (lowest rate) .. 6")
@click.argument("infile", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("outfile", type=click.Path(dir_okay=False, allow_dash=True))
def encode_command(level: int, infile: str, outfile: str) -> None:
    """Encode IN (PNG/JPEG/..., or - for stdin) at an HCF quality level; write OUT (or - for stdout).

    OUT is written (atomically) only after a verification decode succeeded; the summary line
    goes to stderr when OUT is -."""
    from ref.core.metrics import psnr
    from ref.data.safe_write import atomic_write, check_output
    from ref.hcf.codec import decode_bytes, encode_image, get_model

    if outfile != "-":
        check_output(outfile, inputs=[infile] if infile != "-" else [], what="encoded file")
    img = _read_input(infile)
    get_model(level)
    t0 = time.perf_counter()
    data = encode_image(img, level)
    enc_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    rec = decode_bytes(data)
    dec_ms = (time.perf_counter() - t0) * 1e3
    if rec.shape != img.shape:
        raise AssertionError(f"hcf verification decode returned {rec.shape}, expected {img.shape}")
    if outfile == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(outfile, data)
    h, w, c = img.shape
    click.echo(f"hcf q{level}: {w}x{h}x{c} -> {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp, "
               f"PSNR {psnr(img, rec):.2f} dB; encode {enc_ms:.0f} ms, verification decode {dec_ms:.0f} ms "
               f"(first calls include jit) -> {outfile}", err=outfile == "-")


def decode_container(container) -> np.ndarray:
    from ref.hcf.codec import decode_container as dc

    return dc(container)


#: The demo codes at level 3: the level trained longest (docs/model-card-hcf.md).
DEMO_LEVEL = 3


def demo_row(image: np.ndarray, workdir: Path) -> dict:
    """One row of ``codecref demo``: encode/decode ``image`` at DEMO_LEVEL, write hcf.cref."""
    from ref.core.metrics import ms_ssim, psnr
    from ref.data.safe_write import atomic_write
    from ref.hcf.codec import decode_bytes, encode_image, get_model

    model = get_model(DEMO_LEVEL)
    encode_image(image, DEMO_LEVEL, model)  # warm the jit
    t0 = time.perf_counter()
    data = encode_image(image, DEMO_LEVEL, model)
    t1 = time.perf_counter()
    rec = decode_bytes(data, model)
    t2 = time.perf_counter()
    Path(workdir).mkdir(parents=True, exist_ok=True)
    atomic_write(Path(workdir) / "hcf.cref", data)
    h, w = image.shape[:2]
    return {"system": "hcf", "config": f"level {DEMO_LEVEL} (under-trained)", "bytes": len(data),
            "bpp": 8 * len(data) / (h * w), "psnr": psnr(image, rec), "ms_ssim": ms_ssim(image, rec),
            "encode_ms": (t1 - t0) * 1e3, "decode_ms": (t2 - t1) * 1e3}


from ref.hcf.bench import bench_speed  # noqa: E402  (light: heavy imports are inside)

from ref.hcf.node_bench import node_bench_command  # noqa: E402  (light: heavy imports are inside)

bench_commands = {"speed": bench_speed, "node": node_bench_command}


@click.command("rd", context_settings=CONTEXT)
@click.option("--out", "out", type=click.Path(dir_okay=False), default="out/hcf/rd.json", show_default=True)
@click.option("--levels", default="1,2,3,4,5,6", show_default=True, help="comma-separated levels")
@click.option("--limit", type=int, default=None, help="only the first LIMIT evaluation images")
@click.option("--no-float-path", is_flag=True, help="skip the float-indices comparison")
@click.option("--no-anchors", is_flag=True, help="skip JPEG / WebP")
@click.option("--merge", "merge", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="do not code: merge the rows of earlier --out files and summarise them")
def rd_command(out: str, levels: str, limit: int | None, no_float_path: bool, no_anchors: bool, merge) -> None:
    """RD of the shipped levels on the evaluation split: bpp, PSNR, MS-SSIM; BD-rate vs Pillow
    JPEG 4:2:0 and WebP; integer vs float table indices."""
    from ref.hcf import evaluate

    lv = [int(v) for v in levels.split(",") if v]
    if merge:
        res = evaluate.merge([json.loads(Path(f).read_text()) for f in merge])
    else:
        res = evaluate.evaluate(lv, limit=limit, float_path=not no_float_path, anchors=not no_anchors,
                                echo=lambda s: click.echo(s, err=True))
    evaluate.write(res, Path(out))
    click.echo(f"evaluation set: {res['eval_set']}")
    for line in evaluate.table_lines(res["summary"]):
        click.echo(line)
    click.echo(f"-> {out}")


from ref.hcf.analysis_cross import cross_command  # noqa: E402  (analyses of paper 001: heavy imports inside)
from ref.hcf.analysis_drf import drf_command  # noqa: E402
from ref.hcf.analysis_entropy import entropy_command  # noqa: E402
from ref.hcf.analysis_policies import policies_command  # noqa: E402

analyze_commands = {"rd": rd_command, "policies": policies_command, "entropy": entropy_command,
                    "drf": drf_command, "cross": cross_command}

from ref.hcf.node import transcode_command  # noqa: E402  (light: heavy imports are inside)

from ref.hcf.node_rd import node_transcode_command  # noqa: E402  (light: heavy imports are inside)

analyze_commands["node-transcode"] = node_transcode_command

#: ``codecref hcf NAME``: the intermediate node (ref/hcf/node.py)
commands = {"transcode": transcode_command}
