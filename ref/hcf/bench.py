"""``codecref bench hcf``: HCF encode/decode time vs CompressAI's MeanScaleHyperprior.

Protocol (issue 12): one 768x512 RGB image (the top-left 768x512 of the first corpus
evaluation photograph, else of the bundled motorcycle_left), same machine, one run:
codecref's shipped level (``--level``, jit warmed) and CompressAI 1.2.8
``MeanScaleHyperprior(N, M)`` at the same N, M (PyTorch CPU, random weights,
``update(force=True)``, its C++ rANS; in a subprocess under the peer interpreter,
``CODECREF_PEER_PYTHON``, default /work/peers-venv/bin/python).  codecref is timed before
and after the peer so that both see the same load history; the table reports medians and,
because the machine is shared, minima.  codecref's times include the integer
hyper-synthesis (its share is reported).
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


def bench_image(height: int = 512, width: int = 768) -> tuple[np.ndarray, str]:
    from ref.data.datasets import corpus_eval_names, eval_image

    names = corpus_eval_names()
    name = names[0] if names else "motorcycle_left"
    img = eval_image(name)
    if img.shape[0] < height or img.shape[1] < width:
        raise click.ClickException(f"bench image {name} is smaller than {width}x{height}")
    return np.ascontiguousarray(img[:height, :width, :3]), name


def _time_ours(img, level, repeat):
    from ref.hcf.codec import decode_bytes, encode_image, get_model

    m = get_model(level)
    data = encode_image(img, level, m)
    decode_bytes(data, m)  # warm the jit
    enc, dec, parts_e, parts_d = [], [], [], []
    for _ in range(repeat):
        te: dict = {}
        t = time.perf_counter()
        data = encode_image(img, level, m, times=te)
        enc.append(time.perf_counter() - t)
        td: dict = {}
        t = time.perf_counter()
        decode_bytes(data, m, times=td)
        dec.append(time.perf_counter() - t)
        parts_e.append(te)
        parts_d.append(td)
    return enc, dec, parts_e, parts_d, len(data)


def run_peer(img, N, M, repeat, threads) -> dict:
    py = os.environ.get("CODECREF_PEER_PYTHON", "/work/peers-venv/bin/python")
    if not Path(py).exists():
        return {"error": f"peer interpreter {py} not found (set CODECREF_PEER_PYTHON)"}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "img.npy"
        np.save(path, img)
        try:
            r = subprocess.run([py, str(Path(__file__).with_name("bench_peer.py")), str(path), str(N), str(M),
                                str(repeat), str(threads)], capture_output=True, text=True, timeout=1200)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"error": f"peer failed: {exc}"}
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode or not lines:
        tail = (r.stderr or "").strip().splitlines()[-1:] or ["?"]
        return {"error": f"peer failed: {tail[0]}"}
    return json.loads(lines[-1])


def run_bench(level: int = 3, repeat: int = 5, peer: bool = True) -> dict:
    from ref.hcf.config import config_for

    cfg = config_for(level)
    img, name = bench_image()
    enc, dec, pe, pd, nbytes = _time_ours(img, level, repeat)
    res = {"image": f"{name} top-left 768x512", "level": level, "N": cfg.N, "M": cfg.M, "cpus": os.cpu_count(),
           "repeat": repeat, "ours_bytes": nbytes}
    if peer:
        res["peer"] = run_peer(img, cfg.N, cfg.M, repeat, os.cpu_count() or 1)
        e2, d2, pe2, pd2, _ = _time_ours(img, level, repeat)
        enc, dec, pe, pd = enc + e2, dec + d2, pe + pe2, pd + pd2
    res["ours_encode_ms"] = [round(t * 1e3, 2) for t in enc]
    res["ours_decode_ms"] = [round(t * 1e3, 2) for t in dec]
    for tag, parts in (("encode", pe), ("decode", pd)):
        res[f"ours_{tag}_parts_median_ms"] = {k: round(statistics.median(p[k] for p in parts), 2) for k in parts[0]}
    return res


def render(res: dict) -> list[list[str]]:
    rows = []
    peer = res.get("peer", {})
    for tag in ("encode", "decode"):
        ours = res[f"ours_{tag}_ms"]
        parts = res[f"ours_{tag}_parts_median_ms"]
        share = parts["int_hs_ms"] / statistics.median(ours) * 100
        row = [tag, f"{statistics.median(ours):.0f} / {min(ours):.0f}", f"{parts['int_hs_ms']:.1f} ({share:.1f}%)"]
        if f"{tag}_ms" in peer:
            p = peer[f"{tag}_ms"]
            row += [f"{statistics.median(p):.0f} / {min(p):.0f}",
                    f"{statistics.median(ours) / statistics.median(p):.2f}x / {min(ours) / min(p):.2f}x"]
        else:
            row += ["-", peer.get("error", "peer not run")]
        rows.append(row)
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--level", type=int, default=3, show_default=True, help="shipped quality level to time")
@click.option("--repeat", type=int, default=5, show_default=True)
@click.option("--no-peer", is_flag=True, help="skip the CompressAI subprocess")
@click.option("--json", "as_json", is_flag=True, help="print the raw JSON too")
def bench_speed(level: int, repeat: int, no_peer: bool, as_json: bool) -> None:
    """Encode/decode time of HCF vs CompressAI MeanScaleHyperprior at the same N, M (768x512)."""
    from rich.console import Console
    from rich.table import Table

    res = run_bench(level, repeat, peer=not no_peer)
    t = Table(title=f"codecref bench hcf ({res['image']}, level {level}, N={res['N']} M={res['M']}, "
                    f"{res['cpus']} CPU threads)")
    for c in ("", "codecref ms (median / min)", "of which integer h_s ms", "CompressAI ms (median / min)",
              "codecref / CompressAI"):
        t.add_column(c)
    for r in render(res):
        t.add_row(*r)
    con = Console()
    con.print(t)
    con.print(f"codecref parts (median ms): encode {res['ours_encode_parts_median_ms']}, "
              f"decode {res['ours_decode_parts_median_ms']}")
    if as_json:
        con.print(json.dumps(res))
