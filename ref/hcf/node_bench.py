"""``codecref bench hcf:node``: the intermediate node, HCF vs DRF (paper 001 Tab. 3).

For each single-level hop k -> k-1 (default all five, 6 -> 5 ... 2 -> 1) on one 768x512 RGB
image (ref.hcf.bench.bench_image: the top-left 768x512 of the first corpus evaluation
photograph), with the shipped base levels:

* FLOPs (2 x MACs, ref.hcf.complexity.node_cost, hcf.C23): transforms (DRF g_s^k + g_a^{k-1}
  vs HCF phi_{k->k-1}, Tab. 3's comparison) and the whole node (+ h_s^k, h_a^{k-1}, h_s^{k-1}).
* Parameters: g_s^k + g_a^{k-1} vs one phi (node_cost).
* Memory of the transform programs: XLA's compiled memory analysis (arguments + outputs +
  temporaries, bytes) of the jitted phi vs the jitted g_s and g_a; DRF runs g_s then g_a, so
  its figure is the larger of the two.  And of the whole node call: the peak of the process
  RSS above its value before the call, sampled every 0.5 ms from /proc/self/statm by a thread
  (includes NumPy, rANS and XLA buffers; allocator reuse can hide memory already held).
* Time: the median over ``--repeat`` calls (after one warm-up call that compiles) of (a) the
  transforms alone (phi vs g_s + g_a, jitted, results blocked) and (b) the whole node on the
  bitstream: container parsing + entropy decoding incl. the integer h_s + transforms +
  h_a, integer h_s, rANS encoding and the container (ref.hcf.node.transcode_hcf /
  ref.hcf.node_drf.transcode_drf).

The cascade: ``--cascade PATH``, else the shipped ref/weights/hcf_cascade.safetensors, else
random modules (init_cascade_modules) -- FLOPs, parameters, memory and time of phi do not
depend on its weights; the table says which was used.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import threading
import time
from pathlib import Path

import click
import numpy as np

HOPS = (6, 5, 4, 3, 2)


class _RssPeak:
    """Peak RSS (bytes) above the value at start, sampled from /proc/self/statm."""

    def __init__(self, period: float = 0.0005):
        self.period, self.peak, self._stop = period, 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def __enter__(self):
        self.base = self.peak = self._rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.period)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._rss())
        self.delta = self.peak - self.base


def _compiled_bytes(fn, *args) -> int:
    """Arguments + outputs + temporaries of the XLA program of jitted ``fn(*args)``."""
    m = fn.lower(*args).compile().memory_analysis()
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)


def _median_ms(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def cascade_for_bench(path: str | None, levels) -> tuple[object, str]:
    """(CascadeModules, label): --cascade, the shipped one, or random modules."""
    import jax

    from ref.hcf import cascade_checkpoint as CC
    from ref.hcf.codec import get_model
    from ref.hcf.node import load_cascade
    from ref.hcf.transform import init_cascade_modules

    if path is not None or CC.exists():
        c = load_cascade(path)
        return c, f"cascade {path or CC.DEFAULT_PATH.name} ({'trained' if c.train else 'no training record'})"
    lo, hi = min(levels), max(levels)
    mods = init_cascade_modules(jax.random.key(0), {k: get_model(k).cfg.M for k in range(lo, hi + 1)}, hi, lo)
    mods = jax.tree_util.tree_map(np.asarray, mods)
    return (CC.CascadeModules(mods, {k: get_model(k).model_id for k in range(lo, hi + 1)}, {}),
            "random modules (no shipped cascade; cost does not depend on the weights)")


def bench_hop(img: np.ndarray, k: int, cascade, repeat: int) -> dict:
    """Every measurement of the module docstring for the hop k -> k-1."""
    import jax
    import jax.numpy as jnp

    from ref.core.container import unpack
    from ref.hcf import codec
    from ref.hcf.complexity import node_cost
    from ref.hcf.model import analysis
    from ref.hcf.node import transcode_hcf
    from ref.hcf.node_drf import transcode_drf
    from ref.hcf.transform import phi_jit

    K = k - 1
    m_k, m_K = codec.get_model(k), codec.get_model(K)
    H, W = img.shape[:2]
    cost = node_cost(m_k.cfg, m_K.cfg, H, W)
    data = codec.encode_image(img, k, m_k)
    y_hat, _, _ = codec.decode_latent(unpack(data), m_k)
    y_hat = jnp.asarray(y_hat)
    x = jnp.asarray(codec.to_network(codec.pad_image(img)))
    phi_p = jax.tree_util.tree_map(jnp.asarray, cascade.modules[k]["inter"])
    ga = jax.jit(analysis)

    def hcf_t():
        phi_jit(phi_p, y_hat).block_until_ready()

    def drf_t():
        xr = codec._decoder_net(m_k.params, y_hat)
        xr.block_until_ready()
        ga(m_K.params, x).block_until_ready()

    mem = {"hcf_transform_bytes": _compiled_bytes(phi_jit, phi_p, y_hat),
           "drf_transform_bytes": max(_compiled_bytes(codec._decoder_net, m_k.params, y_hat),
                                      _compiled_bytes(ga, m_K.params, x))}
    node = {"hcf": lambda times=None: transcode_hcf(data, K, None, cascade=cascade, times=times),
            "drf": lambda times=None: transcode_drf(data, K, times=times)}
    res = {"hop": f"{k}>{K}", "height": H, "width": W, "cost": cost.to_dict(), **mem}
    for mode, tf in (("hcf", hcf_t), ("drf", drf_t)):
        tf()  # compile
        res[f"{mode}_transform_ms"] = _median_ms(tf, repeat)
        node[mode]()  # compile / warm
        parts, total = [], []
        for _ in range(repeat):
            t: dict = {}
            t0 = time.perf_counter()
            node[mode](t)
            total.append((time.perf_counter() - t0) * 1e3)
            parts.append(t)
        res[f"{mode}_node_ms"] = total
        res[f"{mode}_node_parts_median_ms"] = {p: statistics.median(d[p] for d in parts) for p in parts[0]}
        with _RssPeak() as rss:
            node[mode]()
        res[f"{mode}_node_rss_delta_bytes"] = rss.delta
    return res


def _red(hcf: float, drf: float) -> float:
    return 100.0 * (1.0 - hcf / drf)


def table_rows(results: list[dict]) -> list[dict]:
    """One row per hop: the reductions (HCF vs DRF, %) and the raw values."""
    rows = []
    for r in results:
        c = r["cost"]
        med = {k: statistics.median(r[k]) for k in ("hcf_transform_ms", "drf_transform_ms", "hcf_node_ms", "drf_node_ms")}
        rows.append({
            "hop": r["hop"],
            "flops_transform_hcf": 2 * c["hcf_transforms"], "flops_transform_drf": 2 * c["drf_transforms"],
            "flops_transform_red_pct": _red(c["hcf_transforms"], c["drf_transforms"]),
            "flops_node_red_pct": 100.0 * c["node_reduction"],
            "params_hcf": c["hcf_params"], "params_drf": c["drf_params"],
            "params_red_pct": 100.0 * c["params_reduction"],
            "mem_transform_hcf_mb": r["hcf_transform_bytes"] / 2**20, "mem_transform_drf_mb": r["drf_transform_bytes"] / 2**20,
            "mem_transform_red_pct": _red(r["hcf_transform_bytes"], r["drf_transform_bytes"]),
            "rss_node_hcf_mb": r["hcf_node_rss_delta_bytes"] / 2**20, "rss_node_drf_mb": r["drf_node_rss_delta_bytes"] / 2**20,
            "time_transform_hcf_ms": med["hcf_transform_ms"], "time_transform_drf_ms": med["drf_transform_ms"],
            "time_transform_red_pct": _red(med["hcf_transform_ms"], med["drf_transform_ms"]),
            "time_node_hcf_ms": med["hcf_node_ms"], "time_node_drf_ms": med["drf_node_ms"],
            "time_node_red_pct": _red(med["hcf_node_ms"], med["drf_node_ms"]),
            "hcf_parts_ms": r["hcf_node_parts_median_ms"], "drf_parts_ms": r["drf_node_parts_median_ms"],
        })
    return rows


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"# Intermediate node, HCF vs DRF ({meta['image']}, {meta['modules']}; median of {meta['repeat']}, "
             f"{meta['cpus']} CPUs)", "",
             "| hop | FLOPs transforms HCF / DRF (G) | red. % | FLOPs whole node red. % | params HCF / DRF | red. % | "
             "transform memory HCF / DRF (MB, XLA) | red. % | node RSS peak delta HCF / DRF (MB) | "
             "transform time HCF / DRF (ms) | red. % | node time HCF / DRF (ms) | red. % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['hop']} | {r['flops_transform_hcf'] / 1e9:.3f} / {r['flops_transform_drf'] / 1e9:.3f} | "
            f"{r['flops_transform_red_pct']:.2f} | {r['flops_node_red_pct']:.2f} | {r['params_hcf']:,} / {r['params_drf']:,} | "
            f"{r['params_red_pct']:.2f} | {r['mem_transform_hcf_mb']:.2f} / {r['mem_transform_drf_mb']:.2f} | "
            f"{r['mem_transform_red_pct']:.2f} | {r['rss_node_hcf_mb']:.1f} / {r['rss_node_drf_mb']:.1f} | "
            f"{r['time_transform_hcf_ms']:.1f} / {r['time_transform_drf_ms']:.1f} | {r['time_transform_red_pct']:.1f} | "
            f"{r['time_node_hcf_ms']:.0f} / {r['time_node_drf_ms']:.0f} | {r['time_node_red_pct']:.1f} |")
    lines += ["", "Node time parts (median ms): " + "; ".join(
        f"{r['hop']} HCF {', '.join(f'{k} {v:.0f}' for k, v in r['hcf_parts_ms'].items())} | DRF "
        f"{', '.join(f'{k} {v:.0f}' for k, v in r['drf_parts_ms'].items())}" for r in rows), ""]
    return "\n".join(lines)


def run(out: Path, hops=HOPS, repeat: int = 5, cascade_path: str | None = None, echo=print) -> tuple[list[dict], dict]:
    from ref.hcf.bench import bench_image

    img, name = bench_image()
    levels = sorted({k for h in hops for k in (h, h - 1)})
    cascade, label = cascade_for_bench(cascade_path, levels)
    meta = {"image": f"{name} top-left 768x512", "modules": label, "repeat": repeat, "cpus": os.cpu_count(),
            "load_average": os.getloadavg()}
    results = []
    for k in hops:
        results.append(bench_hop(img, k, cascade, repeat))
        echo(f"hop {k}>{k - 1} done")
    rows = table_rows(results)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "node_bench.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (out / "node_bench.md").write_text(markdown(rows, meta))
    with open(out / "node_bench.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[k for k in rows[0] if not k.endswith("parts_ms")], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return rows, meta


@click.command("node", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--hop", "hops", type=int, multiple=True, help="upper level k of a hop k -> k-1 (repeat); default 6..2")
@click.option("--repeat", type=int, default=5, show_default=True)
@click.option("--cascade", "cascade_path", type=click.Path(dir_okay=False), default=None,
              help="cascade checkpoint (default: the shipped one, else random modules)")
@click.option("--out", type=click.Path(file_okay=False), default="out/hcf/node_bench", show_default=True)
def node_bench_command(hops, repeat: int, cascade_path: str | None, out: str) -> None:
    """Tab. 3: the intermediate node on 768x512, HCF vs DRF -- FLOPs, parameters, memory, time
    (transforms alone and the whole node); writes OUT/node_bench.{md,csv,json}."""
    from ref.core.errors import InputError

    hops = tuple(hops) or HOPS
    if any(k not in HOPS for k in hops):
        raise InputError(f"--hop must be in {', '.join(map(str, HOPS))} (hop k -> k-1)")
    if repeat < 1:
        raise InputError("--repeat must be >= 1")
    rows, meta = run(Path(out), hops, repeat, cascade_path, echo=lambda s: click.echo(s, err=True))
    click.echo(markdown(rows, meta))
    click.echo(f"-> {out}/node_bench.md, .csv, .json")
