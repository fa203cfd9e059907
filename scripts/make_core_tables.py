#!/usr/bin/env python3
"""Generate the integer tables shipped in ``ref/core/data/core_tables.safetensors``.

Normative source of the constants used by :mod:`ref.core.tables` (spec/core-entropy.md,
[core.C4] and [core.C6]).  Run once; the output is committed and its SHA-256 is recorded in
``ref.core.tables.SHIPPED_SHA256``.  ``tests/core/test_tables.py`` re-runs the generator and
checks that it reproduces the shipped file bit for bit.

Everything is computed with mpmath at 128 bits of precision and rounded once, so the result
does not depend on the platform's libm (np.exp / scipy.special.erf differ by 1-2 ulp across
machines, see ../shared/notes/platforms.md).

Contents (all little-endian, safetensors):

* ``normal_cdf``  uint64 (16*1024+1,): round(Phi(k/1024) * 2**32), k = 0..16384
                  (Phi = standard normal CDF; round = floor(v + 1/2)).
* ``laplace_cdf`` uint64 (24*1024+1,): round(F(k/1024) * 2**32), F(t) = 1 - exp(-t)/2 (t >= 0),
                  the standard Laplace CDF (scale 1), k = 0..24576.
* ``scale_table`` float64 (64,): s_k = exp(ln 0.11 + k * (ln 256 - ln 0.11) / 63), correctly
                  rounded to float64 (CompressAI's default 0.11..256, 64 levels).
* ``inv_scale``   uint64 (64,): round(2**32 / s_k) with s_k the float64 value above.

Usage:  python scripts/make_core_tables.py [OUT]   (default: ref/core/data/core_tables.safetensors)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

GRID_BITS = 10          # grid step 2**-10 in t
CDF_BITS = 32           # fixed-point precision of the CDF values
NORMAL_T_MAX = 16
LAPLACE_T_MAX = 24
SCALE_MIN, SCALE_MAX, SCALE_LEVELS = "0.11", "256", 64
INV_SCALE_BITS = 32


def build() -> dict[str, np.ndarray]:
    import mpmath as mp

    mp.mp.prec = 128
    one = mp.mpf(2) ** CDF_BITS
    g = 2**GRID_BITS

    def rnd(v) -> int:
        return int(mp.floor(v + mp.mpf(1) / 2))

    normal = [rnd(mp.ncdf(mp.mpf(k) / g) * one) for k in range(NORMAL_T_MAX * g + 1)]
    laplace = [rnd((1 - mp.exp(-mp.mpf(k) / g) / 2) * one) for k in range(LAPLACE_T_MAX * g + 1)]
    lo, hi = mp.log(mp.mpf(SCALE_MIN)), mp.log(mp.mpf(SCALE_MAX))
    scales = [float(mp.exp(lo + k * (hi - lo) / (SCALE_LEVELS - 1))) for k in range(SCALE_LEVELS)]
    inv = [rnd(mp.mpf(2) ** INV_SCALE_BITS / mp.mpf(s)) for s in scales]  # mpf(float) is exact
    return {
        "normal_cdf": np.array(normal, dtype=np.uint64),
        "laplace_cdf": np.array(laplace, dtype=np.uint64),
        "scale_table": np.array(scales, dtype=np.float64),
        "inv_scale": np.array(inv, dtype=np.uint64),
    }


def main(argv: list[str]) -> int:
    from safetensors.numpy import save_file

    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "ref/core/data/core_tables.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(build(), str(out), metadata={"generator": "scripts/make_core_tables.py v1"})
    import hashlib

    print(out, hashlib.sha256(out.read_bytes()).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
