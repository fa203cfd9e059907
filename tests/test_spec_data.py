"""The normative tables published in spec/data/ are exactly the ones the code loads.

[core.C4] / [core.C6]: spec/data/core_tables.safetensors must be byte-identical to
ref/core/data/core_tables.safetensors, the text renderings must parse back to the same
numbers, and spec/core-entropy.md must quote their SHA-256 and the 64 scale bit patterns.
Each check is also shown to fail on a tampered copy of spec/.
"""

import hashlib
import shutil

import numpy as np
import pytest

from ref.conformance import spec_data
from ref.core import tables as T

pytestmark = pytest.mark.eq("core.C4", "core.C6")


def test_published_tables_equal_the_loaded_ones():
    assert spec_data.problems() == []


def test_scale_table_is_the_correctly_rounded_real_formula():
    """Independent check of the definition printed in [core.C4]: the real number
    exp(ln(11/100) + k (ln 256 - ln(11/100)) / 63), rounded to nearest at 400 bits."""
    mp = pytest.importorskip("mpmath")
    mp.mp.prec = 400
    lo, hi = mp.log(mp.mpf(11) / 100), mp.log(mp.mpf(256))
    want = [float(mp.exp(lo + k * (hi - lo) / 63)) for k in range(64)]
    got = [float(v) for v in spec_data.parse_text("scale_table.csv",
                                                  (spec_data.data_dir() / "scale_table.csv").read_text())]
    assert got == want
    # the plain float64 formula is not good enough (why the table is shipped)
    naive = np.exp(np.log(0.11) + np.arange(64) * (np.log(256) - np.log(0.11)) / 63)
    assert int((naive != np.array(want)).sum()) > 0


def test_sha256sums_file_lists_the_files():
    d = spec_data.data_dir()
    for line in (d / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((d / name).read_bytes()).hexdigest() == digest


def _copy_spec(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(spec_data.repo_root() / "spec", root / "spec")
    return root


def test_tampered_binary_or_text_or_spec_is_detected(tmp_path):
    root = _copy_spec(tmp_path)
    assert spec_data.problems(root) == []
    txt = root / "spec" / "data" / "normal_cdf.txt"
    lines = txt.read_text().splitlines()
    lines[100] = str(int(lines[100]) + 1)
    txt.write_text("\n".join(lines) + "\n")
    assert any("normal_cdf.txt" in p for p in spec_data.problems(root))

    root = _copy_spec(tmp_path / "b")
    spec = root / "spec" / "core-entropy.md"
    bits = f"{int(np.float64(T.scale_table()[5]).view(np.uint64)):016x}"
    spec.write_text(spec.read_text().replace(bits, bits[:-1] + ("0" if bits[-1] != "0" else "1")))
    assert any("bit patterns" in p for p in spec_data.problems(root))

    root = _copy_spec(tmp_path / "c")
    (root / "spec" / "data" / "core_tables.safetensors").write_bytes(b"\0" * 8)
    assert any("core_tables.safetensors" in p for p in spec_data.problems(root))
