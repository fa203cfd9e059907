"""``codecref encode --system ecf`` / ``decode`` / ``inspect``: bad input is one line and exit 2 / 3;
with a shipped checkpoint, the whole round trip (files and - pipes).  End-to-end tests skip
(with the reason) while no ref/weights/ecf_q<Q>.safetensors exists."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ref.data.imageio import write_png


def _cli(argv, capsys):
    import os

    from ref.cli import main

    os.environ.setdefault("COLUMNS", "120")     # main() would widen the terminal for pytest's own output too

    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _shipped():
    from ref.ecf.codec import shipped_qualities

    q = shipped_qualities()
    if not q:
        pytest.skip("no ecf checkpoint shipped yet (ref/weights/ecf_q<Q>.safetensors; H4 exports ~21:00)")
    return q[0]


@pytest.mark.eq("ecf.bits_image")
def test_too_small_image_is_one_line_exit_2(tmp_path, capsys):
    write_png(tmp_path / "small.png", np.zeros((12, 40, 3), np.uint8))
    code, out, err = _cli(["encode", "--system", "ecf", str(tmp_path / "small.png"), str(tmp_path / "o.cref")], capsys)
    assert code == 2 and err.count("\n") == 1 and "16..8192" in err and "height is 12" in err
    assert not (tmp_path / "o.cref").exists()


def test_unknown_quality_is_one_line_exit_2(tmp_path, capsys):
    write_png(tmp_path / "a.png", np.zeros((32, 32, 3), np.uint8))
    code, _, err = _cli(["encode", "--system", "ecf", "--quality", "9", str(tmp_path / "a.png"),
                         str(tmp_path / "o.cref")], capsys)
    assert code == 2 and err.count("\n") == 1 and "quality" in err


def test_another_systems_file_and_garbage_exit_3(tmp_path, capsys):
    from ref.core.container import pack
    from ref.ecf.codec import decode_bytes
    from ref.core.errors import BitstreamError

    with pytest.raises(BitstreamError, match="expected 'ecf'"):
        decode_bytes(pack("hcf", {"level": 1}, []))
    (tmp_path / "g.cref").write_bytes(b"CREF\x01\x04garbage")
    code, _, err = _cli(["decode", str(tmp_path / "g.cref"), str(tmp_path / "g.png")], capsys)
    assert code == 3 and err.count("\n") == 1


def _photo(h=96, w=80):
    from ref.data.imageio import bundled_image_path, read_image

    return np.ascontiguousarray(read_image(bundled_image_path())[100:100 + h, 200:200 + w, :3])


@pytest.mark.eq("ecf.bits", "ecf.bits_image")
def test_round_trip_files_inspect_and_damage(tmp_path, capsys):
    q = _shipped()
    from ref.core.container import unpack
    from ref.core.metrics import psnr
    from ref.data.imageio import read_image

    img = _photo()
    write_png(tmp_path / "in.png", img)
    code, out, err = _cli(["encode", "--system", "ecf", "--quality", str(q), str(tmp_path / "in.png"),
                           str(tmp_path / "a.cref")], capsys)
    assert code == 0, err
    data = (tmp_path / "a.cref").read_bytes()
    c = unpack(data, expect_system="ecf")
    assert c.header["quality"] == q and c.header["height"] == 96 and c.header["width"] == 80
    assert [n for n, _ in c.sections] == ["shape", "z", "z_esc"] + [f"y{g}" for g in range(8)] + ["y_esc"]
    code, out, err = _cli(["decode", str(tmp_path / "a.cref"), str(tmp_path / "a.png")], capsys)
    assert code == 0, err
    rec = read_image(tmp_path / "a.png")
    assert rec.shape == img.shape and psnr(img, rec) > 20
    code, out, _ = _cli(["inspect", str(tmp_path / "a.cref")], capsys)
    assert code == 0 and "ecf (id 4)" in out and "y_esc" in out
    # a damaged and a truncated file: one line, exit 3
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 1
    (tmp_path / "bad.cref").write_bytes(bytes(bad))
    (tmp_path / "cut.cref").write_bytes(data[:-9])
    for name in ("bad.cref", "cut.cref"):
        code, _, err = _cli(["decode", str(tmp_path / name), str(tmp_path / "x.png")], capsys)
        assert code == 3 and err.count("\n") == 1 and err.startswith("error: bitstream")


@pytest.mark.slow
def test_pipes_in_a_subprocess(tmp_path):
    q = _shipped()
    img = _photo(64, 64)
    write_png(tmp_path / "in.png", img)
    enc = subprocess.run([sys.executable, "-m", "ref", "encode", "--system", "ecf", "-q", str(q), "-", "-"],
                         input=(tmp_path / "in.png").read_bytes(), capture_output=True, timeout=600)
    assert enc.returncode == 0, enc.stderr
    dec = subprocess.run([sys.executable, "-m", "ref", "decode", "-", "-"], input=enc.stdout,
                         capture_output=True, timeout=600)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout[:8] == b"\x89PNG\r\n\x1a\n"
