"""The paper analyses (Tab. 1, Fig. 3, Tab. 2, Tab. 4; spec/hcf-analyses.md).

Numeric parts against independent values: BD-rate / BD-PSNR of synthetic curves whose
answer is known in closed form (a constant rate factor; a straight line in log-rate), the
KL stage entropies against analytic Gaussian and discrete entropies, the stage sequence
against an operation log written from eqs. 8-9, path definitions against hand-written lists
from the paper's text.  Drivers end to end on tiny models (tests/hcf/tiny.py) and, through
the command line, on the shipped base levels with random (untrained) cascade modules."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy.stats import norm

from ref.core.errors import InputError
from ref.hcf.analysis_cross import path_points, tab4_comparisons
from ref.hcf.analysis_drf import bd_compare, drf_chain, tab2_paths
from ref.hcf.analysis_entropy import entropy_stages, fig3_policies, stage_entropies
from ref.hcf.transform import init_phi_pair
from tests.hcf.test_transform import random_like
from tests.hcf.tiny import tiny_model

M = 12


# ------------------------------------------------------------------ definitions vs the paper's text
@pytest.mark.eq("hcf.analysis_entropy")
def test_fig3_policies_are_the_papers_three():
    assert fig3_policies(6) == [(1, 0, 0, 1), (0, 1, 0, 1), (0, 0, 1, 1)]     # Fig. 2a / Fig. 3
    assert fig3_policies(4) == [(1, 0, 0, 1), (0, 1, 0, 1), (0, 0, 1, 1)]
    with pytest.raises(InputError):
        fig3_policies(3)                                                        # d = 0


@pytest.mark.eq("hcf.analysis_drf")
def test_tab2_paths_hand_written():
    p = tab2_paths(4)
    assert p["2-stage"] == [(3, (1, 1), (4, 3)), (2, (1, 0, 1), (4, 2)), (1, (1, 0, 0, 1), (4, 1))]
    assert p["per-level"] == [(3, (1, 1), (4, 3)), (2, (1, 1, 1), (4, 3, 2)), (1, (1, 1, 1, 1), (4, 3, 2, 1))]
    with pytest.raises(InputError):
        tab2_paths(1)


@pytest.mark.eq("hcf.analysis_cross")
def test_tab4_paths_hand_written():
    assert path_points(6, 1) == [(6, (1,)), (5, (1, 1)), (4, (1, 0, 1)), (3, (1, 0, 0, 1)), (2, (1, 0, 0, 0, 1)),
                                 (1, (1, 0, 0, 0, 0, 1))]
    assert tab4_comparisons(6, 1) == [(5, 6), (4, 5), (3, 4)]          # the paper's three rows
    assert tab4_comparisons(3, 1) == [(2, 3)]
    with pytest.raises(InputError):
        tab4_comparisons(2, 1)


# ------------------------------------------------------------------ BD comparisons, closed forms
@pytest.mark.eq("hcf.analysis_drf")
def test_bd_compare_constant_rate_factor_and_log_linear_curve():
    r = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    q = 30.0 + 10.0 * np.log10(r)                        # a straight line in log-rate
    anchor = [{"bpp": a, "psnr": b, "ms_ssim_db": 5.0 + b / 3} for a, b in zip(r, q)]
    test = [{"bpp": 0.9 * a, "psnr": b, "ms_ssim_db": 7.0 + b / 3} for a, b in zip(r, q)]
    res = bd_compare(anchor, test, "psnr")
    # same quality at 0.9x the rate: -10 %; quality at equal rate: +10 log10(1/0.9) dB
    assert res["bd_rate_pct"] == pytest.approx(-10.0, abs=1e-9)
    assert res["bd_quality_db"] == pytest.approx(-10.0 * math.log10(0.9), abs=1e-9)
    res_m = bd_compare(anchor, test, "ms_ssim_db")       # the metric column is the one used
    # MS-SSIM dB column: +2 dB at the same rate index and rates x0.9: shift = 2 + 10/3 log10(1/0.9) dB
    assert res_m["bd_quality_db"] == pytest.approx(2.0 - 10.0 / 3 * math.log10(0.9), abs=1e-9)
    assert "error" in bd_compare(anchor[:1], test[:1], "psnr")


@pytest.mark.eq("hcf.analysis_drf")
def test_drf_summary_sign_and_curves():
    from ref.hcf.analysis_drf import summarize

    rows = []
    for config, items in tab2_paths(6).items():
        for d, _, _ in items:
            q = 20.0 + 2.0 * d
            for method, f in (("hcf", 1.0), ("drf", 1.25), ("ssf", 0.8)):
                for img, jitter in (("a", 0.9), ("b", 1.1)):       # means over images: factor f exactly
                    rows.append({"image": img, "config": config, "method": method, "d": d,
                                 "bpp": f * 0.05 * 2 ** d * jitter, "psnr": q, "ms_ssim_db": q / 2})
    points, bd = summarize(rows, 6)
    assert len(points) == 10 and points[0]["drf_levels"] == "6>5" and points[-1]["drf_levels"] == "6>5>4>3>2>1"
    by = {(b["config"], b["comparison"]): b for b in bd}
    for config in ("2-stage", "per-level"):
        assert by[(config, "DRF vs HCF")]["bd_rate_P"] == pytest.approx(25.0, abs=1e-9)   # DRF needs 25 % more
        assert by[(config, "SSF vs HCF")]["bd_rate_M"] == pytest.approx(-20.0, abs=1e-9)


@pytest.mark.eq("hcf.analysis_cross")
def test_cross_summary_shorter_path_cheaper():
    from ref.hcf.analysis_cross import summarize

    rows = []
    for s, f in ((6, 1.0), (5, 0.8), (4, 0.8 * 0.7)):
        for k, pi in path_points(s, 1):
            q = 24.0 + 1.5 * k
            rows.append({"image": "a", "source": s, "k": k, "policy": str(pi), "bpp": f * 0.03 * 1.7 ** k,
                         "psnr": q, "ms_ssim_db": q - 14})
    points, bd = summarize(rows, [(5, 6), (4, 5)])
    assert [b["comparison"] for b in bd] == ["5->1 vs 6->1", "4->1 vs 5->1"]
    assert bd[0]["bd_rate_P"] == pytest.approx(-20.0, abs=1e-9) and bd[1]["bd_rate_M"] == pytest.approx(-30.0, abs=1e-9)
    assert bd[0]["paper_P"] == -7.13 and {p["path"] for p in points} == {"6->1", "5->1", "4->1"}


def test_cascade_label():
    from ref.hcf.analysis_common import cascade_label

    assert cascade_label({}, "c.safetensors").startswith("UNTRAINED")
    assert cascade_label({"untrained": "random initialisation, seed 1"}, "c.safetensors").startswith("UNTRAINED")
    rec = {"s": 6, "modules": {"phi6_inter": {"step": 300}, "phi6_intra": {"step": 250}}}
    assert cascade_label(rec, "/x/c.safetensors") == "cascade modules c.safetensors (2 modules, 250-300 training steps each)"
    assert cascade_label({"modules": {"phi6_inter": {"step": 0}}}, "c").startswith("UNTRAINED")


def test_edge_vs_late_counts():
    from ref.hcf.analysis_policies import edge_vs_late

    def row(n_q, d, pol, edge, late, eta):
        return {"n_q": n_q, "d": d, "policy": pol, "edge": edge, "late": late, "bpp": 0.1, "psnr": 30.0,
                "eta_psnr": eta, "eta_ms_ssim": eta + 1}
    table = [row(1, 2, "[0,0,0,0,1]", True, True, 5.0),                       # edge = late: skipped
             row(2, 2, "[1,0,0,0,1]", True, False, 11.0), row(2, 2, "[0,1,0,0,1]", False, False, 12.0),
             row(2, 2, "[0,0,0,1,1]", False, True, 17.0),
             row(2, 3, "[1,0,0,1]", True, False, 9.0), row(2, 3, "[0,0,1,1]", False, True, 8.0)]
    out = edge_vs_late(table)
    assert [(r["n_q"], r["d"], r["edge"], r["late"]) for r in out] == [(2, 2, "[1,0,0,0,1]", "[0,0,0,1,1]"),
                                                                       (2, 3, "[1,0,0,1]", "[0,0,1,1]")]
    assert [r["edge_lower_eta_psnr"] for r in out] == [True, False]


# ------------------------------------------------------------------ Fig. 3 numeric parts
@pytest.mark.eq("hcf.analysis_entropy")
def test_stage_entropies_against_analytic_gaussian_and_discrete_entropy():
    sigma, dim, n = 0.4, 2, 6000
    rng = np.random.default_rng(5)
    y = rng.normal(0, sigma, (n, dim)).astype(np.float32)
    y_hat = np.round(y).astype(np.float32)
    # split into two "images" of different sizes: pooled = one estimate over all rows
    stages = [[(3, False, y[:2500].reshape(1, 50, 50, dim)), (3, True, y_hat[:2500].reshape(1, 50, 50, dim))],
              [(3, False, y[2500:].reshape(1, 35, 100, dim)), (3, True, y_hat[2500:].reshape(1, 35, 100, dim))]]
    rows = stage_entropies(stages)
    h_gauss = dim * 0.5 * math.log2(2 * math.pi * math.e * sigma ** 2)
    j = np.arange(-8, 9)
    p = norm.cdf((j + 0.5) / sigma) - norm.cdf((j - 0.5) / sigma)
    h_disc = dim * float(-(p[p > 0] * np.log2(p[p > 0])).sum())     # h(round(y) + U) = H(round(y)) exactly
    assert rows[0]["n"] == rows[1]["n"] == n and rows[0]["dim"] == dim
    assert rows[0]["h_bits"] == pytest.approx(h_gauss, abs=0.12)
    assert rows[1]["h_bits"] == pytest.approx(h_disc, abs=0.12)
    assert rows[1]["increase_bits"] == pytest.approx(rows[1]["h_bits"] - rows[0]["h_bits"], abs=1e-12)
    assert rows[1]["increase_bits"] == pytest.approx(h_disc - h_gauss, abs=0.2) and h_disc - h_gauss > 0.35
    assert math.isnan(rows[0]["increase_bits"])
    with pytest.raises(InputError):
        stage_entropies([stages[0], stages[1][:1]])


class _Log:
    """Transmit = round (Q), φ = multiply by the module's 'a' (intra) / add its 'b' (inter)."""

    def transmit(self, k, y):
        return np.round(np.asarray(y))

    def phi(self, p, y):
        return np.asarray(y) * p["a"] + p["b"]


@pytest.mark.eq("hcf.analysis_entropy")
def test_entropy_stages_follow_the_policy():
    log = _Log()
    mods = {k: {"inter": {"a": 1.0, "b": 0.25 * k}, "intra": {"a": 1.5, "b": 0.0}} for k in (6, 5, 4)}
    y6 = np.full((1, 2, 2, 3), 1.3, np.float32)
    got = entropy_stages((0, 1, 0, 1), 6, y6, mods, log.transmit, log.phi)
    y5 = 1.3 * 1.5                        # intra at 6
    q5 = round(y5)                        # transmitted at 5
    y4 = q5 + 0.25 * 5                    # inter at 5
    y3 = y4 * 1.5                         # intra at 4
    want = [(6, False, 1.3), (5, False, y5), (5, True, q5), (4, False, y4), (3, False, y3), (3, True, round(y3))]
    assert [(k, q) for k, q, _ in got] == [(k, q) for k, q, _ in want]
    for (_, _, a), (_, _, b) in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ------------------------------------------------------------------ DRF chain
@pytest.mark.eq("hcf.analysis_drf")
def test_drf_chain_hops_are_ordinary_streams():
    from ref.core import container as ctr
    from ref.hcf.codec import decode_bytes, encode_image

    models = {3: tiny_model(0, 3), 2: tiny_model(1, 2)}
    img = (np.random.default_rng(2).random((64, 80, 3)) * 255).astype(np.uint8)
    hops = drf_chain(img, (3, 2), models)
    assert [k for k, _, _ in hops] == [3, 2]
    assert hops[0][1] == encode_image(img, 3, models[3])           # hop 1 = the base codec at 3
    for k, data, rec in hops:
        assert ctr.unpack(data).header["level"] == k and rec.shape == img.shape
        np.testing.assert_array_equal(decode_bytes(data, models[k]), rec)
    assert hops[1][1] == encode_image(hops[0][2], 2, models[2])    # hop 2 codes hop 1's pixels, not x
    assert hops[1][1] != encode_image(img, 2, models[2])
    with pytest.raises(InputError):
        drf_chain(img, (2, 3), models)


# ------------------------------------------------------------------ drivers on tiny models
@pytest.mark.eq("hcf.9")
def test_cascade_cache_equals_cascade_transform_with_fewer_calls():
    from ref.hcf.analysis_common import CascadeCache
    from ref.hcf.cascade import cascade_transform
    from ref.hcf.policy import policy_space

    log = _Log()
    calls = []

    def phi(p, y):
        calls.append(1)
        return log.phi(p, y)
    mods = {k: {"inter": {"a": 0.7, "b": 0.1 * k}, "intra": {"a": 1.3, "b": -0.2}} for k in (5, 4, 3, 2)}
    y5 = np.random.default_rng(0).normal(0, 2, (1, 2, 3, 4))
    cache = CascadeCache(y5, 5, mods, log.transmit, phi)
    pols = [pi for n in range(1, 6) for pi in policy_space(5, 1, n)]
    for pi in pols:
        np.testing.assert_array_equal(cache.latent(pi[:-1]), cascade_transform(pi, 5, 1, mods, y5, log.transmit, log.phi))
    assert len(calls) == 2 + 4 + 8 + 16                 # one φ per distinct prefix, not 4 per policy
    with pytest.raises(InputError):
        CascadeCache(y5, 5, {5: mods[5]}, log.transmit, phi).latent((1, 0))


@pytest.fixture(scope="module")
def tiny():
    models = {k: tiny_model(k, k) for k in (1, 2, 3, 4)}
    shapes = jax.eval_shape(lambda: init_phi_pair(jax.random.key(0), M, M))
    modules = {k: random_like(shapes, 60 + k) for k in (4, 3, 2)}
    yy, xx = np.mgrid[0:64, 0:64]
    img = np.stack([(yy * 3) % 256, (xx * 2 + yy) % 256, (xx * yy / 7) % 256], -1).astype(np.uint8)
    return models, modules, {"a": img}


def test_drivers_on_tiny_models(tiny, tmp_path):
    from ref.hcf import analysis_cross as AC
    from ref.hcf import analysis_drf as AD
    from ref.hcf import analysis_entropy as AE

    models, modules, images = tiny
    rows = AE.evaluate(images, s=4, models=models, modules=modules)
    assert [r["stage"] for r in rows if r["policy"] == "[0,1,0,1]"] == ["ỹ^4", "ỹ^3", "ŷ^3", "ỹ^2", "ỹ^1", "ŷ^1"]
    paths, text = AE.write_outputs(rows, tmp_path / "e", "tiny")
    assert all(p.stat().st_size > 0 for p in paths) and "| [1,0,0,1] | ŷ^4 |" in text

    rows = AD.evaluate(images, s=4, models=models, modules=modules)
    hcf = {(r["config"], r["d"]): r for r in rows if r["method"] == "hcf"}
    ssf = {(r["config"], r["d"]): r for r in rows if r["method"] == "ssf"}
    assert len(rows) == 2 * 3 * 3
    # d = s - 1: both configurations are π = [1, 1] and DRF 4 > 3
    assert hcf[("2-stage", 3)]["bpp"] == hcf[("per-level", 3)]["bpp"]
    assert all(ssf[("2-stage", 2)][m] == ssf[("per-level", 2)][m] for m in ("bpp", "psnr"))
    points, bd = AD.summarize(rows, 4)
    paths, text = AD.write_outputs(points, bd, tmp_path / "d", "tiny")
    assert all(p.stat().st_size > 0 for p in paths) and "| per-level | DRF vs HCF |" in text

    rows = AC.evaluate(images, sources=(4, 3), d=1, models=models, modules=modules)
    assert [(r["source"], r["k"]) for r in rows] == [(4, 4), (4, 3), (4, 2), (4, 1), (3, 3), (3, 2), (3, 1)]
    # the point at k = s is the base codec at s: SSF of the drf driver at the same level
    assert next(r for r in rows if (r["source"], r["k"]) == (3, 3))["bpp"] == pytest.approx(
        next(r for r in AD.evaluate(images, s=4, models=models, modules=modules)
             if (r["method"], r["d"]) == ("ssf", 3))["bpp"])
    points, bd = AC.summarize(rows, [(3, 4)])
    paths, text = AC.write_outputs(points, bd, tmp_path / "c", "tiny")
    assert all(p.stat().st_size > 0 for p in paths) and "| 3->1 vs 4->1 |" in text


# ------------------------------------------------------------------ command line, shipped base levels
@pytest.fixture(scope="module")
def cli_setup(tmp_path_factory):
    from PIL import Image

    from ref.hcf.analysis_common import random_cascade

    d = tmp_path_factory.mktemp("cli")
    casc = random_cascade(d / "random.safetensors", 6, 1, seed=1)
    yy, xx = np.mgrid[0:64, 0:64]
    img = np.stack([(yy * 3) % 256, (xx * 2 + yy) % 256, (xx * yy / 7) % 256], -1).astype(np.uint8)
    Image.fromarray(img).save(d / "tiny.png")
    return d, casc


def _cli(args):
    from click.testing import CliRunner

    from ref.cli.base import cli

    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.mark.parametrize("name,extra,files", [
    ("entropy", [], ["entropy.csv", "entropy.md", "entropy.png"]),
    ("cross", ["--source", "4"], ["cross_bd.csv", "cross_bd.md", "cross_points.md", "cross.png"]),
    ("drf", ["--source", "3"], ["drf_bd.csv", "drf_bd.md", "drf_points.csv", "drf.png"]),
    ("policies", ["--target", "4", "--target", "5"], ["policy_table.csv", "policy_table.md", "policy_table.png",
                                                       "policy_edge_vs_late.md"]),
])
def test_commands_end_to_end_label_untrained_modules(cli_setup, name, extra, files):
    d, casc = cli_setup
    out = d / name
    res = _cli(["analyze", "hcf", name, "--out", str(out), "--cascade", str(casc), "--image", str(d / "tiny.png"),
                *extra])
    assert res.exit_code == 0, res.output
    assert "UNTRAINED cascade modules" in res.output
    for f in files:
        assert (out / f).stat().st_size > 0
        if f.endswith(".md"):
            assert "UNTRAINED" in (out / f).read_text()


def test_commands_refuse_missing_cascade(cli_setup):
    from ref.hcf.analysis_entropy import run

    d, _ = cli_setup
    with pytest.raises(InputError, match="no cascade checkpoint"):
        run(d / "x", cascade_path=d / "none.safetensors", image_files=[str(d / "tiny.png")])
