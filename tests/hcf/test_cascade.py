"""Level processes and the cascade (eqs. 6-10), the transmission at a hop (hcf.C21).

Checked against: a float64 NumPy φ (tests/hcf/test_transform.py), the arithmetic form of
eq. 8, an operation log of the composition written from eqs. 9-10, the real entropy coder
(encode_hyperprior -> decode_hyperprior) and the base codec's own encoder/decoder."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.core import hyperprior as HP
from ref.core.errors import InputError
from ref.core.intnet import int_conditional_indices
from ref.hcf.cascade import (cascade, cascade_transform, coded_transmit, inter_node_process, intra_node_process,
                             level_process, reconstruct_at_level, training_transmit)
from ref.hcf.policy import policy_space, truncate_policy
from ref.hcf.transform import init_phi_pair
from tests.hcf.test_transform import phi_np, random_like
from tests.hcf.tiny import tiny_model

M = 12          # tiny_model's latent width


@pytest.fixture(scope="module")
def levels():
    return {3: tiny_model(0, 3), 2: tiny_model(1, 2)}


@pytest.fixture(scope="module")
def modules():
    shapes = jax.eval_shape(lambda: init_phi_pair(jax.random.key(0), M, M))
    return {k: random_like(shapes, 40 + k) for k in (3, 2)}


def latent(seed, shape=(1, 4, 4, M)):
    return np.random.default_rng(seed).normal(0, 3.0, shape).astype(np.float32)


@pytest.mark.eq("hcf.6", "hcf.7", "hcf.8")
def test_level_processes_against_float64_phi_and_eq8_arithmetic(levels, modules):
    tr = coded_transmit(levels)
    y = latent(0)
    y_hat = tr(3, y)
    inter = np.asarray(inter_node_process(modules[3], jnp.asarray(y), 3, tr), np.float64)
    intra = np.asarray(intra_node_process(modules[3], jnp.asarray(y)), np.float64)
    want_inter, want_intra = phi_np(modules[3]["inter"], y_hat), phi_np(modules[3]["intra"], y)
    tol = 1e-4 * (1 + np.abs(want_inter).max())
    assert np.abs(inter - want_inter).max() <= tol and np.abs(intra - want_intra).max() <= tol
    assert np.abs(want_inter - want_intra).max() > 0.1          # the two processes differ
    for pi_k in (0, 1):
        got = np.asarray(level_process(pi_k, modules[3], jnp.asarray(y), 3, tr), np.float64)
        blend = (1 - pi_k) * want_intra + pi_k * want_inter      # eq. 8 as written
        assert np.abs(got - blend).max() <= tol
    with pytest.raises(InputError):
        level_process(2, modules[3], y, 3, tr)


class Log:
    """A fake φ and transmit that record the operations and apply simple exact maps."""

    def __init__(self):
        self.ops = []

    def phi(self, p, y):
        self.ops.append((p["kind"], p["level"]))
        return y * 2.0 + p["level"]

    def transmit(self, k, y):
        self.ops.append(("Q", k))
        return np.floor(y)


@pytest.mark.eq("hcf.9", "hcf.10", "hcf.policy_space")
def test_composition_order_eq9_eq10():
    s, d = 5, 1
    mods = {k: {"inter": {"kind": "inter", "level": k}, "intra": {"kind": "intra", "level": k}} for k in range(s, d, -1)}
    y0 = np.array([0.3, -1.7])
    for n_q in range(1, s - d + 2):
        for pi in policy_space(s, d, n_q):
            for k in range(d, s + 1):
                log = Log()
                got = cascade_transform(pi, s, k, mods, y0, log.transmit, log.phi)
                want_ops, y = [], y0.copy()
                for j in range(s, k, -1):                       # T_s first, T_{k+1} last (eq. 9)
                    if pi[s - j] == 1:
                        want_ops += [("Q", j), ("inter", j)]
                        y = np.floor(y) * 2.0 + j
                    else:
                        want_ops += [("intra", j)]
                        y = y * 2.0 + j
                assert log.ops == want_ops, (pi, k)
                np.testing.assert_array_equal(got, y)
            log = Log()
            x_hat, y_hat = cascade(pi, s, y0, analysis_s=lambda x: x + 100.0, synthesis_d=lambda v: -v,
                                   modules=mods, transmit=log.transmit, phi_fn=log.phi)
            assert log.ops[-1] == ("Q", d)                          # the mandatory last quantisation
            assert sum(op[0] == "Q" for op in log.ops) == n_q        # exactly n_q quantisations
            np.testing.assert_array_equal(x_hat, -y_hat)


@pytest.mark.eq("hcf.C21")
def test_coded_transmit_equals_the_entropy_coder_round_trip(levels):
    m = levels[3]
    tr = coded_transmit(levels)
    for seed in range(3):
        y = latent(seed, (1, 8, 12, M))
        z_hat = HP.quantize_z(HP.hyper_analysis(m.params["hyper"], jnp.asarray(y)))
        fn = lambda z: int_conditional_indices(m.p_int, z)         # noqa: E731
        sections, _ = HP.encode_hyperprior(y, z_hat, m.z_tables, m.z_offsets, fn, radius=m.cfg.radius)
        y_dec, _ = HP.decode_hyperprior(sections, m.z_tables, m.z_offsets, fn, family="gaussian",
                                        expect_channels=(m.cfg.M, m.cfg.N), expect_mean_grid=m.cfg.mean_grid)
        np.testing.assert_array_equal(tr(3, y), y_dec)               # D(E(Q(y))) bit for bit
        assert np.abs(tr(3, y) - y).max() <= 0.5 + 1e-6


@pytest.mark.eq("hcf.10", "hcf.C21")
def test_cascade_at_the_source_level_is_the_base_codec(levels):
    from ref.core import container as ctr
    from ref.hcf.codec import decode_latent, encode_image, pad_image, to_network
    from ref.hcf.model import analysis, synthesis

    m = levels[3]
    img = np.random.default_rng(5).integers(0, 256, (40, 70, 3)).astype(np.uint8)
    y_codec, _, _ = decode_latent(ctr.unpack(encode_image(img, 3, m)), m)
    x = jnp.asarray(to_network(pad_image(img)))
    _, y_hat = cascade((1,), 3, x, analysis_s=lambda v: analysis(m.params, v),
                       synthesis_d=lambda v: synthesis(m.params, jnp.asarray(v)), modules={}, transmit=coded_transmit(levels))
    np.testing.assert_array_equal(y_hat, y_codec)


@pytest.mark.eq("hcf.C21")
def test_training_transmit_value_and_straight_through_gradient(levels):
    tr_c = coded_transmit(levels)
    tr_t = training_transmit({k: v.params["hyper"] for k, v in levels.items()})
    y = latent(7, (1, 8, 8, M))
    got = np.asarray(tr_t(3, jnp.asarray(y)))
    same = np.isclose(got, tr_c(3, y), atol=1e-6)
    assert same.mean() >= 0.95          # float vs integer h_s may round a mean to another grid point
    g = jax.grad(lambda v: jnp.sum(tr_t(3, v) * 1.5))(jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(g), 1.5)


@pytest.mark.eq("hcf.10", "hcf.policy_space")
def test_reconstruct_at_level_is_eq10_of_the_truncated_policy():
    mods = {k: {"inter": {"kind": "inter", "level": k}, "intra": {"kind": "intra", "level": k}} for k in (4, 3, 2)}
    pi = (0, 1, 0, 1)
    for k in (4, 3, 2, 1):
        a = Log()
        got = reconstruct_at_level(pi, 4, k, np.array([1.25]), analysis_s=lambda x: x, synthesis_k=lambda v: v,
                                   modules=mods, transmit=a.transmit, phi_fn=a.phi)
        b = Log()
        want = cascade(truncate_policy(pi, 4, k), 4, np.array([1.25]), analysis_s=lambda x: x,
                       synthesis_d=lambda v: v, modules=mods, transmit=b.transmit, phi_fn=b.phi)
        assert a.ops == b.ops and a.ops[-1] == ("Q", k)
        np.testing.assert_array_equal(got[0], want[0])


@pytest.mark.eq("hcf.9")
def test_cascade_errors():
    mods = {3: {"inter": {"kind": "inter", "level": 3}, "intra": {"kind": "intra", "level": 3}}}
    log = Log()
    with pytest.raises(InputError):
        cascade_transform((0, 0, 1), 3, 1, mods, np.zeros(1), log.transmit, log.phi)    # no phi_{2->1}
    with pytest.raises(InputError):
        cascade_transform((0, 1), 3, 1, mods, np.zeros(1), log.transmit, log.phi)       # k below d
    with pytest.raises(InputError):
        cascade_transform((0, 0), 3, 2, mods, np.zeros(1), log.transmit, log.phi)       # pi_d = 0
    with pytest.raises(InputError):
        coded_transmit({})(3, np.zeros((1, 4, 4, M), np.float32))


# ------------------------------------------------------------------ Tab. 1 driver, cascade checkpoint
@pytest.mark.eq("hcf.14", "hcf.C22", "hcf.policy_space")
def test_policy_table_on_tiny_models(levels, modules, tmp_path):
    from ref.core import container as ctr
    from ref.core.metrics import psnr
    from ref.hcf.codec import decode_latent, to_uint8
    from ref.hcf.model import synthesis
    from ref.hcf.policy_table import evaluate_policies, level_container, summarize, write_outputs
    from ref.hcf.rqsi import rqsi

    models = {**levels, 1: tiny_model(2, 1)}
    yy, xx = np.mgrid[0:176, 0:170]
    img = np.stack([(yy * 1.3) % 256, (xx * 0.9 + yy) % 256, (xx * yy / 97) % 256], -1).astype(np.uint8)
    rows = evaluate_policies({"a": img}, s=3, models=models, modules=modules, d_values=(1, 2))
    # every policy of Π(3, 1; ·) and Π(3, 2; ·), plus π_*, π^* at level 2 (already among Π(3, 2; ·)) and 3
    assert sorted((r["d"], r["policy"]) for r in rows) == sorted(
        [(1, "001"), (1, "011"), (1, "101"), (1, "111"), (2, "01"), (2, "11"), (3, "1")])
    # a row's bpp is its container's size; that container decodes (ordinary decoder) to the row's PSNR
    r = next(r for r in rows if (r["d"], r["policy"]) == (1, "101"))
    from ref.hcf.cascade import cascade_transform, coded_transmit
    from ref.hcf.codec import pad_image, to_network
    from ref.hcf.model import analysis

    y_s = analysis(models[3].params, jnp.asarray(to_network(pad_image(img))))
    y_1 = cascade_transform((1, 0, 1), 3, 1, modules, y_s, coded_transmit(models))
    data, _ = level_container(y_1, 1, models[1], 176, 170, 3)
    assert r["bpp"] == 8 * len(data) / (176 * 170)
    y_dec, (lvl, H, W, C), _ = decode_latent(ctr.unpack(data), models[1])
    rec = to_uint8(synthesis(models[1].params, jnp.asarray(y_dec)), H, W, C)
    assert lvl == 1 and r["psnr"] == pytest.approx(psnr(img, rec), abs=0.05)
    table = summarize(rows, 3, (1, 2))
    assert [t["policy"] for t in table] == ["[0,0,1]", "[0,1]", "[1,0,1]", "[0,1,1]", "[1,1]", "[1,1,1]"]
    by = {(t["d"], t["policy"]): t for t in table}
    lo, hi = by[(2, "[0,1]")], by[(2, "[1,1]")]
    t = by[(1, "[1,0,1]")]
    assert t["edge"] and not t["late"] and by[(1, "[0,1,1]")]["late"]
    assert t["eta_psnr"] == pytest.approx(0.5 * (abs(lo["psnr"] - t["psnr"]) / max(abs(lo["bpp"] - t["bpp"]), 1e-6)
                                                 + abs(hi["psnr"] - t["psnr"]) / max(abs(hi["bpp"] - t["bpp"]), 1e-6)))
    assert t["eta_ms_ssim"] == pytest.approx(rqsi((t["ms_ssim_db"], t["bpp"]), (lo["ms_ssim_db"], lo["bpp"]),
                                                  (hi["ms_ssim_db"], hi["bpp"])))
    assert math.isnan(by[(2, "[1,1]")]["eta_psnr"]) is False and len(table) == 6
    paths = write_outputs(table, tmp_path, "tiny")
    assert all(p.stat().st_size > 0 for p in paths)
    assert "| 2 | 1 | [1,0,1] |" in (tmp_path / "policy_table.md").read_text()


def test_policy_table_says_when_nothing_is_trained(tmp_path):
    from ref.hcf.policy_table import run

    with pytest.raises(InputError, match="nothing to tabulate"):
        run(tmp_path / "out", cascade_path=tmp_path / "none.safetensors")


def test_cascade_checkpoint_round_trip(modules, tmp_path):
    from ref.hcf import cascade_checkpoint as CC

    path = CC.save(modules, {3: "hcf_q3-0123456789abcdef"}, {"steps": 0}, tmp_path / "c.safetensors")
    ck = CC.load(path)
    assert ck.base_models == {3: "hcf_q3-0123456789abcdef"} and ck.train == {"steps": 0}
    for k in modules:
        for kind in ("inter", "intra"):
            a = jax.tree_util.tree_leaves(modules[k][kind])
            b = jax.tree_util.tree_leaves(ck.modules[k][kind])
            assert all(np.array_equal(np.asarray(x, np.float16).astype(np.float32), y) for x, y in zip(a, b))
    with pytest.raises(InputError):
        CC.load(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        CC.load(tmp_path / "bad.safetensors")


# ------------------------------------------------------------------ training objectives (eqs. 11-13)
@pytest.mark.eq("hcf.11", "hcf.12")
def test_distillation_loss_against_float64(levels, modules):
    from ref.hcf.cascade_loss import distillation_loss, module_input

    tr = coded_transmit(levels)
    y = latent(11)
    target = latent(12)
    for kind in ("intra", "inter"):
        y_in = module_input(kind, y, 3, tr)
        want_in = y if kind == "intra" else tr(3, y)
        np.testing.assert_array_equal(np.asarray(y_in), want_in)
        got = float(distillation_loss(modules[3][kind], jnp.asarray(y_in), jnp.asarray(target)))
        want = float(np.mean((phi_np(modules[3][kind], want_in) - target.astype(np.float64)) ** 2))
        assert got == pytest.approx(want, rel=1e-4)
    with pytest.raises(InputError):
        module_input("both", y, 3, tr)


@pytest.mark.eq("hcf.13")
def test_finetune_loss_is_the_base_codec_loss_at_the_source(levels):
    from ref.hcf.cascade_loss import finetune_loss
    from ref.hcf.model import analysis, forward_train

    p = levels[3].params
    x = jnp.asarray(np.random.default_rng(9).random((2, 64, 64, 3)), jnp.float32)
    key = jax.random.key(4)
    loss, mse, bpp = finetune_loss(p, 0.0075, x, analysis(p, x), key)
    x_hat, bits_y, bits_z = forward_train(p, x, key)            # the base codec's training pass (hcf.2)
    want_mse = np.mean((np.asarray(x, np.float64) - np.asarray(x_hat, np.float64)) ** 2)
    want_bpp = (float(bits_y) + float(bits_z)) / (2 * 64 * 64)
    assert float(mse) == pytest.approx(want_mse, rel=1e-5)
    assert float(bpp) == pytest.approx(want_bpp, rel=1e-6)
    assert float(loss) == pytest.approx(0.0075 * 255**2 * want_mse + want_bpp, rel=1e-5)
