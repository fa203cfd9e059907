"""moc training: losses (rate penalty, MSE + noise proxy), PCA initialisation, a smoke run."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.moc.config import MocConfig
from ref.moc.losses import GAUSS_H_OFFSET, mse, rate_penalty, total_loss, uniform_noise

F32 = jnp.float32


@pytest.mark.eq("moc.rate_penalty", "moc.C25")
def test_rate_penalty_formulas():
    r = np.random.default_rng(0)
    y = (r.standard_normal((3, 7, 5, 4)) * np.array([0.5, 2.0, 8.0, 0.0]) + 3.0).astype(np.float32)
    v = y.reshape(-1, 4).astype(np.float64).var(axis=0)  # biased, per channel
    np.testing.assert_allclose(float(rate_penalty(y, "variance")), v.mean(), rtol=1e-5)
    yy = y.reshape(-1).astype(np.float64)  # the slides' literal form: one mean over all elements
    np.testing.assert_allclose(float(rate_penalty(y, "literal")), np.mean((yy - yy.mean()) ** 2), rtol=1e-5)
    np.testing.assert_allclose(float(rate_penalty(y, "log_std")), np.mean(0.5 * np.log2(v + 1e-6)), rtol=1e-5)
    # dead channel (std 0): finite thanks to the 1e-6 floor
    assert np.isfinite(float(rate_penalty(y, "log_std")))
    with pytest.raises(ValueError):
        rate_penalty(y, "entropy")


@pytest.mark.eq("moc.rate_penalty")
def test_rate_penalty_literal_vs_per_channel_by_hand():
    """Two channels, two positions: channel 0 = (0, 2), channel 1 = (10, 10).
    Literal (one mean 5.5): (5.5^2 + 4.5^2 + 3.5^2 + 4.5^2) / 4 = 83 / 4 = 20.75.
    Per channel: variances 1 and 0, mean 0.5 = 20.75 - ((1 - 5.5)^2 + (10 - 5.5)^2) / 2."""
    y = np.array([[0.0, 10.0], [2.0, 10.0]], np.float32)
    assert float(rate_penalty(y, "literal")) == 20.75
    assert float(rate_penalty(y, "variance")) == 0.5
    assert abs(float(rate_penalty(y, "log_std")) - 0.5 * (0.5 * np.log2(1 + 1e-6) + 0.5 * np.log2(1e-6))) < 1e-5


@pytest.mark.eq("moc.rate_penalty", "moc.C25")
def test_log_std_plus_offset_estimates_entropy_of_rounded_gaussian():
    r = np.random.default_rng(1)
    for sigma in (3.0, 10.0):
        y = (r.standard_normal((200_000, 1)) * sigma).astype(np.float32)
        sym = np.rint(y).astype(np.int64).ravel()
        _, cnt = np.unique(sym, return_counts=True)
        p = cnt / cnt.sum()
        h = -(p * np.log2(p)).sum()
        est = float(rate_penalty(y, "log_std")) + GAUSS_H_OFFSET
        assert abs(est - h) < 0.02, (sigma, est, h)
    assert math.isclose(GAUSS_H_OFFSET, 2.0471, abs_tol=1e-4)


@pytest.mark.eq("moc.loss")
def test_total_loss_is_mse_plus_lambda_rate_and_noise_is_one_step():
    r = np.random.default_rng(2)
    x = r.random((2, 8, 8, 3)).astype(np.float32) - 0.5
    xh = x + 0.01 * r.standard_normal(x.shape).astype(np.float32)
    y = r.standard_normal((2, 1, 1, 12)).astype(np.float32) * 5
    m = float(mse(x, xh))
    np.testing.assert_allclose(m, np.mean((x.astype(np.float64) - xh) ** 2), rtol=1e-5)
    # independent float64 NumPy: MSE + lambda * mean_c 0.5 log2(biased var_c + 1e-6)
    v = y.reshape(-1, 12).astype(np.float64).var(axis=0)
    want = np.mean((x.astype(np.float64) - xh) ** 2) + 1e-3 * np.mean(0.5 * np.log2(v + 1e-6))
    np.testing.assert_allclose(float(total_loss(x, xh, y, 1e-3)), want, rtol=1e-5)
    u = np.asarray(uniform_noise(jax.random.key(0), (100_000,)))
    assert u.dtype == np.float32 and u.min() >= -0.5 and u.max() <= 0.5 and abs(u.mean()) < 0.01
    assert abs(u.var() - 1 / 12) < 2e-3


def _tiny_cfg(**kw):
    base = dict(name="tiny", latent_channels=12, decoder_dim=16, decoder_depth=1, decoder_heads=2,
                decoder_mlp_ratio=2)
    base.update(kw)
    return MocConfig(**base)


def _astronaut_crop():
    from ref.moc.data import load_image

    return load_image("astronaut")[96:160, 160:256].astype(np.float32) / 255.0


@pytest.mark.eq("moc.C23", "moc.decoder")
def test_pca_init_starts_at_the_linear_pca_codec():
    """With W_out = 0, decoder(expand(c)) = mu + (s/alpha) V_M^T e/s: the PCA reconstruction."""
    from ref.moc.model import decoder_net, encoder_latent, init_params
    from ref.moc.train import pca_basis, pca_init
    from ref.moc.wpt import wpt_forward

    cfg = _tiny_cfg()
    img = _astronaut_crop()
    mu, V, ev = pca_basis(cfg, [img])
    params = pca_init(init_params(jax.random.key(0), cfg), cfg, mu, V, ev, lam=1.5e-4)
    x = jnp.asarray(img - 0.5, F32)
    c = encoder_latent(params, x, cfg)
    from ref.moc.companding import expand

    coeffs = np.asarray(decoder_net(params, expand(c), cfg), np.float64)  # no rounding
    X = np.asarray(wpt_forward(jnp.asarray(img - 0.5, jnp.float64), cfg.wavelet, cfg.levels, (0, 1)))
    Vk = V[:, : cfg.latent_channels]
    proj = mu + (X - mu) @ Vk @ Vk.T
    np.testing.assert_allclose(coeffs, proj, atol=2e-3)
    # the rate-matched gain: quantisation-noise MSE ~= lam / (2 ln 2)
    from ref.moc.companding import compand_scale, latent_max

    s = compand_scale(8)
    g = s * math.sqrt(2 * math.pi) / (2 * latent_max(8))
    alpha = float(np.linalg.norm(np.asarray(params["encoder"]["kernel"])[:, 0]))
    noise = cfg.latent_channels * g * g / 12 / (alpha**2 * cfg.wpt_channels)
    assert abs(noise - 1.5e-4 / (2 * math.log(2))) < 1e-7


@pytest.mark.eq("moc.loss")
def test_train_smoke_tiny(tmp_path):
    from ref.moc.model import load_file
    from ref.moc.train import train

    img = _astronaut_crop()
    out = tmp_path / "tiny.safetensors"
    rec = train("tiny", steps=3, seed=0, out=out, batch=2, crop=32, cfg=_tiny_cfg(),
                images=[img], log_every=1, warmup=1)
    assert rec["steps"] == 3 and math.isfinite(rec["final"]["loss"])
    params, cfg, meta = load_file(out)
    assert cfg == _tiny_cfg() and meta["seed"] == 0 and meta["steps"] == 3
    assert params["decoder"]["skip"]["w"].shape == (12, 192)


@pytest.mark.slow
@pytest.mark.eq("moc.loss")
def test_training_is_deterministic(tmp_path):
    """Same seed -> bit-identical checkpoint tensors (CPU)."""
    from ref.moc.model import flatten, load_file
    from ref.moc.train import train

    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.safetensors"
        train("rgb_16x", steps=20, seed=3, out=out, log_every=10)
        outs.append(flatten(load_file(out)[0]))
    for k in outs[0]:
        np.testing.assert_array_equal(outs[0][k], outs[1][k])


@pytest.mark.slow
def test_train_command_cli(tmp_path):
    from click.testing import CliRunner

    from ref.moc.train import train_command

    out = tmp_path / "m.safetensors"
    res = CliRunner().invoke(train_command, ["--model", "rgb_16x", "--steps", "5", "--seed", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    from ref.moc.model import CONFIGS, load_file

    params, cfg, meta = load_file(out)
    assert cfg == CONFIGS["rgb_16x"] and meta["steps"] == 5 and meta["seed"] == 1
