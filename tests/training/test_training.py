"""ref.training: data parallelism over 2 host devices, checkpoint/resume across processes,
progress lines, and the crop stream's resumable state."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.training.progress import Progress

ROOT = Path(__file__).resolve().parents[2]


def _py(*args, devices=2):
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               JAX_PLATFORMS="cpu")
    r = subprocess.run([sys.executable, "-m", "tests.training._tiny", *map(str, args)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_one_step_on_two_devices_equals_one_device(tmp_path):
    _py("dp", tmp_path / "dp.npz")
    z = np.load(tmp_path / "dp.npz")
    assert int(z["devices"]) == 2
    np.testing.assert_allclose(z["w2"], z["w1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z["b2"], z["b1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z["loss2"], z["loss1"], rtol=1e-5)
    assert not np.allclose(z["w1"], np.load(tmp_path / "dp.npz")["w1"] * 0)  # the step moved something


def test_resume_in_a_new_process_equals_uninterrupted_run(tmp_path):
    out = _py("train", tmp_path / "full.state", 6, tmp_path / "full.npz")
    assert "steps/s" in out and "ETA" in out
    _py("train", tmp_path / "part.state", 6, 3, tmp_path / "part1.npz")
    assert int(np.load(tmp_path / "part1.npz")["step"]) == 3
    out2 = _py("train", tmp_path / "part.state", 6, tmp_path / "part2.npz")  # a new process continues
    assert "resuming" in out2
    a, b = np.load(tmp_path / "full.npz"), np.load(tmp_path / "part2.npz")
    assert int(b["resumed"]) == 3 and int(b["step"]) == 6
    np.testing.assert_allclose(b["w"], a["w"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(b["v"], a["v"], rtol=1e-6, atol=1e-7)
    # a run interrupted at 3 differs from the finished one (the comparison can fail)
    assert not np.allclose(np.load(tmp_path / "part1.npz")["w"], a["w"], rtol=1e-6, atol=1e-7)


def test_shard_batch_refuses_indivisible_batch():
    from ref.training import parallel

    class M:  # a mesh stand-in with 2 devices
        devices = np.zeros(2)

    with pytest.raises(InputError, match="multiple of the 2 devices"):
        parallel.shard_batch(np.zeros((3, 4)), M())


def test_progress_line_reports_rate_and_eta(monkeypatch):
    import ref.training.progress as P

    t = [100.0]
    monkeypatch.setattr(P.time, "time", lambda: t[0])
    p = Progress(total=100, start=20)
    t[0] = 110.0
    line, rec = p.line(40, {"loss": 0.5})
    assert rec["steps_per_s"] == 2.0 and rec["eta_s"] == 30.0 and rec["loss"] == 0.5
    assert "2.00 steps/s" in line and "ETA 0:00:30" in line


def test_checkpoint_refuses_another_structure(tmp_path):
    from ref.training.checkpoint import load_state, save_state

    p = {"a": np.ones((2, 3), np.float32)}
    save_state(tmp_path / "s", p, (np.zeros(1, np.int32),), 7, {"data": {"x": 1}})
    q, o, step, meta, _ = load_state(tmp_path / "s", p, (np.zeros(1, np.int32),))
    assert step == 7 and meta == {"data": {"x": 1}} and np.array_equal(q["a"], p["a"])
    with pytest.raises(InputError, match="another shape"):
        load_state(tmp_path / "s", {"a": np.ones((3, 3), np.float32)}, (np.zeros(1, np.int32),))
    assert not (tmp_path / "s.tmp").exists()


def test_training_without_corpus_says_how_to_fetch_it(tmp_path, monkeypatch):
    pytest.importorskip("skimage")
    from ref.easz import train as T
    from ref.easz.model import ModelConfig

    monkeypatch.setenv("CODECREF_CORPUS", str(tmp_path / "nowhere"))
    lines = []
    res = T.train(steps=1, out=str(tmp_path / "m.safetensors"), seed=0, cfg=ModelConfig(n=16, b=4, dim=16, heads=2),
                  batch=2, crop=16, lam=0.0, echo=lines.append)
    assert res["steps"] == 1
    assert any("codecref data fetch" in ln and "7 bundled" in ln for ln in lines)
    assert any("0 photos" in ln for ln in lines)
