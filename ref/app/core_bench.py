"""``codecref bench core``: throughput of the entropy coder, measured in one run.

On the same symbols and tables it times

* **raw constriction** -- the direct constriction 0.5.0 API at its best for this
  stream format (spec [core.ans_order]: symbols grouped by table; one eager
  ``Categorical(p, perfect=False)`` per table, one ``encode_reverse`` / ``decode``
  call per table);
* **adapter** -- ``ref.core.ans.encode`` / ``decode`` (validation, ordering,
  model construction, bytes serialisation and the ``finish`` check included);
* the ratio adapter / raw (goal >= 0.8);
* **mirror** -- the pure-NumPy reference coder, on the first ``--mirror-n`` symbols;
* for reference, constriction's model-family form in natural symbol order (one
  probability row per symbol), the alternative that [core.ans_order] rejects.

Throughputs are millions of symbols per second, best of ``--repeat`` runs.
"""

from __future__ import annotations

import os
import time

import click
import numpy as np

from ref.core import ans
from ref.core.ans_mirror import TOTAL
from ref.conformance.core_vectors.ans_vectors import random_tables, sample_symbols
from ref.core.errors import InputError


def _best(fn, repeat: int):
    """(best wall time in s, last result) of ``repeat`` calls of fn()."""
    (t, out), = _race([fn], repeat)
    return t, out


def _race(fns, repeat: int):
    """[(best wall time in s, last result)] per function, calls interleaved round-robin
    so that a load change on a shared machine hits every contender alike."""
    best = [float("inf")] * len(fns)
    outs = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[i] = fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return list(zip(best, outs))


def raw_encode(cs, symbols: np.ndarray, freqs: np.ndarray, table_idx: np.ndarray) -> bytes:
    """Direct constriction use for one group in [core.ans_order] order -> stream bytes."""
    order = np.argsort(table_idx.astype(np.uint16), kind="stable")
    counts = np.bincount(table_idx, minlength=freqs.shape[0])
    ends = np.cumsum(counts)
    sym = symbols[order].astype(np.int32)
    coder = cs.stream.stack.AnsCoder()
    for t in np.flatnonzero(counts)[::-1].tolist():
        model = cs.stream.model.Categorical(freqs[t].astype(np.float64) - 1.0, perfect=False)
        coder.encode_reverse(sym[ends[t] - counts[t]:ends[t]], model)
    return coder.get_compressed().astype("<u4").tobytes()


def raw_decode(cs, data: bytes, freqs: np.ndarray, table_idx: np.ndarray) -> np.ndarray:
    """Inverse of :func:`raw_encode` -> symbols int32 (N,)."""
    order = np.argsort(table_idx.astype(np.uint16), kind="stable")
    counts = np.bincount(table_idx, minlength=freqs.shape[0])
    coder = cs.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
    parts = []
    for t in np.flatnonzero(counts).tolist():
        model = cs.stream.model.Categorical(freqs[t].astype(np.float64) - 1.0, perfect=False)
        parts.append(coder.decode(model, int(counts[t])))
    out = np.empty(table_idx.size, dtype=np.int32)
    out[order] = np.concatenate(parts) if parts else []
    return out


def family_encode(cs, symbols, freqs, table_idx, block: int = 4096):
    """constriction model family, natural order: one float64 row per symbol."""
    fam = cs.stream.model.Categorical(perfect=False)
    coder = cs.stream.stack.AnsCoder()
    for lo in range((symbols.size - 1) // block * block, -1, -block):
        rows = freqs[table_idx[lo:lo + block]].astype(np.float64) - 1.0
        coder.encode_reverse(symbols[lo:lo + block].astype(np.int32), fam, rows)
    return coder.get_compressed()


def family_decode(cs, words, freqs, table_idx, block: int = 4096):
    fam = cs.stream.model.Categorical(perfect=False)
    coder = cs.stream.stack.AnsCoder(words)
    return np.concatenate([
        coder.decode(fam, freqs[table_idx[lo:lo + block]].astype(np.float64) - 1.0)
        for lo in range(0, table_idx.size, block)])


def run_case(cs, n: int, k: int, n_tables: int, mirror_n: int, family_n: int, repeat: int, seed: int) -> dict:
    """Time one case; returns throughputs (Msym/s) and checks that all streams agree."""
    rng = np.random.default_rng(seed)
    freqs = random_tables(rng, n_tables, k, shape=0.3)
    table_idx = rng.integers(0, n_tables, size=n).astype(np.int32)
    symbols = sample_symbols(rng, freqs, table_idx)
    row = {"case": f"{n_tables} table{'s' if n_tables > 1 else ''}, K={k}", "n": n}
    if cs is not None:
        (t_re, raw), (t_ae, data) = _race([
            lambda: raw_encode(cs, symbols, freqs, table_idx),
            lambda: ans.encode(symbols, freqs, table_idx, backend="constriction")], repeat)
        (t_rd, raw_out), (t_ad, out) = _race([
            lambda: raw_decode(cs, raw, freqs, table_idx),
            lambda: ans.decode(data, freqs, table_idx, backend="constriction")], repeat)
        if data != raw or not np.array_equal(out, symbols) or not np.array_equal(raw_out, symbols):
            raise RuntimeError("adapter and raw constriction disagree (bug)")
        row.update(raw_enc=n / t_re / 1e6, raw_dec=n / t_rd / 1e6, ad_enc=n / t_ae / 1e6,
                   ad_dec=n / t_ad / 1e6, bits_per_symbol=8 * len(data) / n)
        row["ratio_enc"] = row["ad_enc"] / row["raw_enc"]
        row["ratio_dec"] = row["ad_dec"] / row["raw_dec"]
        if family_n:
            m = min(family_n, n)
            t_fe, words = _best(lambda: family_encode(cs, symbols[:m], freqs, table_idx[:m]), 1)
            t_fd, fout = _best(lambda: family_decode(cs, words, freqs, table_idx[:m]), 1)
            if not np.array_equal(fout, symbols[:m]):
                raise RuntimeError("model-family round trip failed (bug)")
            row.update(fam_n=m, fam_enc=m / t_fe / 1e6, fam_dec=m / t_fd / 1e6)
    m = min(mirror_n, n)
    t_me, mdata = _best(lambda: ans.encode(symbols[:m], freqs, table_idx[:m], backend="mirror"), 1)
    t_md, mout = _best(lambda: ans.decode(mdata, freqs, table_idx[:m], backend="mirror"), 1)
    if not np.array_equal(mout, symbols[:m]):
        raise RuntimeError("mirror round trip failed (bug)")
    if cs is not None and mdata != ans.encode(symbols[:m], freqs, table_idx[:m], backend="constriction"):
        raise RuntimeError("mirror and constriction streams differ (bug)")
    row.update(mirror_n=m, mir_enc=m / t_me / 1e6, mir_dec=m / t_md / 1e6)
    return row


@click.command("core", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--n", "n", type=int, default=1_000_000, show_default=True, help="symbols per case")
@click.option("--k", "k", type=int, default=256, show_default=True, help="alphabet size K")
@click.option("--tables", type=int, default=64, show_default=True, help="tables in the multi-table case")
@click.option("--mirror-n", type=int, default=20_000, show_default=True, help="symbols for the (slow) mirror")
@click.option("--family-n", type=int, default=200_000, show_default=True,
              help="symbols for the model-family reference row (0: skip)")
@click.option("--repeat", type=int, default=7, show_default=True,
              help="best of this many runs (raw and adapter interleaved)")
@click.option("--seed", type=int, default=0, show_default=True)
def bench_command(n: int, k: int, tables: int, mirror_n: int, family_n: int, repeat: int, seed: int) -> None:
    """Entropy coder throughput: raw constriction vs the adapter vs the NumPy mirror."""
    from rich.console import Console
    from rich.table import Table

    if n < 1 or mirror_n < 1 or repeat < 1 or tables < 1 or family_n < 0:
        raise InputError("--n, --mirror-n, --repeat and --tables must be >= 1, --family-n >= 0")
    if not 2 <= k <= ans.K_MAX or tables > 1 << 16:
        raise InputError(f"--k must be in [2, {ans.K_MAX}] and --tables <= 65536")
    cs = ans._constriction()
    con = Console()
    if con.width < 120:          # the table needs ~110 columns; wrap rather than squeeze it
        con = Console(width=120)
    rows = [run_case(cs, n, k, t, mirror_n, family_n if t > 1 else 0, repeat, seed) for t in (tables, 1)]

    def pair(row, a, b, fmt="{:.2f}"):
        return f"{fmt.format(row[a])} / {fmt.format(row[b])}" if a in row else "n/a"

    table = Table(title=f"codecref bench core: Msym/s encode / decode, best of {repeat}; constriction "
                        f"{'0.5.0' if cs is not None else 'not installed'}")
    for col in ("case", "N", "raw constriction", "adapter", "ratio adapter/raw", "bits/sym", "mirror N", "mirror"):
        table.add_column(col, justify="left" if col == "case" else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["case"], f"{r['n']:,}", pair(r, "raw_enc", "raw_dec"), pair(r, "ad_enc", "ad_dec"),
                      pair(r, "ratio_enc", "ratio_dec"),
                      f"{r['bits_per_symbol']:.3f}" if "bits_per_symbol" in r else "n/a",
                      f"{r['mirror_n']:,}", pair(r, "mir_enc", "mir_dec"))
    con.print(table)
    for r in rows:
        if "fam_enc" in r:
            con.print(f"reference, {r['case']}: constriction model family in natural order (one "
                      f"probability row per symbol), N={r['fam_n']:,}: enc {r['fam_enc']:.2f} / dec "
                      f"{r['fam_dec']:.2f} Msym/s -- the order [core.ans_order] avoids", markup=False)
    con.print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end of the run "
              "(a loaded machine makes single ratios noisy; rerun to compare)", markup=False)
    con.print("raw = direct constriction API in the spec's order; adapter = ref.core.ans.encode/decode "
              "(incl. validation and finish); streams checked identical (raw == adapter == mirror).", markup=False)
