"""ecf training ([ecf.3a], ref/ecf/train.py) on reduced widths and synthetic photographs:
the rate-distortion loss really decreases on a fixed batch; a run stopped after a save and
continued by a second process ends with the parameters of an uninterrupted run; export and
load of a checkpoint (float16 networks, integer tables, identity)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from ref.core.errors import InputError
from ref.ecf import train as TR
from ref.ecf.context_model import ContextConfig
from ref.ecf.model import EcfConfig, init_params

REPO = Path(__file__).resolve().parents[2]
TINY = EcfConfig(quality=3, lam=0.0075, N=8, M=16, n_cs=2,
                 ctx=ContextConfig(n_cs=2, p_cs=8, K=4, layers=2, d_e=16, heads=2, mlp_ratio=2, d_out=8),
                 ge_hidden=(16,))


def sources():
    """Two synthetic 'photographs' 160 x 176 (smooth gradients + texture) for CropStream."""
    yy, xx = np.mgrid[0:160, 0:176]
    a = np.stack([(yy * 1.3) % 256, (xx * 1.1 + yy * 0.5) % 256, (xx * yy / 97) % 256], -1).astype(np.uint8)
    b = np.clip(128 + 60 * np.sin(xx[..., None] / np.array([7.0, 11.0, 5.0])) + 30 * np.cos(yy[..., None] / 9.0),
                0, 255).astype(np.uint8)
    return [("a", (160, 176), lambda: a), ("b", (160, 176), lambda: b)]


@pytest.mark.eq("ecf.3a")
def test_rd_loss_decreases_on_a_fixed_batch():
    from ref.data.crops import CropStream

    opt = TR.make_optimizer(2e-3, 5)
    p = init_params(jax.random.key(0), TINY)
    st = opt.init(p)
    step = TR.make_step(TINY, opt, 0)
    crops = CropStream(128, 1, sources=sources()).batch(2)
    losses, bpps = [], []
    for i in range(40):
        p, st, m = step(p, st, crops, i)
        losses.append(float(m["loss"]))
        bpps.append(float(m["bpp"]))
    assert np.isfinite(losses).all()
    assert np.mean(losses[-5:]) < 0.25 * np.mean(losses[:3]), losses


CHILD = """
import sys, json
sys.path.insert(0, {repo!r})
from tests.ecf.test_train import TINY, sources
from ref.ecf.train import train
r = train(3, {steps}, run_dir={run_dir!r}, cfg=TINY, sources=sources(), batch=2, crop=128, lr=1e-3, warmup=2,
          checkpoint_every=100, log_every=1, stop_at={stop}, echo=lambda s: None)
print(json.dumps({{"step": r["step"], "finished": r["finished"], "resumed_from": r["resumed_from"]}}))
"""


def _child(run_dir, steps, stop=None):
    code = CHILD.format(repo=str(REPO), run_dir=str(run_dir), steps=steps, stop=stop)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _state_params(path):
    from ref.training.checkpoint import load_state

    like = init_params(jax.random.key(0), TINY)
    params, _, step, meta, _ = load_state(path, like, TR.make_optimizer(1e-3, 2).init(like))
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(params)], step, meta


@pytest.mark.slow
def test_stopped_run_resumes_in_another_process_to_the_same_parameters(tmp_path):
    a = _child(tmp_path / "a", 4, stop=2)
    assert a == {"step": 2, "finished": False, "resumed_from": 0}
    b = _child(tmp_path / "a", 4)
    assert b == {"step": 4, "finished": True, "resumed_from": 2}
    c = _child(tmp_path / "c", 4)
    assert c == {"step": 4, "finished": True, "resumed_from": 0}
    pa, sa, meta = _state_params(tmp_path / "a" / "state.safetensors")
    pc, sc, _ = _state_params(tmp_path / "c" / "state.safetensors")
    assert sa == sc == 4 and len(meta["phases"]) == 2
    assert max(float(np.abs(x - y).max()) for x, y in zip(pa, pc)) <= 1e-6
    la = [json.loads(s) for s in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    lc = [json.loads(s) for s in (tmp_path / "c" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in la] == [1, 2, 3, 4]
    np.testing.assert_allclose([r["loss"] for r in la], [r["loss"] for r in lc], rtol=1e-5)


def test_crop_must_be_a_multiple_of_128(tmp_path):
    with pytest.raises(InputError):
        TR.train(3, 1, run_dir=tmp_path, cfg=TINY, sources=sources(), crop=96)
