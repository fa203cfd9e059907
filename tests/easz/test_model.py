"""Easz reconstruction model (spec/easz.md "Reconstruction model")."""

from __future__ import annotations

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.easz import model as m
from ref.easz import recon

pytestmark = pytest.mark.eq("easz.model")

SMALL = m.ModelConfig(n=16, b=4, dim=32, heads=4)


def _params(cfg=SMALL, seed=0):
    return m.init_params(seed, cfg)


@pytest.mark.eq("easz.C20")
def test_token_layout_roundtrip_and_order():
    x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    t = m.patch_to_tokens(x, 2)
    assert t.shape == (2, 16, 12)
    # token 5 = sub-patch row 1, column 1; element (dy=1, dx=0, c=2) is index (1*2+0)*3+2 = 8
    assert t[0, 5, 8] == x[0, 3, 2, 2]
    assert np.array_equal(m.tokens_to_patch(t, 8, 2, 3), x)


@pytest.mark.eq("easz.C22")
def test_sincos_table():
    p = m.sincos_2d(4, 8)
    assert p.shape == (16, 8) and p.dtype == np.float32
    # token 6 = (i=1, j=2); q = 2, w = (1, 1/100)
    w = np.array([1.0, 0.01])
    want = np.concatenate([np.sin(1 * w), np.cos(1 * w), np.sin(2 * w), np.cos(2 * w)])
    assert np.allclose(p[6], want, atol=1e-7)


@pytest.mark.eq("easz.C24")
def test_config_metadata_roundtrip():
    cfg = m.ModelConfig()
    assert (cfg.n, cfg.b, cfg.dim, cfg.heads, cfg.enc_layers, cfg.dec_layers) == (32, 4, 64, 4, 2, 2)
    assert m.ModelConfig.from_metadata(cfg.to_metadata()) == cfg
    with pytest.raises(ValueError):
        m.ModelConfig(n=30, b=4)


@pytest.mark.eq("easz.C21", "easz.C23")
def test_encoder_ignores_erased_content():
    """Erased tokens never reach the encoder (key-masked attention == E on kept tokens only)."""
    rng = np.random.default_rng(1)
    cfg = SMALL
    p = _params()
    tok = rng.uniform(0, 255, (3, cfg.tokens, cfg.token_dim)).astype(np.float32)
    keep = rng.random((3, cfg.tokens)) > 0.3
    a = np.asarray(m.forward(p, tok, keep, cfg))
    tok2 = np.where(keep[..., None], tok, rng.uniform(0, 255, tok.shape).astype(np.float32))
    b = np.asarray(m.forward(p, tok2, keep, cfg))
    assert a.shape == tok.shape and a.dtype == np.float32
    assert np.allclose(a, b, atol=1e-3)


def test_patches_are_independent_of_batch():
    rng = np.random.default_rng(2)
    cfg = SMALL
    p = _params()
    tok = rng.uniform(0, 255, (4, cfg.tokens, cfg.token_dim)).astype(np.float32)
    keep = rng.random((4, cfg.tokens)) > 0.3
    full = np.asarray(m.forward(p, tok, keep, cfg))
    one = np.asarray(m.forward(p, tok[2:3], keep[2:3], cfg))
    assert np.allclose(full[2:3], one, atol=1e-3)


@pytest.mark.eq("easz.C25")
def test_reconstruct_contract_rgb_and_gray():
    cfg = SMALL
    p = _params()
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (32, 48, 3)).astype(np.float32)
    k = rng.random((8, 12)) > 0.4
    keep = np.repeat(np.repeat(k, 4, 0), 4, 1)
    x = np.where(keep[..., None], img, 0).astype(np.float32)
    out = recon.reconstruct(p, x, keep, cfg)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.array_equal(out[keep], x[keep])
    assert out.min() >= 0 and out.max() <= 255
    # patches are reconstructed independently: a patch alone gives the same pixels
    part = recon.reconstruct(p, x[16:32, 16:32], keep[16:32, 16:32], cfg)
    assert np.allclose(part, out[16:32, 16:32], atol=1e-3)
    g = x[:, :, :1]
    og = recon.reconstruct(p, g, keep, cfg)
    assert og.shape == g.shape
    assert np.array_equal(og[keep], g[keep])
    rep = recon.reconstruct(p, np.repeat(g, 3, 2), keep, cfg).mean(axis=2, keepdims=True)
    assert np.allclose(og[~keep], rep[~keep], atol=1e-3)


@pytest.mark.parametrize("bad", ["shape", "multiple", "keep_dtype", "not_constant", "nan", "channels"])
def test_reconstruct_rejects_bad_input(bad):
    cfg = SMALL
    p = _params()
    x = np.zeros((16, 16, 3), np.float32)
    keep = np.ones((16, 16), bool)
    if bad == "shape":
        x = x[..., 0]
    elif bad == "multiple":
        x, keep = x[:12], keep[:12]
    elif bad == "keep_dtype":
        keep = keep.astype(np.uint8)
    elif bad == "not_constant":
        keep[0, 1] = False
    elif bad == "nan":
        x[0, 0, 0] = np.nan
    elif bad == "channels":
        x = np.zeros((16, 16, 2), np.float32)
    with pytest.raises(InputError):
        recon.reconstruct(p, x, keep, cfg)


def test_checkpoint_roundtrip_and_errors(tmp_path):
    from ref.easz.train import save_checkpoint

    p = _params()
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, p, SMALL, {"steps": 0})
    p2, cfg2 = recon.load_checkpoint(path)
    assert cfg2 == SMALL and set(p2) == set(p)
    assert all(np.array_equal(p[k], p2[k]) for k in p)
    with pytest.raises(InputError):
        recon.load_checkpoint(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        recon.load_checkpoint(tmp_path / "junk.safetensors")


def test_shipped_model_loads_and_has_declared_geometry():
    try:
        params, cfg = recon.load_default()
    except InputError:
        pytest.skip("no shipped checkpoint yet")
    assert (cfg.n, cfg.b) == (32, 4)
    assert set(params) == set(m.init_params(0, cfg))


@pytest.mark.eq("easz.C28")
def test_untrained_residual_model_is_exactly_the_interpolation():
    from ref.easz import recon
    from ref.easz.interp import interpolate
    from ref.easz.model import ModelConfig, init_params

    cfg = ModelConfig(residual=1)
    params = init_params(3, cfg)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(32, 64, 3)).astype(np.float32)
    k = rng.random((8, 16)) >= 0.3
    keep = np.repeat(np.repeat(k, 4, 0), 4, 1)
    erased = np.where(keep[..., None], img, 0).astype(np.float32)
    out = recon.reconstruct(params, erased, keep, cfg)
    # the base is the easz.C16 fill of each 32 x 32 patch on its own (two patches here)
    want = np.concatenate([interpolate(erased[:, :32], keep[:, :32]), interpolate(erased[:, 32:], keep[:, 32:])], 1)
    assert np.array_equal(out, np.clip(want.astype(np.float32), 0, 255))


@pytest.mark.eq("easz.C28")
def test_residual_model_adds_the_head_to_the_base_and_needs_it():
    from ref.easz.model import ModelConfig, forward, init_params

    cfg = ModelConfig(residual=1)
    params = init_params(4, cfg)
    params["head.b"] = np.full_like(params["head.b"], 0.1)
    tok = np.zeros((1, cfg.tokens, cfg.token_dim), np.float32)
    keep = np.ones((1, cfg.tokens), bool)
    base = np.full_like(tok, 100.0)
    out = np.asarray(forward(params, tok, keep, cfg, base))
    np.testing.assert_allclose(out, 100.0 + 255 * 0.25 * 0.1, rtol=0, atol=1e-4)
    with pytest.raises(ValueError):
        forward(params, tok, keep, cfg)
    with pytest.raises(ValueError):
        ModelConfig(residual=2)


def test_model_vectors_pin_the_shipped_checkpoint_by_sha256():
    """The easz.model vectors carry the checkpoint's name and SHA-256 and refuse other weights."""
    import hashlib

    from ref.conformance import golden as g
    from ref.core.errors import GoldenError

    want = hashlib.sha256((recon.WEIGHTS_DIR / recon.DEFAULT_CHECKPOINT).read_bytes()).hexdigest()
    manifest = g.load_manifest(g.default_root())["vectors"]
    vecs = {v.id: v for v in g.discover() if v.id.startswith("easz.model.")}
    pinned = [i for i in vecs if "weights_sha256" in vecs[i].params]
    assert sorted(pinned) == ["easz.model.composite_l1", "easz.model.forward_n32_b4",
                              "easz.model.recon_gray_32x64", "easz.model.recon_rgb_64x64"]
    for i in pinned:
        assert manifest[i]["params"] == {"checkpoint": recon.DEFAULT_CHECKPOINT, "weights_sha256": want}
    v = vecs["easz.model.forward_n32_b4"]
    with pytest.raises(GoldenError, match="SHA-256"):
        v.run(v.make_inputs(), checkpoint=recon.DEFAULT_CHECKPOINT, weights_sha256="0" * 64)
    with pytest.raises(GoldenError, match="pins checkpoint"):
        v.run(v.make_inputs(), checkpoint="other.safetensors", weights_sha256=want)
