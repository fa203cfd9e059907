"""The shipped levels (ref/weights/hcf_q<k>.safetensors): configuration, rate ordering, the CLI
with pipes, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ref.hcf.checkpoint import checkpoint_path
from ref.hcf.config import LEVELS

SHIPPED = [k for k in LEVELS if checkpoint_path(k).is_file()]
needs_all = pytest.mark.skipif(len(SHIPPED) < len(LEVELS), reason="not every hcf level is shipped")
ROOT = Path(__file__).resolve().parents[2]


def _crop():
    from ref.data.datasets import eval_image

    return np.ascontiguousarray(eval_image("motorcycle_left")[100:228, 200:392, :3])


@needs_all
@pytest.mark.eq("hcf.C1", "hcf.C2")
@pytest.mark.xfail(strict=True, reason="the shipped checkpoints are under-trained (2,300-4,200 steps): the levels are "
                   "not yet ordered by PSNR (docs/model-card-hcf.md); remove when they are")
def test_levels_rate_and_quality_increase_with_lambda():
    """A larger lambda (hcf.C2) buys more rate and more PSNR on the same image; every level's
    checkpoint holds the widths of hcf.C1 (g_a's last conv maps N -> M)."""
    from ref.core.metrics import psnr
    from ref.hcf import codec
    from ref.hcf.config import config_for

    img = _crop()
    bpp, q = [], []
    for k in LEVELS:
        m = codec.get_model(k)
        cfg = config_for(k)
        assert m.params["g_a"]["conv3"]["w"].shape == (5, 5, cfg.N, cfg.M)
        data = codec.encode_image(img, k, m)
        bpp.append(8 * len(data) / (img.shape[0] * img.shape[1]))
        q.append(psnr(img, codec.decode_bytes(data, m)))
    assert all(a < b for a, b in zip(bpp, bpp[1:])), bpp
    assert all(a < b for a, b in zip(q, q[1:])), q


def _cli(args, stdin=None):
    return subprocess.run([sys.executable, "-m", "ref", *args], input=stdin, capture_output=True, cwd=ROOT,
                          timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(3 not in SHIPPED or 2 not in SHIPPED, reason="levels 2 and 3 not shipped")
def test_cli_pipes_and_bad_input(tmp_path):
    from PIL import Image

    png = tmp_path / "in.png"
    Image.fromarray(_crop()).save(png)
    enc = _cli(["encode", "--system", "hcf", "--quality", "3", str(png), "-"])
    assert enc.returncode == 0, enc.stderr
    stream = enc.stdout
    assert stream[:4] == b"CREF" and b"hcf q3" in enc.stderr
    dec = _cli(["decode", "-", "-"], stdin=stream)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    ins = _cli(["inspect", "-"], stdin=stream)
    assert ins.returncode == 0 and b"level" in ins.stdout and b"hcf_q3-" in ins.stdout
    # a damaged stream, a wrong level, a too-small image: one line, non-zero exit, no traceback
    bad = bytearray(stream)
    bad[len(bad) // 2] ^= 1
    r = _cli(["decode", "-", str(tmp_path / "o.png")], stdin=bytes(bad))
    assert r.returncode == 3 and r.stderr.count(b"\n") == 1 and b"Traceback" not in r.stderr
    from ref.core.container import pack, unpack

    c = unpack(stream)
    forged = pack("hcf", {**c.header, "level": 2}, list(c.sections))  # level 3 stream claiming level 2
    r = _cli(["decode", "-", str(tmp_path / "o.png")], stdin=forged)
    assert r.returncode == 3 and b"another checkpoint" in r.stderr and r.stderr.count(b"\n") == 1
    r = _cli(["encode", "--system", "hcf", "--quality", "9", str(png), str(tmp_path / "o.cref")])
    assert r.returncode == 2 and b"quality level" in r.stderr and r.stderr.count(b"\n") == 1
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((8, 40, 3), np.uint8)).save(small)
    r = _cli(["encode", "--system", "hcf", "--quality", "3", str(small), str(tmp_path / "o.cref")])
    assert r.returncode == 2 and b"16..8192" in r.stderr and r.stderr.count(b"\n") == 1
