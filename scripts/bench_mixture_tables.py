"""Measure mixture tables + ANS for one latent, both ways (issue 15 target: <= 1 s each way).

    .venv/bin/python scripts/bench_mixture_tables.py [--reference] [--n 294912]

Default latent: 48 x 32 x 192 = 294,912 elements (a 768 x 512 image at stride 16), k = 3
Gaussian components per element with random integer indices (scale in [0, 64), means within
+-40, M = 8), R = 64.  Prints wall and CPU (process_time) seconds for the table build and the
ANS coding on each side; the decode is checked against the input.  --reference times the
readable twin ref.core.tables.mixture_tables_reference instead of the fast path.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ref.core import ans
from ref.core import tables as T
from ref.core.escape import decode_values, encode_values


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t0):
    t1 = _clock()
    return t1[0] - t0[0], t1[1] - t0[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--n", type=int, default=48 * 32 * 192)
    a = ap.parse_args()
    fn = T.mixture_tables_reference if a.reference else T.mixture_tables
    rng = np.random.default_rng(0)
    N, k, M, R = a.n, 3, 8, 64
    s = rng.integers(0, 64, (N, k))
    mu = rng.integers(-40 * M, 40 * M, (N, k))
    w = rng.integers(1, 1000, (N, k)).astype(np.float64)
    w = (w / w.sum(1, keepdims=True) * 65536).astype(np.int64)
    w[:, 0] += 65536 - w.sum(1)
    y = (mu[:, 0] // M + rng.integers(-3, 4, N)).astype(np.int64)
    fn(s[:10], mu[:10], w[:10], radius=R, mean_grid=M)            # one-time caches (edge CDF table)
    idx = np.arange(N, dtype=np.int32)
    t = _clock(); ts, c = fn(s, mu, w, radius=R, mean_grid=M); et = _since(t)
    t = _clock(); g, pay = encode_values(y - c, idx, ts); data = ans.encode_groups(g); ea = _since(t)
    t = _clock(); ts2, c2 = fn(s, mu, w, radius=R, mean_grid=M); dt = _since(t)
    t = _clock(); out = decode_values(ans.AnsDecoder(data), idx, ts2, pay) + c2; da = _since(t)
    assert np.array_equal(out, y)
    print(f"{fn.__name__}, N = {N}, k = 3, R = 64, M = 8   (wall s / CPU s)")
    print(f"  encode: tables {et[0]:.3f} / {et[1]:.3f}   ans {ea[0]:.3f} / {ea[1]:.3f}   total {et[0] + ea[0]:.3f} / {et[1] + ea[1]:.3f}")
    print(f"  decode: tables {dt[0]:.3f} / {dt[1]:.3f}   ans {da[0]:.3f} / {da[1]:.3f}   total {dt[0] + da[0]:.3f} / {dt[1] + da[1]:.3f}")


if __name__ == "__main__":
    main()
