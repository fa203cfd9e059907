"""``codecref hcf transcode``: refusals (exit status + one line) and the pipe chain
encode | transcode | transcode | decode (subprocess, shipped base levels, random modules in
a temporary cascade checkpoint)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ref.hcf.checkpoint import checkpoint_path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = all(checkpoint_path(k).is_file() for k in (3, 4, 6))


def _main(argv, capsys):
    import os

    from ref.cli import main

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = before or "120"  # main() would set it for the whole pytest process
    try:
        with pytest.raises(SystemExit) as exc:
            main(argv)
    finally:
        if before is None:
            del os.environ["COLUMNS"]
    err = capsys.readouterr().err
    return exc.value.code, [line for line in err.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tiny_stream(tmp_path_factory):
    """A level-3 stream of a tiny model: the refusals below happen before any model is used."""
    from ref.hcf.codec import encode_image
    from tests.hcf.tiny import tiny_model

    img = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    p = tmp_path_factory.mktemp("node") / "in.cref"
    p.write_bytes(encode_image(img, 3, tiny_model(seed=1, level=3)))
    return p


@pytest.mark.eq("hcf.node_policy", "hcf.node")
@pytest.mark.parametrize("args,code,needle", [
    (["-K", "4"], 2, "above the stream's level 3"),
    (["-K", "3"], 2, "already at level 3"),
    (["-K", "0"], 2, "target level must be one of"),
    (["-K", "2", "--policy", "0,1"], 2, "must be 1"),
    (["-K", "1", "--policy", "1,1"], 2, "needs 3"),
    (["-K", "1", "--policy", "edge"], 2, "comma-separated 0/1"),
    (["-K", "2", "--mode", "drf", "--policy", "1,1"], 2, "--mode hcf only"),
    (["-K", "2", "--cascade", "/nonexistent/c.safetensors"], 2, "no cascade checkpoint"),
])
def test_refusals_are_one_line(tiny_stream, tmp_path, capsys, args, code, needle):
    got, lines = _main(["hcf", "transcode", *args, str(tiny_stream), str(tmp_path / "o.cref")], capsys)
    assert got == code and len(lines) == 1 and needle in lines[0], lines
    assert not (tmp_path / "o.cref").exists()


@pytest.mark.eq("hcf.node")
def test_damaged_and_foreign_streams_exit_3(tiny_stream, tmp_path, capsys):
    from ref.core.container import pack

    bad = bytearray(tiny_stream.read_bytes())
    bad[40] ^= 1
    for name, data in (("damaged", bytes(bad)), ("foreign", pack("easz", {"a": 1}, [])), ("empty", b"")):
        p = tmp_path / f"{name}.cref"
        p.write_bytes(data)
        for mode in ("hcf", "drf"):
            got, lines = _main(["hcf", "transcode", "-K", "2", "--mode", mode, str(p), str(tmp_path / "o.cref")],
                               capsys)
            assert got == 3 and len(lines) == 1 and "bitstream" in lines[0], (name, mode, lines)


def test_system_group_lists_and_refuses(capsys):
    got, lines = _main(["hcf", "nope"], capsys)
    assert got == 2 and len(lines) == 1 and "unknown command 'nope'" in lines[0] and "transcode" in lines[0]


@pytest.mark.slow
@pytest.mark.eq("hcf.node", "hcf.hops")
@pytest.mark.skipif(not SHIPPED, reason="shipped base levels 3, 4, 6 needed")
def test_pipe_chain_encode_transcode_transcode_decode(tmp_path):
    """encode -q 6 IN - | hcf transcode -K 4 - - | hcf transcode -K 3 - - | decode - OUT.png, as
    four processes joined by pipes; the result is an ordinary level-3 stream with two hops."""
    import jax
    from PIL import Image

    from ref.core.container import unpack
    from ref.data.datasets import eval_image
    from ref.hcf import cascade_checkpoint as CC
    from ref.hcf.codec import decode_latent, get_model
    from ref.hcf.transform import init_cascade_modules

    mods = init_cascade_modules(jax.random.key(3), {k: get_model(k).cfg.M for k in (3, 4, 5, 6)}, 6, 3)
    casc = CC.save(jax.tree_util.tree_map(np.asarray, mods), {k: get_model(k).model_id for k in (3, 4, 5, 6)},
                   {"note": "random modules (test)"}, tmp_path / "cascade.safetensors")
    img = np.ascontiguousarray(eval_image("motorcycle_left")[200:264, 300:364, :3])
    Image.fromarray(img).save(tmp_path / "in.png")
    py = [sys.executable, "-m", "ref"]
    cmds = [py + ["encode", "--system", "hcf", "-q", "6", str(tmp_path / "in.png"), "-"],
            py + ["hcf", "transcode", "--to-level", "4", "--cascade", str(casc), "-", "-"],
            py + ["hcf", "transcode", "--to-level", "3", "--cascade", str(casc), "-", "-"],
            py + ["decode", "-", str(tmp_path / "out.png")]]
    procs, prev = [], None
    for c in cmds[:3]:
        p = subprocess.Popen(c, stdin=prev, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        if prev is not None:
            prev.close()  # the next process owns the read end
        prev = p.stdout
        procs.append(p)
    stream = procs[-1].stdout.read()
    for p in procs:
        p.wait(timeout=900)
        assert p.returncode == 0, (p.args, p.stderr.read())
    dec = subprocess.run(cmds[3], input=stream, capture_output=True, cwd=ROOT, timeout=900)
    assert dec.returncode == 0, dec.stderr
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == img.shape
    c = unpack(stream)
    assert c.header["level"] == 3 and c.header["hops"] == "6>4:hcf=101,4>3:hcf=11"
    assert c.header["model"] == get_model(3).model_id
    y, (level, H, W, C), _ = decode_latent(c)
    assert (level, H, W, C) == (3, 64, 64, 3) and np.abs(y).max() > 0
