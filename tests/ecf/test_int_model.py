"""The integer decoder-critical path of ecf (spec/ecf.md "The integer decoder-critical path").

Model: a reduced ecf (N_cs = 2, p_cs = 4, K = 4, L = 2, d_e = 16, 2 heads, g_e 24 -> 16 -> 36)
with seeded random float parameters in ref.ecf.model's layout (:func:`small_params`; not
trained), quantised by ref.ecf.int_ptq.from_float on one latent and exercised on another.
Latents: 128 x 128 crops of the bundled photograph "astronaut" through a seeded linear
stand-in analysis (:func:`latents`; y_hat 8 x 8 x 8, z_hat 2 x 2 x 16).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ref.core import entropy_models as E
from ref.core import tables as T
from ref.core.errors import InputError
from ref.ecf.int_model import IntEcf, group_positions, int_mixture_weights
from ref.ecf.int_ptq import float_context_f64, float_table_inputs, from_float, group_values, log_scale_thresholds


def small_cfg():
    from ref.ecf.context_model import ContextConfig
    from ref.ecf.model import EcfConfig

    ctx = ContextConfig(n_cs=2, p_cs=4, K=4, layers=2, d_e=16, heads=2, mlp_ratio=2, d_out=8, order="sfo")
    return EcfConfig(quality=3, lam=0.0075, N=16, M=8, n_cs=2, ctx=ctx, k_mix=3, ge_hidden=(16,), mean_grid=8,
                     radius=64)


def small_params(cfg, seed=5):
    """Float parameters in ref.ecf.model's layout (h_s, ctx, g_e), seeded NumPy (no JAX tracing:
    the test stays fast): h_s = core.intnet_ptq.synthetic_hyper_synthesis (realistically scaled),
    ctx = Swin-like N(0, 0.02) weights with the relative bias x 40 (peaked attention) and LN
    gamma ~ 1 + N(0, 0.1^2), g_e = N(0, 1/fan_in) with the last layer x 3 (indices spread)."""
    from ref.core.intnet_ptq import synthetic_hyper_synthesis
    from ref.ecf.window_attention import bias_table_size

    r = np.random.Generator(np.random.PCG64(seed))
    c = cfg.ctx
    f32 = np.float32

    def dense(n_in, n_out, std):
        return {"w": r.normal(0, std, (n_in, n_out)).astype(f32), "b": r.normal(0, 0.02, n_out).astype(f32)}

    def ln(d):
        return {"g": (1 + r.normal(0, 0.1, d)).astype(f32), "b": r.normal(0, 0.05, d).astype(f32)}

    d, mlp = c.d_e, c.mlp_ratio * c.d_e
    layers = [{"ln1": ln(d), "qkv": dense(d, 3 * d, d ** -0.5), "proj": dense(d, d, d ** -0.5),
               "rel_bias": r.normal(0, 0.8, (bias_table_size(c.n_cs, c.K), c.heads)).astype(f32),
               "ln2": ln(d), "fc1": dense(d, mlp, d ** -0.5), "fc2": dense(mlp, d, mlp ** -0.5)}
              for _ in range(c.layers)]
    ctx = {"embed": dense(c.p_cs, d, 0.3), "layers": layers, "ln_out": ln(d), "head": dense(d, c.d_out, d ** -0.5)}
    widths = [c.d_out + cfg.c_psi, *cfg.ge_hidden, 3 * cfg.p_cs * cfg.k_mix]
    g_e = {f"fc{i}": dense(widths[i], widths[i + 1], widths[i] ** -0.5) for i in range(len(widths) - 1)}
    g_e[f"fc{len(widths) - 2}"]["w"] *= 3.0
    return {"h_s": synthetic_hyper_synthesis(seed, cfg.N, cfg.M), "ctx": ctx, "g_e": g_e}


def latents(cfg, crop, seed=11):
    """(y_hat (H/16, W/16, M), z_hat (H/64, W/64, N)) of a crop of the bundled photo "astronaut"
    through a seeded *linear* stand-in analysis (16 x 16 patches, mean removed, times a random
    (768, M) matrix, x 0.05) and hyper-analysis (4 x 4 average of y times a random (M, N) matrix):
    image-structured integers without running a network."""
    from ref.data.datasets import load_image

    r = np.random.Generator(np.random.PCG64(seed))
    A, Bm = r.normal(0, 1, (768, cfg.M)), r.normal(0, 1, (cfg.M, cfg.N))
    x = load_image("astronaut")[crop].astype(np.float64) / 255.0
    H, W = x.shape[0] // 16, x.shape[1] // 16
    patches = x.reshape(H, 16, W, 16, 3).transpose(0, 2, 1, 3, 4).reshape(H, W, 768)
    y = (patches - patches.mean(-1, keepdims=True)) @ A * 0.5
    zf = y.reshape(H // 4, 4, W // 4, 4, cfg.M).mean(axis=(1, 3)) @ Bm * 0.3
    return np.rint(y).astype(np.int64), np.rint(zf).astype(np.int64)


@pytest.fixture(scope="module")
def setup():
    cfg = small_cfg()
    p = small_params(cfg)
    calib = [latents(cfg, (slice(r, r + 128), slice(c, c + 128))) for r, c in ((0, 256), (256, 0), (384, 384))]
    test = latents(cfg, (slice(128, 256), slice(160, 288)))
    m = from_float(p, cfg, calib)
    return cfg, p, m, test


def _decode_all(m, psi, y):
    d = m.decoder(psi)
    out = []
    H, W = y.shape[:2]
    for g in range(m.n_groups):
        out.append(d.table_inputs(g))
        d.next_group(group_values(y, m.group_positions(g, H, W)))
    return out


# =========================================================================== element order
@pytest.mark.eq("ecf.C21")
def test_group_positions_hand_case_and_partition():
    got = group_positions(0, 2, 4, 2, 2, "sfo")
    want = [(0, 0, 0), (0, 0, 1), (0, 2, 0), (0, 2, 1), (1, 1, 0), (1, 1, 1), (1, 3, 0), (1, 3, 1)]
    assert got.tolist() == [list(t) for t in want]
    assert group_positions(3, 2, 4, 2, 2, "sfo")[0].tolist() == [0, 1, 2]       # segment 1, non-anchor
    assert group_positions(1, 2, 4, 2, 2, "cfo")[0].tolist() == [0, 0, 2]       # cfo: segment 1 anchors
    seen = np.concatenate([group_positions(g, 4, 6, 3, 2, "sfo") for g in range(6)])
    assert len({tuple(r) for r in seen.tolist()}) == 4 * 6 * 6 == len(seen)
    with pytest.raises(InputError):
        group_positions(0, 4, 5, 2, 2)


# =========================================================================== mixture weights
def _weights_exact(logits_q16):
    """Independent rational reference of [ecf.C23] given the integer exps (largest remainder)."""
    from ref.core.int_softmax import int_exp

    out = []
    for row in np.asarray(logits_q16):
        e = [int(v) for v in int_exp(row - row.max())]
        S = sum(e)
        t = [Fraction(v * 65536, S) for v in e]
        b = [int(v) for v in t]                                   # floor (t >= 0)
        d = 65536 - sum(b)
        order = sorted(range(len(e)), key=lambda j: (-(t[j] - b[j]), j))
        for j in order[:d]:
            b[j] += 1
        out.append(b)
    return np.array(out, np.int64)


@pytest.mark.eq("ecf.C23", "core.C8")
def test_integer_mixture_weights():
    w = int_mixture_weights(np.zeros((1, 3), np.int64))
    assert w.tolist() == [[21846, 21845, 21845]]                 # 2^16 / 3: one left over, to j = 0
    assert int_mixture_weights(np.array([[0, -(40 << 16), -(40 << 16)]])).tolist() == [[65536, 0, 0]]
    r = np.random.Generator(np.random.PCG64(7))
    lg = np.rint(r.normal(0, 3, (500, 3)) * 65536).astype(np.int64)
    w = int_mixture_weights(lg)
    assert np.all(w.sum(-1) == 65536) and np.all(w >= 0)
    assert np.array_equal(w, _weights_exact(lg))
    p = np.exp(lg / 65536.0 - (lg / 65536.0).max(-1, keepdims=True))
    p = p / p.sum(-1, keepdims=True) * 65536                     # float64 softmax
    assert np.abs(w - p).max() < 1.0 + 65536 * 5e-7               # within the exp bound + 1
    with pytest.raises(InputError):
        int_mixture_weights(np.zeros((2, 3)))


# =========================================================================== scale thresholds
@pytest.mark.eq("ecf.int_index", "core.C4")
def test_log_scale_thresholds_give_the_float_scale_index():
    S = np.array([1e-3, 2.5e-4, 0.0173])
    Tt = log_scale_thresholds(S)
    r = np.random.Generator(np.random.PCG64(9))
    for c in range(3):
        acc = r.integers(int(-4 / S[c]), int(7 / S[c]), 4000)
        got = (acc[:, None] > Tt[c][None]).sum(-1)
        want = E.scale_index(np.exp(acc * S[c]))                 # float64 exp, core's index rule
        ln_s = np.log(T.scale_table()[:63])
        near = np.min(np.abs(acc[:, None] * S[c] - ln_s[None]), axis=-1) < 1e-9
        assert np.array_equal(got[~near], want[~near])
        assert len(np.unique(got)) > 40


# =========================================================================== the model
@pytest.mark.eq("ecf.kv", "ecf.int_gc", "ecf.sfg", "ecf.int_ge", "ecf.int_index")
def test_cached_decoder_gives_identical_integer_indices_on_a_real_latent(setup):
    cfg, p, m, (y, z) = setup
    psi = m.hyper(z)
    assert psi.shape == (8, 8, 2 * cfg.M)
    enc = m.table_inputs_all(psi, y)
    dec = _decode_all(m, psi, y)
    for g in range(m.n_groups):
        n_g = 8 * 4 * cfg.p_cs
        for a, b in zip(enc[g], dec[g]):
            assert a.shape == (n_g, 3) and a.dtype == np.int64
            assert np.array_equal(a, b)
        assert np.all(enc[g][2].sum(-1) == 65536)
    s = np.concatenate([e[0] for e in enc])
    mu = np.concatenate([e[1] for e in enc])
    assert len(np.unique(s)) >= 8 and len(np.unique(mu)) >= 8       # the indices really vary
    # the contexts matter: changing group 0's values changes group 1's indices (and not group 0's)
    y2 = y.copy()
    pos0 = m.group_positions(0, 8, 8)
    y2[pos0[:, 0], pos0[:, 1], pos0[:, 2]] += 3
    enc2 = m.table_inputs_all(psi, y2)
    assert all(np.array_equal(a, b) for a, b in zip(enc[0], enc2[0]))
    assert not all(np.array_equal(a, b) for a, b in zip(enc[1], enc2[1]))


@pytest.mark.eq("ecf.kv")
def test_decoder_rejects_out_of_order_use(setup):
    _, _, m, (y, z) = setup
    d = m.decoder(m.hyper(z))
    with pytest.raises(InputError):
        d.next_group(np.zeros(10, np.int64))                 # before table_inputs(0)
    with pytest.raises(InputError):
        d.table_inputs(1)
    d.table_inputs(0)
    with pytest.raises(InputError):
        d.next_group(np.zeros(10, np.int64))                 # wrong length
    with pytest.raises(InputError):
        m.table_inputs_all(m.hyper(z), y.astype(np.float32))


@pytest.mark.eq("ecf.int_gc", "ecf.int_embed", "ecf.C22", "ecf.int_ptq")
def test_integer_contexts_track_the_float_context_model(setup):
    """Against the float64 NumPy context model (ref.ecf.int_ptq.float_context_f64, built on
    core's float64 block; itself checked against ref.ecf's float32 JAX g_c in the slow test
    below): integer contexts times a per-channel unit agree within a few % of the range."""
    from ref.ecf.egr import egr_pack
    from ref.ecf.int_model import int_context_forward
    from ref.ecf.segments import segment

    cfg, p, m, (y, z) = setup
    r = egr_pack(segment(y[None], cfg.n_cs), "sfo")[:, :3]
    want = float_context_f64(p["ctx"], cfg.ctx, r.astype(np.float64))
    got = int_context_forward(m.p["ctx"], m.meta, r)
    assert got.dtype == np.int64 and got.shape == want.shape
    unit = (got * want).sum(axis=(0, 1, 2, 3)) / np.maximum((got * got).sum(axis=(0, 1, 2, 3)), 1)
    err = np.abs(got * unit - want).max(axis=(0, 1, 2, 3)) / (np.abs(want).max(axis=(0, 1, 2, 3)) + 1e-9)
    assert np.median(err) < 0.05, err
    r2 = r.copy()
    r2[:, 2] += 5                                           # the last slot never reaches earlier slots
    got2 = int_context_forward(m.p["ctx"], m.meta, r2)
    assert np.array_equal(got[:, :2], got2[:, :2]) and not np.array_equal(got[:, 2], got2[:, 2])


@pytest.mark.slow
@pytest.mark.eq("ecf.cm")
def test_float64_twin_equals_the_jax_context_model(setup):
    import jax.numpy as jnp

    from ref.ecf.context_model import context_forward, egr_geometry
    from ref.ecf.egr import egr_pack
    from ref.ecf.segments import segment

    cfg, p, m, (y, z) = setup
    r = egr_pack(segment(y[None], cfg.n_cs), "sfo")[:, :3]
    want = np.asarray(context_forward(p["ctx"], cfg.ctx, egr_geometry(cfg.ctx, 3), jnp.asarray(r, jnp.float32)))
    f64 = float_context_f64(p["ctx"], cfg.ctx, r.astype(np.float64))
    assert np.abs(f64 - want).max() < 1e-4 * (1 + np.abs(want).max())


@pytest.mark.eq("ecf.int_hs", "core.intnet_hs")
def test_integer_psi_tracks_the_float_hyper_synthesis(setup):
    from ref.core.intnet_ptq import float_hyper_synthesis_f64

    cfg, p, m, (y, z) = setup
    want = float_hyper_synthesis_f64(p["h_s"], z[None])["out"][0]
    got = m.hyper(z)
    unit = (got * want).sum(axis=(0, 1)) / np.maximum((got * got).sum(axis=(0, 1)), 1)
    rel = np.abs(got * unit - want).max() / np.abs(want).max()
    assert rel < 0.02, rel
    with pytest.raises(InputError):
        m.hyper(z.astype(np.float32))


@pytest.mark.slow
@pytest.mark.eq("ecf.int_ptq", "ecf.int_index")
def test_integer_and_float_paths_mostly_agree(setup):
    cfg, p, m, (y, z) = setup
    enc = m.table_inputs_all(m.hyper(z), y)
    fl = float_table_inputs(p, cfg, y, z)
    s_eq = np.mean(np.concatenate([(a[0] == b[0]).ravel() for a, b in zip(enc, fl)]))
    s_1 = np.mean(np.concatenate([(np.abs(a[0] - b[0]) <= 1).ravel() for a, b in zip(enc, fl)]))
    m_1 = np.mean(np.concatenate([(np.abs(a[1] - b[1]) <= 2).ravel() for a, b in zip(enc, fl)]))
    w_d = max(int(np.abs(a[2] - b[2]).max()) for a, b in zip(enc, fl))
    assert s_eq > 0.5 and s_1 > 0.97 and m_1 > 0.9 and w_d < 65536 // 4, (s_eq, s_1, m_1, w_d)


# =========================================================================== checkpoint
@pytest.mark.eq("ecf.C24")
def test_checkpoint_round_trip_and_damage(setup, tmp_path):
    from safetensors.numpy import load_file, save_file

    cfg, p, m, (y, z) = setup
    path = tmp_path / "int.safetensors"
    save_file(m.to_tensors(), str(path))
    m2 = IntEcf.from_tensors(load_file(str(path)))
    psi = m.hyper(z)
    assert np.array_equal(psi, m2.hyper(z))
    for a, b in zip(m.table_inputs_all(psi, y)[3], m2.table_inputs_all(psi, y)[3]):
        assert np.array_equal(a, b)
    t = m.to_tensors()
    assert t["ecf_int.ctx.blocks.0.fc1.w"].dtype == np.int8                   # 8-bit weights stored narrow
    assert t["ecf_int.g_e.layers.0.w"].dtype == np.int16 and t["ecf_int.ctx.bias.0"].dtype == np.int32
    with pytest.raises(InputError):
        IntEcf.from_tensors({})
    bad = dict(t)
    del bad["ecf_int.ctx.blocks.1.fc2.w"]
    with pytest.raises(InputError):
        IntEcf.from_tensors(bad)
    bad = dict(t)
    bad["ecf_int.g_e.index.scale_thresholds"] = bad["ecf_int.g_e.index.scale_thresholds"][:, ::-1].copy()
    with pytest.raises(InputError):
        IntEcf.from_tensors(bad)
    bad = dict(t)
    bad["ecf_int.g_e.layers.0.w"] = bad["ecf_int.g_e.layers.0.w"].astype(np.float32)
    with pytest.raises(InputError):
        IntEcf.from_tensors(bad)
    bad = dict(t)
    bad["ecf_int.ctx.embed.w"] = bad["ecf_int.ctx.embed.w"].astype(np.int64) * (1 << 20)   # accumulator bound
    with pytest.raises(InputError):
        IntEcf.from_tensors(bad)


# =========================================================================== the proof pair
@pytest.mark.eq("core.C32", "ecf.int_index")
def test_one_ulp_flips_a_float_index_and_the_integer_path_takes_no_floats(setup):
    """(a) The float path (the float model in float64, ref.ecf.int_ptq.float_entropy_params_f64;
    float32 JAX behaves alike, [ecf.kv]): the real element whose sigma is nearest a table
    boundary, with weight >= 0.2, put on the boundary (encoder) and one ulp above (decoder):
    its index flips, and the group coded with the encoder's indices decodes wrong with the
    decoder's.  (b) One ulp on every float input of the float path (y_hat, z_hat) moves its
    outputs; the integer path refuses floats and reads integers only: indices unchanged."""
    from ref.core import ans
    from ref.ecf.int_ptq import float_entropy_params_f64

    cfg, p, m, (y, z) = setup
    wl, mu, sig = float_entropy_params_f64(p, cfg, y, z)
    g = 2
    lw = wl[g].reshape(-1, 3)
    w = np.exp(lw - lw.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    sg = sig[g].reshape(-1, 3)
    s = T.scale_table()
    k = np.clip(np.searchsorted(s[:-1], sg, side="left"), 0, 62)
    rel = np.abs(s[k] - sg) / s[k]
    rel[len(rel) // 2:] = np.inf                        # decoded early, so the rest of the stream follows it
    rel[(k > 40) | (w < 0.2)] = np.inf                  # a resolved scale of a component that matters
    e = np.unravel_index(int(np.argmin(rel)), sg.shape)
    enc_s = sg.copy()
    enc_s[e] = s[k[e]]                                  # on the boundary: index k
    dec_s = enc_s.copy()
    dec_s[e] = np.nextafter(enc_s[e], np.inf)           # one ulp above: index k + 1
    enc = E.gmm_indices(w, mu[g].reshape(-1, 3), enc_s, cfg.mean_grid)
    dec = E.gmm_indices(w, mu[g].reshape(-1, 3), dec_s, cfg.mean_grid)
    assert (enc[0] != dec[0]).sum() == 1 and enc[0][e] + 1 == dec[0][e]
    vals = group_values(y, m.group_positions(g, 8, 8))
    groups, payload = E.encode_mixture(vals, *enc, radius=cfg.radius, mean_grid=cfg.mean_grid)
    data = ans.encode_groups(groups)
    try:
        out = E.decode_mixture(ans.AnsDecoder(data), *dec, payload, radius=cfg.radius, mean_grid=cfg.mean_grid)
        wrong = not np.array_equal(out, vals)
    except Exception:                                   # a BitstreamError / InputError is also a failure
        wrong = True
    assert wrong
    assert np.array_equal(E.decode_mixture(ans.AnsDecoder(data), *enc, payload, radius=cfg.radius,
                                           mean_grid=cfg.mean_grid), vals)
    # (b)
    yd = np.nextafter(y.astype(np.float64), np.inf)
    zd = np.nextafter(z.astype(np.float64), np.inf)
    assert np.count_nonzero(float_entropy_params_f64(p, cfg, yd, zd)[2] != sig) > 0
    with pytest.raises(InputError):
        m.hyper(zd)
    with pytest.raises(InputError):
        m.table_inputs_all(m.hyper(z), yd)
    a = m.table_inputs_all(m.hyper(z), y)
    b = m.table_inputs_all(m.hyper(np.rint(zd).astype(np.int64)), np.rint(yd).astype(np.int64))
    assert all(np.array_equal(u, v) for ga, gb in zip(a, b) for u, v in zip(ga, gb))
