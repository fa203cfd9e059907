"""The normative data tables published with the spec (``spec/data/``) and the proof that the
code loads exactly them.

``spec/data/`` holds, for [core.C4] and [core.C6]:

* ``core_tables.safetensors`` -- byte-identical to ``ref/core/data/core_tables.safetensors``
  (the file :func:`ref.core.tables.shipped` loads): ``normal_cdf`` uint64 (16385,),
  ``laplace_cdf`` uint64 (24577,), ``scale_table`` float64 (64,), ``inv_scale`` uint64 (64,);
* the same numbers as plain text for readers without a safetensors parser:
  ``normal_cdf.txt`` and ``laplace_cdf.txt`` (one decimal integer per line, line k = entry k),
  ``scale_table.csv`` (``k,bits_hex,value,inv_scale``: the float64 bit pattern as 16 hex
  digits, the shortest decimal that round-trips to it, and ``inv_scale[k]``);
* ``SHA256SUMS`` (``sha256sum -c`` format) of the four files above.

:func:`problems` lists every way the published data and the code's tables can disagree
(bytes, parsed values, SHA-256 list, the digests and scale bit patterns printed in
``spec/core-entropy.md``); ``codecref spec trace --check`` and ``tests/test_spec_data.py``
fail on any of them.  ``python -m ref.conformance.spec_data --write`` regenerates the
directory from the code's file.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import numpy as np

TABLES = "core_tables.safetensors"
TEXT_FILES = ("normal_cdf.txt", "laplace_cdf.txt", "scale_table.csv")
SPEC_TEXT = "core-entropy.md"


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def data_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "spec" / "data"


def _code_file() -> Path:
    from ref.core.tables import DATA_PATH

    return DATA_PATH


def _raw_tables(raw: bytes) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    return load(raw)


def text_files(tables: dict[str, np.ndarray]) -> dict[str, str]:
    """The plain-text renderings of the tables (exact: integers in decimal, floats as bits)."""
    out = {}
    for name in ("normal_cdf", "laplace_cdf"):
        out[f"{name}.txt"] = "".join(f"{int(v)}\n" for v in tables[name])
    rows = ["k,bits_hex,value,inv_scale"]
    for k, (s, inv) in enumerate(zip(tables["scale_table"], tables["inv_scale"])):
        bits = int(np.float64(s).view(np.uint64))
        rows.append(f"{k},{bits:016x},{float(s)!r},{int(inv)}")
    out["scale_table.csv"] = "\n".join(rows) + "\n"
    return out


def sha256sums(files: dict[str, bytes]) -> str:
    return "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files))


def expected_files() -> dict[str, bytes]:
    """Every file of spec/data as it must be, derived from the code's table file."""
    raw = _code_file().read_bytes()
    files = {TABLES: raw}
    files.update({n: t.encode() for n, t in text_files(_raw_tables(raw)).items()})
    files["SHA256SUMS"] = sha256sums(files).encode()
    return files


def write(root: Path | None = None) -> list[Path]:
    d = data_dir(root)
    d.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in expected_files().items():
        (d / name).write_bytes(data)
        written.append(d / name)
    return written


def parse_text(name: str, text: str) -> np.ndarray:
    """Read one published text table back (what a port would do)."""
    if name.endswith("_cdf.txt"):
        return np.array([int(line) for line in text.split()], dtype=np.uint64)
    lines = text.strip().splitlines()[1:]
    return np.array([int(line.split(",")[1], 16) for line in lines], dtype=np.uint64).view(np.float64)


def problems(root: Path | None = None) -> list[str]:
    """Every disagreement between spec/data, the spec text and the tables the code loads."""
    from ref.core import tables as T

    d = data_dir(root)
    probs: list[str] = []
    want = expected_files()
    for name, data in want.items():
        p = d / name
        if not p.exists():
            probs.append(f"spec/data/{name}: missing (python -m ref.conformance.spec_data --write)")
        elif p.read_bytes() != data:
            probs.append(f"spec/data/{name}: differs from the tables the code loads ({_code_file().name})")
    if probs:
        return probs
    # The parsed published values must equal what ref.core.tables actually uses.
    loaded = T.shipped()
    pub = _raw_tables((d / TABLES).read_bytes())
    for key in ("normal_cdf", "laplace_cdf", "inv_scale"):
        if not np.array_equal(pub[key].astype(np.int64), loaded[key]):
            probs.append(f"spec/data/{TABLES}: {key} differs from ref.core.tables.shipped()")
    if not np.array_equal(pub["scale_table"].view(np.uint64), np.asarray(loaded["scale_table"]).view(np.uint64)):
        probs.append(f"spec/data/{TABLES}: scale_table differs from ref.core.tables.shipped()")
    for name in TEXT_FILES:
        got = parse_text(name, (d / name).read_text())
        key = name.split(".")[0]
        ref_vals = np.asarray(loaded[key])
        same = (np.array_equal(got.view(np.uint64), ref_vals.view(np.uint64)) if key == "scale_table"
                else np.array_equal(got.astype(np.int64), ref_vals))
        if not same:
            probs.append(f"spec/data/{name}: parsed values differ from ref.core.tables.shipped()")
    # The spec text must quote every digest and the 64 scale bit patterns.
    spec = (root or repo_root()) / "spec" / SPEC_TEXT
    text = spec.read_text() if spec.exists() else ""
    for name, data in want.items():
        if name == "SHA256SUMS":
            continue
        if hashlib.sha256(data).hexdigest() not in text:
            probs.append(f"spec/{SPEC_TEXT}: does not quote the SHA-256 of spec/data/{name}")
    bits = [f"{int(v):016x}" for v in np.asarray(loaded["scale_table"]).view(np.uint64)]
    m = re.search(r"<!-- scale_table bits -->\n```\n(.*?)```", text, re.S)
    printed = re.findall(r"\b[0-9a-f]{16}\b", m.group(1)) if m else []
    if printed != bits:
        probs.append(f"spec/{SPEC_TEXT}: the printed scale_table bit patterns (block after "
                     "'<!-- scale_table bits -->') differ from the table")
    return probs


def scale_bits_block() -> str:
    """The 64 bit patterns as printed in the spec (8 per line, k = 8*row + column)."""
    from ref.core import tables as T

    bits = [f"{int(v):016x}" for v in np.asarray(T.shipped()["scale_table"]).view(np.uint64)]
    lines = [f"k={r * 8:2d}..{r * 8 + 7:2d}: " + " ".join(bits[r * 8:(r + 1) * 8]) for r in range(8)]
    return "<!-- scale_table bits -->\n```\n" + "\n".join(lines) + "\n```\n"


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        for p in write():
            print(p)
    elif "--block" in sys.argv[1:]:
        print(scale_bits_block(), end="")
    else:
        for p in problems():
            print(p)
