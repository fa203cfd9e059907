"""``codecref bench moc``: codecref vs PyWavelets vs the walloc peer, one run (spec/moc.md, Benchmark protocol).

Times, on one 768 x 512 x 3 float32 image in [-0.5, 0.5] (seeded uniform noise):

* WPT J=3 bior4.4: codecref ``wpt_forward`` (jit, warmed), pywt ``WaveletPacketND``
  (axes (0, 1), level-3 leaves), walloc ``Codec2D.wavelet_analysis``;
* whole encode (WPT + 1x1 projection 192 -> 12 + companding + rounding + lossless-WebP
  mosaic): codecref ``ref.moc.codec.encode_image`` (random dense weights) and walloc's
  encoder + ``to_bytes`` + ``concatenate_channels`` + WebP (random weights).

The peer runs in a subprocess under ``CODECREF_PEER_PYTHON`` (default
/work/peers-venv/bin/python if it exists), via ``ref/moc/bench_peer.py``.  Medians of
``--repeat`` runs; codecref and pywt are timed in alternating warmed blocks (3 rounds), and
codecref again after the peer (median over both), so every implementation is timed in its
steady state, back to back, as the peer times walloc; ratios are (other time) / (codecref
time).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np


DEFAULT_PEER = "/work/peers-venv/bin/python"


def _median_ms(fn, repeat: int, warmup: int = 2) -> float:
    return statistics.median(_times(fn, repeat, warmup)) * 1e3


def _alternating_blocks(fa, fb, repeat: int, rounds: int = 3, warmup: int = 2) -> tuple[list, list]:
    """Time fa and fb in alternating blocks: ``rounds`` times (fa back-to-back, then fb
    back-to-back), about ``repeat`` runs of each in all.  Each block starts with ``warmup``
    untimed calls, so both are measured in their steady state, as the peer subprocess
    measures walloc; the alternation lets slow changes in machine load hit both alike.
    Returns both lists of times (s)."""
    per = max(1, -(-repeat // rounds))
    ta, tb = [], []
    for _ in range(rounds):
        ta += _times(fa, per, warmup)
        tb += _times(fb, per, warmup)
    return ta, tb


def _times(fn, repeat: int, warmup: int = 2) -> list:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return ts


def peer_python() -> str | None:
    p = os.environ.get("CODECREF_PEER_PYTHON")
    if p:
        return p if Path(p).exists() else None
    return DEFAULT_PEER if Path(DEFAULT_PEER).exists() else None


def run_peer(img: np.ndarray, repeat: int, threads: int) -> dict:
    """Time walloc in a subprocess; returns its JSON or {'error': ...}."""
    py = peer_python()
    if py is None:
        return {"error": "peer unavailable (set CODECREF_PEER_PYTHON to a python with walloc 1.2.1)"}
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "img.npy"
        np.save(path, img)
        script = Path(__file__).with_name("bench_peer.py")
        try:
            r = subprocess.run([py, str(script), str(path), str(repeat), str(threads)],
                               capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"error": f"peer failed: {exc}"}
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode or not lines:
        tail = (r.stderr or "").strip().splitlines()[-1:] or ["?"]
        return {"error": f"peer failed: {tail[0]}"}
    return json.loads(lines[-1])


def run_bench(height: int = 512, width: int = 768, repeat: int = 7, peer: bool = True,
              seed: int = 0) -> dict:
    """All timings of moc.C19 in one dict (milliseconds)."""
    import jax
    import jax.numpy as jnp
    import pywt

    from ref.moc.bottleneck import encoder_init
    from ref.moc.codec import encode_image
    from ref.moc.config import MocConfig
    from ref.moc.wpt import wpt_forward

    rng = np.random.default_rng(seed)
    img_u8 = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    x = (img_u8.astype(np.float32) / np.float32(255.0) - np.float32(0.5))
    xj = jnp.asarray(x)
    res = {"image": f"{width}x{height}x3 float32", "cpus": os.cpu_count(), "repeat": repeat}
    ours = lambda: wpt_forward(xj, "bior4.4", 3).block_until_ready()  # noqa: E731

    def pw():
        wp = pywt.WaveletPacketND(x, "bior4.4", mode="periodization", maxlevel=3, axes=(0, 1))
        return [n.data for n in wp.get_level(3, "natural")]

    t_ours, t_pywt = _alternating_blocks(ours, pw, repeat)
    cfg = MocConfig(name="rgb_16x_random")
    params = {"encoder": encoder_init(jax.random.PRNGKey(seed), cfg)}
    enc = lambda: encode_image(img_u8, params, cfg, lossless="webp")  # noqa: E731
    t_enc = _times(enc, repeat)
    data, info = encode_image(img_u8, params, cfg, lossless="webp")
    res["ours_container_bytes"] = len(data)
    if peer:
        res["peer"] = run_peer(x, repeat, os.cpu_count() or 1)
        # codecref again after the peer, so both sides of the ratio see the same load history
        t_ours += _times(ours, repeat, warmup=1)
        t_enc += _times(enc, repeat, warmup=1)
    res["ours_wpt_ms"] = statistics.median(t_ours) * 1e3
    res["pywt_wpt_ms"] = statistics.median(t_pywt) * 1e3
    res["ours_encode_ms"] = statistics.median(t_enc) * 1e3
    res["best_ms"] = {"ours_wpt": min(t_ours) * 1e3, "pywt_wpt": min(t_pywt) * 1e3,
                      "ours_encode": min(t_enc) * 1e3}
    return res


def render(res: dict) -> list[list[str]]:
    """Rows: (what, codecref ms, other, other ms, ratio)."""
    rows = []
    ours_w, ours_e = res["ours_wpt_ms"], res["ours_encode_ms"]
    rows.append(["WPT J=3 bior4.4", f"{ours_w:.1f}", "pywt 1.9 WaveletPacketND",
                 f"{res['pywt_wpt_ms']:.1f}", f"{res['pywt_wpt_ms'] / ours_w:.1f}x"])
    peer = res.get("peer", {})
    if "wpt_ms" in peer:
        rows.append(["WPT J=3 bior4.4", f"{ours_w:.1f}", f"{peer['peer']} (torch {peer['torch']})",
                     f"{peer['wpt_ms']:.1f}", f"{peer['wpt_ms'] / ours_w:.1f}x"])
        rows.append(["encode (WPT+1x1+quant+WebP)", f"{ours_e:.1f}", peer["peer"],
                     f"{peer['encode_ms']:.1f}", f"{peer['encode_ms'] / ours_e:.1f}x"])
    else:
        rows.append(["encode (WPT+1x1+quant+WebP)", f"{ours_e:.1f}", "walloc", "-",
                     peer.get("error", "peer not run")])
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--repeat", type=int, default=11, show_default=True)
@click.option("--height", type=int, default=512, show_default=True)
@click.option("--width", type=int, default=768, show_default=True)
@click.option("--no-peer", is_flag=True, help="skip the walloc subprocess")
@click.option("--json", "as_json", is_flag=True, help="print the raw JSON too")
def bench_speed(repeat: int, height: int, width: int, no_peer: bool, as_json: bool) -> None:
    """Speed of the moc encoder vs pywt and walloc (peer in a subprocess)."""
    from rich.console import Console
    from rich.table import Table

    res = run_bench(height, width, repeat, peer=not no_peer)
    t = Table(title=f"codecref bench moc ({res['image']}, {res['cpus']} CPU threads, "
                    f"median of {repeat})")
    for c in ("stage", "codecref ms", "other", "other ms", "speed-up"):
        t.add_column(c)
    for r in render(res):
        t.add_row(*r)
    con = Console()
    con.print(t)
    peer = res.get("peer", {})
    if "threads" in peer:
        con.print(f"peer threads: {peer['threads']}; codecref: XLA CPU, {res['cpus']} threads")
    b = res["best_ms"]
    con.print(f"best-of-{repeat} (least disturbed by other jobs): codecref WPT {b['ours_wpt']:.1f} ms, "
              f"pywt {b['pywt_wpt']:.1f} ms ({b['pywt_wpt'] / b['ours_wpt']:.1f}x); "
              f"codecref encode {b['ours_encode']:.1f} ms")
    if "error" in peer:
        con.print(peer["error"])
    if as_json:
        con.print(json.dumps(res))
