"""φ_{k->k-1} (hcf.phi, hcf.C20) against a float64 NumPy re-computation written from the spec
(direct-sum convolutions, GDN from its formula), and the complexity counts (hcf.C23) against
the parameter pytree, the operations JAX actually executes, and measured peer numbers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.core.errors import InputError
from ref.hcf.complexity import (analysis_macs, analysis_param_count, count_macs_jaxpr, count_params,
                                hyper_analysis_macs, hyper_synthesis_macs, macs_from_params, node_cost,
                                phi_macs_per_position, phi_param_count, synthesis_macs, synthesis_param_count)
from ref.hcf.transform import PHI_KEYS, init_cascade_modules, init_phi, init_phi_pair, phi, phi_jit, phi_widths

PED = (2.0**-18) ** 2


# ------------------------------------------------------------------ float64 reference (from spec text)
def conv_np(x, p):
    w, b = np.asarray(p["w"], np.float64), np.asarray(p["b"], np.float64)
    k = w.shape[0]
    r = k // 2
    n, H, W, _ = x.shape
    xp = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)))
    out = np.zeros((n, H, W, w.shape[3]))
    for a in range(k):
        for c in range(k):
            out += np.einsum("nhwi,io->nhwo", xp[:, a:a + H, c:c + W], w[a, c])
    return out + b


def lrelu_np(x):
    return np.where(x >= 0, x, 0.01 * x)


def gdn_np(p, x):
    beta = np.maximum(np.asarray(p["beta"], np.float64), np.sqrt(1e-6 + PED)) ** 2 - PED
    gamma = np.maximum(np.asarray(p["gamma"], np.float64), np.sqrt(PED)) ** 2 - PED
    return x / np.sqrt(np.einsum("nhwj,ij->nhwi", x * x, gamma) + beta)


def unit_np(p, x):
    t = np.maximum(conv_np(x, p["conv1"]), 0)
    t = np.maximum(conv_np(t, p["conv2"]), 0)
    return np.maximum(x + conv_np(t, p["conv3"]), 0)


def phi_np(p, x):
    x = np.asarray(x, np.float64)
    t1 = lrelu_np(conv_np(x, p["down"]))
    q = p["rb_gdn"]
    t2 = gdn_np(q["gdn"], conv_np(lrelu_np(conv_np(t1, q["conv1"])), q["conv2"])) + t1
    a = t2
    for u in ("a0", "a1", "a2"):
        a = unit_np(p["attn"][u], a)
    b = t2
    for u in ("b0", "b1", "b2"):
        b = unit_np(p["attn"][u], b)
    b = conv_np(b, p["attn"]["b_out"])
    t3 = t2 + a / (1.0 + np.exp(-b))
    q = p["rb"]
    t4 = lrelu_np(conv_np(lrelu_np(conv_np(t3, q["conv1"])), q["conv2"])) + t3
    t5 = lrelu_np(conv_np(t4, p["up"]))
    return conv_np(x + t5, p["out"])


def random_like(shapes, seed):
    """NumPy random parameters with the structure of ``shapes`` (an eval_shape pytree): conv
    weights U(-2, 2)/sqrt(fan_in), biases U(-0.1, 0.1), GDN beta^2 in [0.85, 1.15],
    gamma^2 = 0.1 I + U(0, 0.05) -- large enough that every nonlinearity is exercised."""
    rng = np.random.default_rng(seed)

    def make(node):
        if isinstance(node, dict) and "gamma" in node:
            c = node["gamma"].shape[0]
            return {"beta": np.sqrt(1.0 + 0.3 * (rng.random(c) - 0.5)).astype(np.float32),
                    "gamma": np.sqrt(0.1 * np.eye(c) + 0.05 * rng.random((c, c))).astype(np.float32)}
        if isinstance(node, dict) and "w" in node and not isinstance(node["w"], dict):
            k, _, ci, co = node["w"].shape
            return {"w": (rng.uniform(-2, 2, (k, k, ci, co)) / np.sqrt(k * k * ci)).astype(np.float32),
                    "b": rng.uniform(-0.1, 0.1, co).astype(np.float32)}
        if isinstance(node, dict):
            return {name: make(v) for name, v in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(make(v) for v in node)
        return (0.1 * rng.standard_normal(node.shape)).astype(np.float32)

    return make(shapes)


def lively_params(m_in, m_out, seed):
    return random_like(jax.eval_shape(lambda: init_phi(jax.random.key(0), m_in, m_out)), seed)


@pytest.mark.eq("hcf.phi", "hcf.C20")
@pytest.mark.parametrize("m_in,m_out,seed", [(8, 12, 0), (16, 8, 1)])
def test_phi_matches_float64_reference(m_in, m_out, seed):
    p = lively_params(m_in, m_out, seed)
    x = np.random.default_rng(10 + seed).normal(0, 2.0, (2, 5, 6, m_in)).astype(np.float32)
    got = np.asarray(phi_jit(p, jnp.asarray(x)), np.float64)
    want = phi_np(p, x)
    assert got.shape == (2, 5, 6, m_out)
    assert np.abs(got - want).max() <= 1e-4 * (1.0 + np.abs(want).max())
    # the output depends on every part: a non-trivial function of x, not the identity
    assert np.std(want) > 0.05


@pytest.mark.eq("hcf.phi", "hcf.C20")
def test_phi_is_stride_1_and_local():
    p = lively_params(8, 8, 3)
    x = np.zeros((1, 16, 16, 8), np.float32)
    y0 = np.asarray(phi_jit(p, jnp.asarray(x)))
    x[0, 8, 8, 0] = 5.0
    diff = np.abs(np.asarray(phi_jit(p, jnp.asarray(x))) - y0).max(axis=-1)[0]
    # receptive field: down 3x3, RB_GDN 2 convs, attention 2 (3x3 per unit: 3 units), RB 2, up, out
    # -> radius 1 + 2 + 3 + 2 + 1 + 1 = 10; a change is felt at the centre and nowhere beyond radius 10
    assert diff[8, 8] > 0
    ii, jj = np.nonzero(diff > 0)
    assert max(np.abs(ii - 8).max(), np.abs(jj - 8).max()) <= 10


@pytest.mark.eq("hcf.C20")
def test_init_structure_and_errors():
    pair = jax.eval_shape(lambda: init_phi_pair(jax.random.key(0), 16, 8))
    assert set(pair) == {"inter", "intra"} and set(pair["inter"]) == set(PHI_KEYS)
    assert phi_widths(pair["inter"]) == (16, 8)
    mods = jax.eval_shape(lambda: init_cascade_modules(jax.random.key(0), {k: 8 for k in range(1, 7)}, 6, 1))
    assert sorted(mods) == [2, 3, 4, 5, 6]
    with pytest.raises(InputError):
        init_phi(jax.random.key(0), 10, 8)              # M_k not divisible by 4
    with pytest.raises(InputError):
        init_cascade_modules(jax.random.key(0), {6: 8, 5: 8}, 6, 4)
    with pytest.raises(InputError):
        phi(pair["inter"], jnp.zeros((1, 4, 4, 8)))      # wrong channel count


@pytest.mark.slow
@pytest.mark.eq("hcf.C20")
def test_inter_and_intra_get_separate_weights():
    pair = init_phi_pair(jax.random.key(0), 8, 8)       # eager random init: slow on a loaded CPU
    for name in PHI_KEYS:
        if "w" in pair["inter"][name]:
            assert not np.array_equal(pair["inter"][name]["w"], pair["intra"][name]["w"])


# ------------------------------------------------------------------ complexity
@pytest.mark.eq("hcf.C23")
@pytest.mark.parametrize("m_in,m_out", [(96, 96), (8, 12), (16, 8), (192, 320)])
def test_phi_counts_against_pytree_and_executed_ops(m_in, m_out):
    p = jax.eval_shape(lambda: init_phi(jax.random.key(0), m_in, m_out))     # shapes only
    assert phi_param_count(m_in, m_out) == count_params(p)
    assert phi_macs_per_position(m_in, m_out) == macs_from_params(p)
    x = jax.ShapeDtypeStruct((1, 3, 5, m_in), jnp.float32)
    assert count_macs_jaxpr(phi, p, x) == 15 * phi_macs_per_position(m_in, m_out)


@pytest.mark.eq("hcf.C23")
def test_phi_96_by_hand():
    # h = 48, a = 24: down 9*96*48 = 41472, RB_GDN 2*9*48^2 + 48^2 = 43776,
    # AB 6*(48*24 + 9*24^2 + 24*48) + 48^2 = 47232, RB 41472, up 41472, out 9*96*96 = 82944
    assert phi_macs_per_position(96, 96) == 41472 + 43776 + 47232 + 41472 + 41472 + 82944 == 298368


@pytest.mark.eq("hcf.C23")
def test_base_codec_counts_against_executed_ops():
    from ref.core.gdn import gdn
    from ref.core.hyperprior import hyper_analysis, hyper_synthesis
    from ref.core.layers import deconv
    from ref.hcf.model import analysis, init_params, synthesis

    N, M, H, W = 8, 12, 128, 192
    q = random_like(jax.eval_shape(lambda: init_params(jax.random.key(0), N, M)), 5)
    assert count_macs_jaxpr(analysis, q, jax.ShapeDtypeStruct((1, H, W, 3), jnp.float32)) == analysis_macs(N, M, H, W)
    assert analysis_param_count(N, M) == count_params(q["g_a"])
    assert synthesis_param_count(N, M) == count_params(q["g_s"])

    def g_s_plain(y):            # hcf.5 with the plain [core.deconv] (no phase split)
        h = y
        for i in range(3):
            h = gdn(q["g_s"][f"igdn{i}"], deconv(q["g_s"][f"deconv{i}"], h, stride=2), inverse=True)
        return deconv(q["g_s"]["deconv3"], h, stride=2)

    y = jnp.zeros((1, H // 16, W // 16, M))
    assert count_macs_jaxpr(g_s_plain, y) == synthesis_macs(N, M, H, W)
    # g_s_plain is hcf.5 (the phase form computes the same values)
    yr = jnp.asarray(np.random.default_rng(0).normal(0, 2, (1, 2, 3, M)), jnp.float32)
    np.testing.assert_allclose(np.asarray(jax.jit(g_s_plain)(yr)), np.asarray(jax.jit(synthesis)(q, yr)),
                               rtol=1e-4, atol=1e-5)
    assert count_macs_jaxpr(lambda v: hyper_analysis(q["hyper"], v), y) == hyper_analysis_macs(N, M, H, W)
    z = jnp.zeros((1, H // 64, W // 64, N))
    assert count_macs_jaxpr(lambda v: hyper_synthesis(q["hyper"], v), z) == hyper_synthesis_macs(N, M, H, W)


@pytest.mark.eq("hcf.C23")
def test_base_codec_counts_match_measured_peer_numbers():
    # ../shared/notes/peers.md: CompressAI MeanScaleHyperprior(128, 192) g_a and g_s:
    # 36,800 conv MACs per pixel each, + 5,376 in GDN
    H, W = 512, 768
    gdn = 128 * 128 * (H * W // 4 + H * W // 16 + H * W // 64)
    assert (analysis_macs(128, 192, H, W) - gdn) == 36800 * H * W
    assert (synthesis_macs(128, 192, H, W) - gdn) == 36800 * H * W
    assert gdn == 5376 * H * W


@pytest.mark.eq("hcf.C23")
def test_node_cost_768x512_shipped_widths():
    from ref.hcf.config import config_for

    c = node_cost(config_for(6), config_for(5), 512, 768)
    assert c.drf_transforms == synthesis_macs(64, 96, 512, 768) + analysis_macs(64, 96, 512, 768) == 8_763_998_208
    assert c.hcf_transforms == 298368 * 32 * 48 == 458_293_248
    assert c.transforms_reduction == pytest.approx(1 - 458_293_248 / 8_763_998_208, rel=1e-12)
    assert round(100 * c.transforms_reduction, 2) == 94.77
    assert c.hcf_params == 299_472 and c.drf_params == 751_843
    with pytest.raises(InputError):
        node_cost(config_for(6), config_for(5), 500, 768)
