"""``codecref bench kl``: Kozachenko-Leonenko k-NN search, codecref vs scipy cKDTree.

For each (n, d) in --n x --d, on the same standard-normal samples (numpy
``default_rng(seed)``, float64), it times

* **codecref**: :func:`ref.core.knn.knn_distances` (max-norm by default; blocked JAX search,
  query axis over all devices), one call including its JIT compilation;
* **cKDTree**: ``scipy.spatial.cKDTree(x).query(x, k + 1, p=inf, workers=-1)``, tree build
  included;

each in a fresh child process (so the peak resident memory of each is its own,
``ru_maxrss``), and prints wall and CPU seconds, the speed-up, peak memory, whether the
k-th neighbour distances are bit-identical and the relative difference of the estimates H.
A contender that runs past --timeout seconds is stopped; its time is then a lower bound
("> T") and so is the speed-up.  The load average is printed with each row: on a shared
machine, read the CPU seconds too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from ref.core.errors import InputError

_WORKER = """
import json, resource, sys, time
import numpy as np
import ref
n, d, k, seed, norm, who, out = json.loads(sys.argv[1])
x = np.random.default_rng(seed).standard_normal((n, d))
t0, c0 = time.perf_counter(), time.process_time()
if who == "codecref":
    from ref.core.knn import knn_distances
    st = {}
    rho = knn_distances(x, k, norm, stats=st)[:, k - 1]
else:
    from scipy.spatial import cKDTree
    st = {}
    rho = cKDTree(x).query(x, k + 1, p=np.inf if norm == "max" else 2.0, workers=-1)[0][:, k]
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
np.save(out + ".npy", rho)
json.dump({"wall": wall, "cpu": cpu, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "stats": st}, open(out + ".json", "w"))
"""


def run_child(n: int, d: int, k: int, seed: int, norm: str, who: str, timeout: float, tmp: Path) -> dict:
    """Run one contender in a child process; {"wall", "cpu", "maxrss_mb", "rho"} or {"timeout": s}."""
    out = str(tmp / f"{who}_{n}_{d}")
    args = json.dumps([n, d, k, seed, norm, who, out])
    t0 = time.perf_counter()
    try:
        subprocess.run([sys.executable, "-c", _WORKER, args], check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": time.perf_counter() - t0}
    except subprocess.CalledProcessError as exc:
        raise InputError(f"{who} failed at n={n}, d={d} (exit {exc.returncode})") from None
    res = json.loads(Path(out + ".json").read_text())
    res["rho"] = np.load(out + ".npy")
    return res


def entropy_of(rho: np.ndarray, d: int, k: int, norm: str) -> float:
    from ref.core.kl_entropy import kl_entropy_from_distances

    return kl_entropy_from_distances(rho, d, k, norm)


def _ints(text: str) -> list[int]:
    try:
        vals = [int(v.replace("_", "").replace("k", "000")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"expected comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise InputError(f"expected positive integers, got {text!r}")
    return vals


@click.command("kl", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--n", "ns", default="20000,100000", show_default=True, help="sample counts, comma-separated (20k ok)")
@click.option("--d", "ds", default="16,64,192", show_default=True, help="dimensions, comma-separated")
@click.option("--k", "k", type=int, default=4, show_default=True)
@click.option("--norm", type=click.Choice(["max", "euclidean"]), default="max", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--timeout", type=float, default=3600.0, show_default=True,
              help="seconds after which a contender is stopped (its time becomes a lower bound)")
@click.option("--json-out", type=click.Path(dir_okay=False), default=None, help="also write the rows as JSON")
def bench_command(ns: str, ds: str, k: int, norm: str, seed: int, timeout: float, json_out: str | None) -> None:
    """Time codecref's exact k-NN entropy search against scipy cKDTree (workers=-1)."""
    from rich.console import Console
    from rich.table import Table

    from ref.core.runtime import jax as _jax

    con = Console()
    jax = _jax()
    con.print(f"devices: {len(jax.devices())} x {jax.devices()[0].platform}; cpus: {os.cpu_count()}; "
              f"k={k}; norm={norm}; data: standard normal, seed {seed}")
    rows, records = [], []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for n in _ints(ns):
            for d in _ints(ds):
                load0 = os.getloadavg()[0]
                ours = run_child(n, d, k, seed, norm, "codecref", timeout, tmp)
                peer = run_child(n, d, k, seed, norm, "ckdtree", timeout, tmp)
                load1 = os.getloadavg()[0]
                rec = {"n": n, "d": d, "k": k, "norm": norm, "load": [load0, load1]}
                for name, r in (("codecref", ours), ("ckdtree", peer)):
                    rec[name] = {key: v for key, v in r.items() if key != "rho"}
                if "rho" in ours and "rho" in peer:
                    h0, h1 = entropy_of(ours["rho"], d, k, norm), entropy_of(peer["rho"], d, k, norm)
                    rec.update(h_codecref=h0, h_ckdtree=h1, h_rel_diff=abs(h0 - h1) / abs(h1),
                               rho_bit_equal=bool(np.array_equal(ours["rho"], peer["rho"])))
                    agree = f"{rec['h_rel_diff']:.1e}" + (" (rho ==)" if rec["rho_bit_equal"] else "")
                else:
                    agree = "-"
                records.append(rec)

                def t(r, key="wall"):
                    if "timeout" in r:  # stopped: the wall time is a lower bound, the CPU time unknown
                        return f"> {r['timeout']:.0f}" if key == "wall" else "-"
                    return f"{r[key]:.1f}"

                if "timeout" in ours:
                    ratio = "-"
                elif "timeout" in peer:
                    ratio = f"> {peer['timeout'] / ours['wall']:.1f}x"
                else:
                    ratio = f"{peer['wall'] / ours['wall']:.2f}x"
                mem = lambda r: "-" if "timeout" in r else f"{r['maxrss_mb']:.0f}"  # noqa: E731
                rows.append([str(n), str(d), t(ours), t(ours, "cpu"), mem(ours), t(peer), t(peer, "cpu"), mem(peer),
                             ratio, agree, f"{load0:.1f}/{load1:.1f}"])
                con.print(f"n={n} d={d}: codecref {t(ours)} s, cKDTree {t(peer)} s, {ratio}, H rel diff {agree}")
    table = Table(title=f"codecref bench kl: exact k-NN (k={k}, {norm}-norm), codecref vs scipy cKDTree workers=-1")
    for col in ["n", "d", "codecref s", "cpu s", "peak MB", "cKDTree s", "cpu s", "peak MB", "speed-up",
                "H rel. diff", "load 1m"]:
        table.add_column(col)
    for r in rows:
        table.add_row(*r)
    con.print(table)
    if json_out:
        Path(json_out).write_text(json.dumps(records, indent=1))
