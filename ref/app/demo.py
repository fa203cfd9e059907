"""``codecref demo``: every implemented system on a real image, one table.

The first row is the *core round trip*, which exercises the shared machinery alone:
a lossless code of the image (left-neighbour prediction residuals, one integer frequency
table per channel fitted to the residual histogram, rANS, container), decoded back and
checked bit for bit, with the NumPy mirror decoding the same stream.  Each implemented
system adds its row through ``ref/<system>/cli.py:demo_row``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ref.core.errors import BitstreamError

RADIUS = 510  # planar-prediction residuals of uint8 pixels lie in [-510, 510]


def _residuals(img: np.ndarray) -> np.ndarray:
    """Planar prediction per channel, p outside the image = 128:
    r[y, x] = p[y, x] - p[y, x-1] - p[y-1, x] + p[y-1, x-1]  (a difference along x, then y)."""
    p = np.pad(img.astype(np.int32), ((1, 0), (1, 0), (0, 0)), constant_values=128)
    return np.diff(np.diff(p, axis=1), axis=0)


def _unresiduals(r: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_residuals`: cumulative sums along y, then x."""
    return (np.cumsum(np.cumsum(r.astype(np.int64), axis=0), axis=1) + 128)


def core_encode(img: np.ndarray) -> bytes:
    """Lossless core round-trip code of a uint8 (H, W, C) image -> container bytes."""
    from ref.core import ans
    from ref.core.container import pack
    from ref.core.histogram import counts_to_bytes, histogram
    from ref.core.tables import freqs_from_counts

    h, w, c = img.shape
    k = 2 * RADIUS + 1
    sym = (_residuals(img) + RADIUS).transpose(2, 0, 1).reshape(-1)  # channel-major
    table_idx = np.repeat(np.arange(c, dtype=np.int32), h * w)
    counts = histogram(sym, table_idx, c, k)
    stream = ans.encode(sym.astype(np.int32), freqs_from_counts(counts), table_idx)
    header = {"height": h, "width": w, "channels": c, "radius": RADIUS}
    return pack("core", header, [("counts", counts_to_bytes(counts)), ("ans", stream)])


def core_decode(data: bytes, backend: str = "auto") -> np.ndarray:
    """Inverse of :func:`core_encode` (container bytes -> uint8 (H, W, C))."""
    from ref.core.container import unpack

    return core_decode_container(unpack(data, expect_system="core"), backend=backend)


def core_decode_container(box, backend: str = "auto") -> np.ndarray:
    """A parsed ``core`` round-trip container -> uint8 (H, W, C); what ``codecref decode``
    runs for system ``core``.  Every header field is checked (presence, type, range, the
    pixel cap of [bits.C3]) before anything is allocated; the stored counts must equal the
    histogram of the decoded residuals (the encoder writes exactly that histogram), which
    also catches ANS streams that were read past their end (spec/core-ans.md)."""
    from ref.core import ans
    from ref.core.histogram import counts_from_bytes, histogram
    from ref.core.limits import check_declared_pixels
    from ref.core.tables import freqs_from_counts

    if "radius" not in box.header:
        raise BitstreamError("bitstream: this 'core' container is not a lossless round-trip image "
                             "(no 'radius' field): core containers are test/utility data, "
                             "only the demo's round trip decodes to an image")
    h, w, c, radius = (box.get(k, int) for k in ("height", "width", "channels", "radius"))
    if radius != RADIUS or c not in (1, 3) or h < 1 or w < 1:
        raise BitstreamError(f"core stream: unsupported header (h={h}, w={w}, c={c}, radius={radius})")
    check_declared_pixels(h, w, "core stream")
    counts = counts_from_bytes(box.section("counts"), c, 2 * radius + 1)
    if np.any(counts.sum(axis=1) != h * w):
        raise BitstreamError("core stream: histogram does not match the image size")
    freqs = freqs_from_counts(counts)
    table_idx = np.repeat(np.arange(c, dtype=np.int32), h * w)
    sym = ans.decode(box.section("ans"), freqs, table_idx, backend=backend)
    if not np.array_equal(histogram(sym, table_idx, c, 2 * radius + 1), counts):
        raise BitstreamError("core stream: decoded residuals do not match the stored histogram "
                             "(corrupt or over-read ANS stream)")
    r = sym.reshape(c, h, w).transpose(1, 2, 0).astype(np.int64) - radius
    out = _unresiduals(r)
    if out.min() < 0 or out.max() > 255:
        raise BitstreamError("core stream decodes to pixels outside 0..255")
    return out.astype(np.uint8)


def core_row(img: np.ndarray, workdir: Path) -> dict:
    """Encode, decode (both coder backends) and check the core round trip."""
    from ref.core.metrics import bpp

    t0 = time.perf_counter()
    data = core_encode(img)
    t1 = time.perf_counter()
    rec = core_decode(data)
    t2 = time.perf_counter()
    if not np.array_equal(rec, img):
        raise AssertionError("core round trip is not lossless")
    if not np.array_equal(core_decode(data, backend="mirror"), img):
        raise AssertionError("NumPy mirror decodes the core stream differently")
    from ref.data.safe_write import atomic_write

    atomic_write(workdir / "core.cref", data)
    h, w, _ = img.shape
    return {
        "system": "core",
        "config": "lossless planar prediction + rANS",
        "bytes": len(data),
        "bpp": bpp(len(data), h, w),
        "psnr": float("inf"),
        "ms_ssim": 1.0,
        "encode_ms": (t1 - t0) * 1e3,
        "decode_ms": (t2 - t1) * 1e3,
    }


def _console(console_cls):
    """Rich console; at natural width when stdout is not a terminal (no column is cut)."""
    import os
    import sys

    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return console_cls()
    return console_cls(width=100_000)


def run_demo(image: str | None, outdir: Path) -> list[dict]:
    """Run the demo and print the table; returns the rows."""
    from rich.console import Console
    from rich.table import Table

    from ref.app.systems import SYSTEMS, system_cli
    from ref.data.imageio import bundled_image_path, read_image

    con = _console(Console)
    path = Path(image) if image else bundled_image_path()
    img = read_image(path)
    outdir.mkdir(parents=True, exist_ok=True)
    h, w, c = img.shape
    con.print(f"image: {path} ({w}x{h}x{c})")
    rows = [core_row(img, outdir)]
    missing = []
    for name in SYSTEMS:
        mod = system_cli(name)
        if mod is None or not hasattr(mod, "demo_row"):
            missing.append(name)
            continue
        with con.status(f"running {name} ..."):
            rows.append(mod.demo_row(img, outdir))
    table = Table(title="codecref demo")
    for col in ("system", "config", "bytes", "bpp", "PSNR dB", "MS-SSIM", "enc ms", "dec ms"):
        table.add_column(col, justify="left" if col in ("system", "config") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["system"], r["config"], str(r["bytes"]), f"{r['bpp']:.4f}",
                      "lossless" if r["psnr"] == float("inf") else f"{r['psnr']:.2f}",
                      f"{r['ms_ssim']:.4f}", f"{r['encode_ms']:.1f}", f"{r['decode_ms']:.1f}")
    con.print(table)
    if missing:
        con.print(f"not implemented yet: {', '.join(missing)}")
    con.print(f"outputs in {outdir}/ (one container per system, <system>.cref; "
              f"`codecref decode {outdir}/<system>.cref out.png` decodes any of them)")
    return rows
