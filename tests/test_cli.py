"""CLI contract: one-line errors on stderr, non-zero exit codes, no tracebacks."""

import subprocess
import sys

import pytest


def run(*args, check=False):
    proc = subprocess.run([sys.executable, "-m", "ref", *args], capture_output=True, text=True, timeout=300)
    return proc


def test_help_lists_the_contract():
    out = run("--help").stdout
    for cmd in ("demo", "encode", "decode", "inspect", "golden", "conform", "spec", "bench", "train", "analyze"):
        assert cmd in out


@pytest.mark.parametrize(
    "args,needle",
    [
        (("decode", "/nonexistent/file.cref", "x.png"), "no such file"),
        (("inspect", "/nonexistent/file.cref"), "no such file"),
        (("encode", "--system", "nope", "a", "b"), "unknown system"),
        (("analyze", "nope", "x"), "unknown system"),
        (("conform", "/nonexistent/dir"), "not a directory"),
    ],
)
def test_errors_are_one_line(args, needle):
    proc = run(*args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_garbage_file_is_a_clear_bitstream_error(tmp_path):
    bad = tmp_path / "bad.cref"
    bad.write_bytes(b"\x00garbage" * 10)
    for args in (("decode", str(bad), str(tmp_path / "o.png")), ("inspect", str(bad))):
        proc = run(*args)
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
