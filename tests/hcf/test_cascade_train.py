"""Cascade training (paper 001, Sec. 3.3, eqs. 11-13; ref/hcf/cascade_train.py) on tiny base
levels (tests/hcf/tiny.py: N = 8, M = 12, real integer tables) and synthetic training images.

Checked: the per-crop training latent (hcf.train_policy) against eq. 9 evaluated crop by crop
with ref.hcf.cascade.cascade_transform; a run killed after a save and continued by a second
process ends with the parameters of an uninterrupted run (1e-6); the distillation loss of
eq. 11 really decreases on a fixed batch; frozen networks stay bit-identical; the export
records the base identities and a run refuses other base weights; fine-tuning (eq. 13)
changes only g_s^k and level k's hyperprior."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.core.errors import InputError
from ref.hcf import cascade_train as T
from ref.hcf.cascade import cascade_transform, training_transmit
from tests.hcf.tiny import tiny_model

REPO = Path(__file__).resolve().parents[2]
S, D = 3, 1
M = 12


@lru_cache(maxsize=None)
def _level(k):
    return tiny_model(3 - k, k)


def tiny_levels(top: int = 3):
    """Tiny base levels top .. 1 (tiny.py's own cache holds only two models)."""
    return {k: _level(k) for k in range(top, 0, -1)}


def sources():
    """Two synthetic 'photographs' (smooth gradients + texture), 96 x 112, for CropStream."""
    yy, xx = np.mgrid[0:96, 0:112]
    a = np.stack([(yy * 2.1) % 256, (xx * 1.7 + yy) % 256, (xx * yy / 41) % 256], -1).astype(np.uint8)
    b = np.random.default_rng(5).integers(0, 256, (96, 112, 3)).astype(np.uint8)
    return [("a", (96, 112), lambda: a), ("b", (96, 112), lambda: b)]


TINY_RUN = dict(s=S, d=D, steps_per_module=1, seed=3, batch=2, crop=64, checkpoint_every=1, log_every=1)


def run_tiny(run_dir, **kw):
    kw = {**TINY_RUN, **kw}
    return T.train_modules(run_dir=run_dir, levels=tiny_levels(kw["s"]), sources=sources(), echo=lambda m: None,
                           **kw)


def leaves(tree):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


# ------------------------------------------------------------------ the pinned training latent
@pytest.mark.eq("hcf.train_policy", "hcf.9")
def test_training_latent_is_eq9_per_crop():
    levels = tiny_levels()
    widths = {k: M for k in (1, 2, 3)}
    mods = {k: {kind: T.init_module(9, k, kind, widths) for kind in ("intra", "inter")} for k in (3, 2)}
    tr = training_transmit({k: levels[k].params["hyper"] for k in (3, 2, 1)})
    y_s = jnp.asarray(np.random.default_rng(1).normal(0, 3.0, (4, 4, 4, M)).astype(np.float32))
    bits = jnp.asarray([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.int32)
    got = np.asarray(T.training_latent(bits, y_s, S, 1, mods, tr))
    for b in range(4):
        pi = tuple(int(v) for v in bits[b]) + (1,)           # (π_3, π_2, π_1)
        want = np.asarray(cascade_transform(pi, S, 1, mods, y_s[b:b + 1], tr))
        np.testing.assert_allclose(got[b:b + 1], want, rtol=1e-5, atol=1e-5)
    # the four policies give four different latents (the selection is not a no-op)
    assert min(np.abs(got[i] - got[j]).max() for i in range(4) for j in range(i)) > 1e-3
    assert np.array_equal(np.asarray(T.training_latent(bits[:, :0], y_s, S, S, mods, tr)), np.asarray(y_s))
    with pytest.raises(InputError):
        T.training_latent(bits, y_s, S, 2, mods, tr)


def test_policy_draws_depend_on_the_step_only():
    a = np.asarray(T.draw_policy_bits(0, 5, 64, 4))
    assert np.array_equal(a, np.asarray(T.draw_policy_bits(0, 5, 64, 4)))
    assert not np.array_equal(a, np.asarray(T.draw_policy_bits(0, 6, 64, 4)))
    assert set(np.unique(a)) == {0, 1} and 0.35 < a.mean() < 0.65
    assert T.module_order(3, 1) == [(3, "intra"), (3, "inter"), (2, "intra"), (2, "inter")]
    with pytest.raises(InputError):
        T.module_order(2, 2)


# ------------------------------------------------------------------ learning
@pytest.mark.eq("hcf.11")
def test_intra_loss_decreases_on_a_fixed_batch():
    """30 Adam steps on one batch: eq. 11's loss falls well below where it started and below the
    'do nothing' baseline mean((y~^2 - g_a^1(x))^2)."""
    from ref.data.crops import CropStream
    from ref.hcf.model import analysis

    levels = tiny_levels()
    widths = {k: M for k in (1, 2, 3)}
    opt = T.make_optimizer(3e-3, 5)
    p = T.init_module(0, 2, "intra", widths)
    st = opt.init(p)
    step = T.make_module_step(2, "intra", 2, opt, 0, T._frozen_for(levels, {}, 2, 2), 4)
    crops = CropStream(64, 1, sources=sources()).batch(4)
    losses = []
    for i in range(30):
        p, st, m = step(p, st, crops, i)
        losses.append(float(m["loss"]))
    x = jnp.asarray(crops.astype(np.float32) / 255.0)
    identity = float(jnp.mean((analysis(levels[2].params, x) - analysis(levels[1].params, x)) ** 2))
    assert losses[-1] < 0.3 * losses[0], losses
    assert np.mean(losses[-5:]) < identity, (losses[-5:], identity)


# ------------------------------------------------------------------ resume in a second process
RESUME = dict(s=2, d=1, steps_per_module=2)
CHILD = """
import sys, json
sys.path.insert(0, {repo!r})
from tests.hcf.test_cascade_train import RESUME, run_tiny
r = run_tiny({run_dir!r}, stop_after={stop}, **RESUME)
print(json.dumps({{"finished": r["finished"], "steps": r["steps"]}}))
"""


def _child(run_dir, stop):
    code = CHILD.format(repo=str(REPO), run_dir=str(run_dir), stop=stop)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_killed_run_resumes_in_another_process_to_the_same_parameters(tmp_path):
    """2 levels (s = 2, d = 1: phi_{2->1} intra then inter), 2 steps per module, crop 64."""
    ref = run_tiny(tmp_path / "a", **RESUME)                             # uninterrupted, this process
    assert ref["finished"] and ref["steps"] == {"phi2_intra": 2, "phi2_inter": 2}
    first = _child(tmp_path / "b", 1)                                    # stops after step 1 of phi2_intra
    assert first == {"finished": False, "steps": {"phi2_intra": 1}}
    assert not (tmp_path / "b" / "phi2_inter").exists()
    second = _child(tmp_path / "b", None)                                # a new process continues
    assert second["finished"]
    widths = {k: M for k in (1, 2, 3)}
    for k in (2,):
        for kind in ("intra", "inter"):
            got, step, _ = T.load_module(tmp_path / "b", k, kind, widths)
            assert step == 2
            for a, b in zip(leaves(got), leaves(ref["modules"][k][kind])):
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # progress lines were logged per stage
    assert (tmp_path / "b" / "phi2_intra" / "log.jsonl").read_text().count("steps_per_s") == 2


# ------------------------------------------------------------------ frozen networks, export, base identities
def test_frozen_networks_stay_bit_identical_and_export_records_the_bases(tmp_path):
    from ref.hcf import cascade_checkpoint as CC

    levels = tiny_levels()
    before = {k: leaves(levels[k].params) for k in levels}
    widths = {k: M for k in (1, 2, 3)}
    r = run_tiny(tmp_path, eval_images=np.stack([sources()[0][2]()[:64, :64]] * 2))
    phi3 = {kind: leaves(T.load_module(tmp_path, 3, kind, widths)[0]) for kind in ("intra", "inter")}
    # stage phi3 ended before the level-2 stages began; train level 2 two more steps from scratch
    for kind in ("intra", "inter"):
        for f in (tmp_path / f"phi2_{kind}").iterdir():
            f.unlink()
        (tmp_path / f"phi2_{kind}").rmdir()
    r = run_tiny(tmp_path)
    assert r["finished"]
    for k in levels:                                                     # base codecs untouched
        assert all(np.array_equal(a, b) for a, b in zip(before[k], leaves(levels[k].params)))
    for kind in ("intra", "inter"):                                      # earlier modules untouched
        now = leaves(T.load_module(tmp_path, 3, kind, widths)[0])
        assert all(np.array_equal(a, b) for a, b in zip(phi3[kind], now))
        init = leaves(T.init_module(3, 3, kind, widths))                 # ... and they did train
        assert any(not np.array_equal(a, b) for a, b in zip(init, now))
    ev = json.loads((tmp_path / "phi3_intra" / "eval.json").read_text())
    assert set(ev["before"]) == {"intra_chain", "inter_chain", "var"} and ev["crops"] == 2
    path = T.export(tmp_path, s=S, d=D, levels=levels, out=tmp_path / "c.safetensors")
    ck = CC.load(path)
    assert ck.base_models == {k: levels[k].model_id for k in (1, 2, 3)}
    assert sorted(ck.modules) == [2, 3] and ck.train["modules"]["phi3_intra"]["step"] == 1
    for a, b in zip(phi3["inter"], leaves(ck.modules[3]["inter"])):
        assert np.array_equal(np.asarray(a, np.float16).astype(np.float32), b)
    # other base weights: continuing or exporting the run is refused
    other = {**levels, 2: tiny_model(7, 2)}
    with pytest.raises(InputError, match="other base-codec weights"):
        T.train_modules(run_dir=tmp_path, levels=other, sources=sources(), echo=lambda m: None,
                        **{**TINY_RUN, "steps_per_module": 2})
    with pytest.raises(InputError, match="other base-codec weights"):
        T.export(tmp_path, s=S, d=D, levels=other, out=tmp_path / "c2.safetensors")


# ------------------------------------------------------------------ fine-tuning (eq. 13)
@pytest.mark.eq("hcf.13")
def test_finetune_trains_only_g_s_and_the_hyperprior_of_each_level(tmp_path):
    levels = tiny_levels()
    widths = {k: M for k in (1, 2)}
    mods = {2: {kind: T.init_module(4, 2, kind, widths) for kind in ("intra", "inter")}}
    kw = dict(s=2, d=1, steps_per_level=2, run_dir=tmp_path, levels=levels, modules=mods, seed=1, batch=2,
              crop=64, checkpoint_every=1, log_every=1, sources=sources(), echo=lambda m: None)
    part = T.finetune(stop_after=1, **kw)
    assert not part["finished"] and part["levels"] == {}
    r = T.finetune(**kw)                                                 # continues level 2, then level 1
    assert r["finished"] and sorted(r["levels"]) == [1, 2]
    for k in (1, 2):
        tuned = r["levels"][k]
        assert set(tuned) == {"g_s", "hyper"}
        for part_name in ("g_s", "hyper"):
            old, new = leaves(levels[k].params[part_name]), leaves(tuned[part_name])
            assert any(not np.array_equal(a, b) for a, b in zip(old, new)), (k, part_name)
    assert T.finetune(**{**kw, "max_seconds": 0.0})["finished"]          # all done: states reloaded


def test_command_is_registered_as_train_hcf_cascade():
    from click.testing import CliRunner

    from ref.cli import cli

    r = CliRunner().invoke(cli, ["train", "hcf-cascade", "--help"])
    assert r.exit_code == 0 and "--steps-per-module" in r.output and "--finetune" in r.output
