"""Easz loss (eq. 2) and training protocol (spec easz.2, easz.C26, easz.C27)."""

from __future__ import annotations

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.easz import loss as loss_mod
from ref.easz import train as T
from ref.easz.model import ModelConfig, init_params
from ref.easz.model_vectors import synthetic_vgg

TINY = ModelConfig(n=16, b=4, dim=16, heads=2)


@pytest.mark.eq("easz.2")
def test_l1_and_eq2_composition():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, 10, x.shape), 0, 255).astype(np.float32)
    want = np.mean(np.abs(x.astype(np.float64) - y)) / 255
    assert np.isclose(float(loss_mod.l1(x, y)), want, rtol=1e-5)
    tot, a, p = loss_mod.loss(x, y, None)
    assert float(tot) == float(a) and float(p) == 0.0
    w = synthetic_vgg(1)
    tot, a, p = loss_mod.loss(x, y, w)
    # LPIPS on the first k images only
    _, _, p1 = loss_mod.loss(x, y, w, lpips_images=1)
    from ref.easz.lpips import lpips   # itself checked against a float64 NumPy LPIPS (test_lpips.py)

    d = np.asarray(lpips(w, x * (2 / 255) - 1, y * (2 / 255) - 1))
    assert np.isclose(float(p1), d[0], rtol=1e-5) and np.isclose(float(p), d.mean(), rtol=1e-5)
    # eq. 2 from independent pieces: the float64 L1 above + 0.3 * the per-image LPIPS mean
    assert np.isclose(float(tot), want + 0.3 * d.mean(), rtol=1e-5)


@pytest.mark.eq("easz.C26")
def test_composite_keeps_transmitted_pixels():
    rng = np.random.default_rng(1)
    p = init_params(0, TINY)
    crops = rng.uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    keep = rng.random((2, 4, TINY.tokens)) > 0.25
    y = np.asarray(T.composite_crops(p, crops, keep, TINY))
    kp = np.stack([np.kron(k.reshape(2, 2, 4, 4).transpose(0, 2, 1, 3).reshape(8, 8), np.ones((4, 4))) for k in keep]) > 0
    assert np.array_equal(y[kp], crops[kp])
    assert not np.allclose(y[~kp], crops[~kp])


@pytest.mark.eq("easz.C27")
def test_masks_schedule_and_data_split():
    k = T.random_keep(np.random.default_rng(7), (64, 4, 64), 0.25)
    assert k.dtype == np.bool_ and abs(1 - k.mean() - 0.25) < 0.01
    s = T.lr_schedule(1600, 2.8e-4)
    assert float(s(0)) == 0.0 and np.isclose(float(s(160)), 2.8e-4) and np.isclose(float(s(1600)), 2.8e-5)
    assert T.TRAIN_IMAGES == ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "china", "flower")
    from ref.easz.evaluate import EVAL_IMAGES

    assert not set(EVAL_IMAGES) & set(T.TRAIN_IMAGES)


def test_tiny_training_run_writes_checkpoint(tmp_path):
    pytest.importorskip("skimage")
    pytest.importorskip("sklearn")
    from ref.easz.recon import load_checkpoint

    out = tmp_path / "m.safetensors"
    res = T.train(steps=3, out=str(out), seed=0, cfg=TINY, batch=4, crop=16, lam=0.0, checkpoint_every=2,
                  echo=lambda s: None)
    assert res["steps"] == 3 and np.isfinite(res["history"][-1]["loss"])
    params, cfg = load_checkpoint(out)
    assert cfg == TINY and set(params) == set(init_params(0, TINY))


def test_bad_options_are_input_errors(tmp_path):
    with pytest.raises(InputError):
        T.train(steps=1, out=str(tmp_path / "x"), seed=0, cfg=TINY, crop=24, lam=0.0)
    with pytest.raises(InputError):
        T.train(steps=1, out=str(tmp_path / "x"), seed=0, cfg=TINY, erase_ratio=1.0, lam=0.0)


@pytest.mark.slow
def test_training_reduces_loss_with_lpips(tmp_path):
    """40 steps with eq. 2 (needs the LPIPS weights): the loss goes down."""
    from ref.easz import lpips

    try:
        lpips.load_params()
    except InputError:
        pytest.skip("LPIPS weights not available")
    res = T.train(steps=40, out=str(tmp_path / "m.safetensors"), seed=0, cfg=TINY, batch=8, crop=32,
                  lpips_images=2, echo=lambda s: None)
    h = res["history"]
    assert h[-1]["loss"] < h[0]["loss"]
