"""``codecref bench ecf``: eContextformer encode / whole decode time vs two CompressAI peers.

Protocol (issue 15): one 768x512 RGB image (the top-left 768x512 of the first corpus
evaluation photograph, else of the bundled motorcycle_left), same machine, one run each:

* codecref ecf at a shipped quality (``--quality``; jit warmed by one untimed encode +
  decode): encode and the whole decode (container -> z^ -> integer h_s -> 2 N_cs groups of
  integer context + g_e indices, mixture tables, rANS -> g_s -> uint8), with its parts:
  networks (g_a + h_a / g_s), integer h_s, integer context model + g_e, mixture tables
  ([core.table_gmm]), rANS + escapes.  The issue's target "mixture tables + ANS <= 1 s each
  way" is the sum of the last two;
* CompressAI 1.2.8 ``Elic2022Chandelier`` (checkerboard + channel groups) and
  ``mbt2018-mean`` (``MeanScaleHyperprior(128, 192)``), PyTorch CPU, random weights, in a
  subprocess under the peer interpreter (``CODECREF_PEER_PYTHON``, default
  /work/peers-venv/bin/python; ref/ecf/bench_peer.py).

The machine is shared, so ``--repeat`` > 1 reports median and minimum.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import click
import numpy as np

PEERS = ("elic2022-chandelier", "mbt2018-mean")


def bench_image(height: int = 512, width: int = 768) -> tuple[np.ndarray, str]:
    from ref.data.datasets import corpus_eval_names, eval_image

    names = corpus_eval_names()
    name = names[0] if names else "motorcycle_left"
    img = eval_image(name)
    if img.shape[0] < height or img.shape[1] < width:
        raise click.ClickException(f"bench image {name} is smaller than {width}x{height}")
    return np.ascontiguousarray(img[:height, :width, :3]), name


def time_ours(img: np.ndarray, quality: int, repeat: int, model=None) -> dict:
    """Encode / decode ``img`` ``repeat`` times after one warm-up; -> {encode_ms, decode_ms
    (lists), encode_parts, decode_parts (median ms per part), bytes}."""
    from ref.ecf.codec import decode_bytes, encode_image, get_model

    m = model if model is not None else get_model(quality)
    data = encode_image(img, quality, m)
    decode_bytes(data, m)
    enc, dec, pe, pd = [], [], [], []
    for _ in range(repeat):
        te: dict = {}
        t = time.perf_counter()
        data = encode_image(img, quality, m, times=te)
        enc.append((time.perf_counter() - t) * 1e3)
        td: dict = {}
        t = time.perf_counter()
        decode_bytes(data, m, times=td)
        dec.append((time.perf_counter() - t) * 1e3)
        pe.append(te)
        pd.append(td)
    med = lambda parts: {k: round(statistics.median(p[k] for p in parts), 1) for k in parts[0]}  # noqa: E731
    return {"encode_ms": [round(v, 1) for v in enc], "decode_ms": [round(v, 1) for v in dec],
            "encode_parts": med(pe), "decode_parts": med(pd), "bytes": len(data)}


def run_peer(img: np.ndarray, name: str, repeat: int, threads: int) -> dict:
    py = os.environ.get("CODECREF_PEER_PYTHON", "/work/peers-venv/bin/python")
    if not Path(py).exists():
        return {"error": f"peer interpreter {py} not found (set CODECREF_PEER_PYTHON)"}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "img.npy"
        np.save(path, img)
        try:
            r = subprocess.run([py, str(Path(__file__).with_name("bench_peer.py")), str(path), name, str(repeat),
                                str(threads)], capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"error": f"peer failed: {exc}"}
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode or not lines:
        tail = (r.stderr or "").strip().splitlines()[-1:] or ["?"]
        return {"error": f"peer failed: {tail[0]}"}
    return json.loads(lines[-1])


def run_bench(quality: int, repeat: int = 1, peers=PEERS, checkpoint: str | None = None) -> dict:
    """Time ours (the shipped checkpoint of ``quality``, or the file ``checkpoint``) and the peers."""
    model = None
    if checkpoint:
        from ref.ecf.checkpoint import load_codec_model

        model = load_codec_model(quality, checkpoint)
    img, name = bench_image()
    res = {"image": f"{name} top-left 768x512", "quality": quality, "cpus": os.cpu_count(), "repeat": repeat,
           "checkpoint": checkpoint or "shipped", "model": (model.model_id if model else None),
           "ours": time_ours(img, quality, repeat, model)}
    res["peers"] = {p: run_peer(img, p, repeat, os.cpu_count() or 1) for p in peers}
    return res


def coding_ms(parts: dict) -> float:
    """Mixture tables + rANS (with escapes and z) of one side, ms."""
    return parts["tables_ms"] + parts["ans_ms"]


def render(res: dict) -> list[list[str]]:
    ours = res["ours"]
    fmt = lambda v: f"{statistics.median(v):.0f} / {min(v):.0f}"  # noqa: E731
    rows = [["codecref ecf q%d" % res["quality"], fmt(ours["encode_ms"]), fmt(ours["decode_ms"]), "1.00x",
             f"{ours['bytes']}"]]
    d_ours = statistics.median(ours["decode_ms"])
    for name, p in res["peers"].items():
        if "decode_ms" in p:
            rows.append([f"CompressAI {name}", fmt(p["encode_ms"]), fmt(p["decode_ms"]),
                         f"{d_ours / statistics.median(p['decode_ms']):.2f}x", f"{p['bytes']} (random weights)"])
        else:
            rows.append([f"CompressAI {name}", "-", "-", "-", p.get("error", "not run")])
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quality", type=int, default=None,
              help="quality to time (default: the lowest shipped; 3 with --checkpoint)")
@click.option("--repeat", type=int, default=1, show_default=True, help="timed runs (after one warm-up)")
@click.option("--no-peer", is_flag=True, help="skip the CompressAI subprocesses")
@click.option("--checkpoint", type=click.Path(dir_okay=False, exists=True), default=None,
              help="time this ecf checkpoint file of QUALITY instead of the shipped one")
@click.option("--json", "as_json", type=click.Path(dir_okay=False), default=None, help="also write the raw JSON here")
def bench_speed(quality: int | None, repeat: int, no_peer: bool, checkpoint: str | None, as_json: str | None) -> None:
    """Encode / whole decode of a 768x512 image: ecf vs CompressAI Elic2022Chandelier and mbt2018-mean."""
    from rich.console import Console
    from rich.table import Table

    from ref.ecf.cli import default_quality

    q = (3 if checkpoint else default_quality()) if quality is None else quality
    res = run_bench(q, repeat, () if no_peer else PEERS, checkpoint)
    t = Table(title=f"codecref bench ecf ({res['image']}, {res['cpus']} CPU threads, {repeat} timed run(s); "
                    "ms median / min)")
    for c in ("codec", "encode ms", "decode ms", "ecf decode / this decode", "bytes"):
        t.add_column(c)
    for r in render(res):
        t.add_row(*r)
    con = Console()
    con.print(t)
    con.print(f"ecf checkpoint: {res['checkpoint']} {res['model'] or ''}")
    for side in ("encode", "decode"):
        parts = res["ours"][f"{side}_parts"]
        con.print(f"ecf {side} parts (median ms): {parts}; mixture tables + ANS = {coding_ms(parts):.0f} ms")
    if as_json:
        Path(as_json).parent.mkdir(parents=True, exist_ok=True)
        Path(as_json).write_text(json.dumps(res, indent=1))
        con.print(f"-> {as_json}")
