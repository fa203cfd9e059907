"""The central equivalences of [ecf.egr], [ecf.kv] and what [ecf.sfg] is, on seeded random
weights.  Float tolerance 1e-5 absolute: the two computations reduce over different lengths /
layouts in float32 (spec [ecf.kv]); observed differences are <= 1e-7."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ref.ecf.sfg as sfg
from ref.ecf.context_model import ContextConfig, Geometry, context_forward, egr_geometry, init_context_model, plain_geometry
from ref.ecf.egr import egr_pack, egr_unpack
from ref.ecf.sfg import context_steps, decoder_contexts, encoder_contexts

TOL = 1e-5


def _setup(order="sfo", n_cs=2, H=8, W=8, seed=0):
    cfg = ContextConfig(n_cs=n_cs, p_cs=3, K=4, layers=2, d_e=16, heads=2, d_out=5, order=order)
    params = init_context_model(jax.random.PRNGKey(seed), cfg)
    # Swin's init (std 0.02) makes attention almost uniform; scale it up so that attention is
    # peaked and a wrong bias index, key or mask changes the outputs far beyond TOL
    params["embed"]["w"] = params["embed"]["w"] * 30.0
    for p in params["layers"]:
        p["rel_bias"] = p["rel_bias"] * 50.0
        p["qkv"]["w"] = p["qkv"]["w"] * 15.0
        p["proj"]["w"] = p["proj"]["w"] * 20.0
    s = np.random.default_rng(seed).normal(size=(1, n_cs, H, W, 3)).astype(np.float32)
    return cfg, params, s


@pytest.mark.eq("ecf.egr")
@pytest.mark.eq("ecf.cm")
@pytest.mark.parametrize("order", ["sfo", "cfo"])
def test_egr_single_pass_equals_plain_layout(order):
    cfg, params, s = _setup(order)
    r = egr_pack(s, order)
    egr = np.asarray(context_forward(params, cfg, egr_geometry(cfg, cfg.n_groups), r))
    plain = np.asarray(context_forward(params, cfg, plain_geometry(cfg), s))
    assert np.abs(egr_unpack(egr, cfg.n_cs, order) - plain).max() <= TOL
    assert np.abs(plain).max() > 0.1                     # not trivially small


@pytest.mark.eq("ecf.C5")
def test_bias_over_packed_coordinates_is_a_different_model():
    """Why [ecf.C5] takes unpacked columns: with packed ones EGR stops being a rearrangement."""
    cfg, params, s = _setup("sfo")
    geo = egr_geometry(cfg, cfg.n_groups)
    c = geo.coords.copy()
    c[:, 3] = np.tile(np.arange(cfg.K // 2), c.shape[0] // (cfg.K // 2))   # packed column b'
    packed = Geometry(geo.kh, geo.kw, geo.sh, geo.sw, c, geo.n_slots)
    a = np.asarray(context_forward(params, cfg, packed, egr_pack(s, "sfo")))
    plain = np.asarray(context_forward(params, cfg, plain_geometry(cfg), s))
    assert np.abs(egr_unpack(a, cfg.n_cs, "sfo") - plain).max() > 1e-3


@pytest.mark.eq("ecf.kv")
@pytest.mark.eq("ecf.sfg")
@pytest.mark.parametrize("order", ["sfo", "cfo"])
def test_cached_decoder_equals_single_pass_encoder(order, monkeypatch):
    cfg, params, s = _setup(order, n_cs=3, H=8, W=8, seed=1)
    r = egr_pack(s, order)
    enc = np.asarray(encoder_contexts(params, cfg, r))
    steps, seen = [], []
    real_step = sfg.context_step
    monkeypatch.setattr(sfg, "context_step", lambda *a, **k: (steps.append(a[-1]), real_step(*a, **k))[1])

    def decode_group(g, ctx):
        seen.append(np.asarray(ctx))
        return r[:, g]

    groups, dec = decoder_contexts(params, cfg, (1, 8, 4), decode_group)
    assert steps == list(range(context_steps(cfg.n_cs))) == list(range(5))     # 2 N_cs - 1 steps
    assert np.array_equal(np.asarray(groups), r)
    assert not np.any(seen[0]) and not np.any(enc[:, 0])                        # group 0: hyperprior only
    assert np.abs(enc - np.asarray(dec)).max() <= TOL
    assert all(np.abs(enc[:, g] - seen[g]).max() <= TOL for g in range(6))     # what decode_group got


@pytest.mark.eq("ecf.sfg")
@pytest.mark.eq("ecf.C3")
def test_context_of_group_g_depends_on_earlier_groups_only():
    cfg, params, s = _setup("sfo", n_cs=2)
    r = egr_pack(s, "sfo")
    base = np.asarray(encoder_contexts(params, cfg, r))
    for g in range(cfg.n_groups):
        r2 = r.copy()
        r2[:, g] += 3.0
        out = np.asarray(encoder_contexts(params, cfg, r2))
        assert np.array_equal(out[:, :g + 1], base[:, :g + 1])          # groups <= g: untouched, exactly
        if g + 1 < cfg.n_groups:
            assert np.abs(out[:, g + 1] - base[:, g + 1]).max() > 1e-3  # the next group does see it


@pytest.mark.eq("ecf.sfg")
def test_dropping_the_last_slot_changes_nothing_else():
    cfg, params, s = _setup("sfo")
    r = egr_pack(s, "sfo")
    full = np.asarray(context_forward(params, cfg, egr_geometry(cfg, 4), r))
    sfg_out = np.asarray(context_forward(params, cfg, egr_geometry(cfg, 3), r[:, :3]))
    assert np.abs(full[:, :3] - sfg_out).max() <= TOL            # same math, other reduction lengths
    assert context_steps(4) == 7
