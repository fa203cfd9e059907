"""ecf framework (spec/ecf.md "Framework"): GMM likelihood against scipy (float64), the g_e
output layout and scale bound, the quantiser, causality / alignment of the entropy
parameters, the loss, the configuration.  Small widths so that jit stays fast."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from ref.core.entropy_models import scale_index
from ref.core.errors import InputError
from ref.core.tables import scale_table
from ref.ecf import model as MD
from ref.ecf.context_model import ContextConfig
from ref.ecf.gmm import LOG_SCALE_MAX, LOG_SCALE_MIN, bounded, gmm_bits, gmm_likelihood, gmm_params

SMALL = MD.EcfConfig(quality=3, lam=0.0075, N=8, M=16, n_cs=2,
                     ctx=ContextConfig(n_cs=2, p_cs=8, K=4, layers=2, d_e=16, heads=2, mlp_ratio=2, d_out=8),
                     ge_hidden=(16,))


@pytest.fixture(scope="module")
def small_params():
    return MD.init_params(jax.random.key(3), SMALL)


# --------------------------------------------------------------------------- [ecf.gmm]
def _scipy_gmm(v, logits, mu, sigma, grid):
    """Independent float64 evaluation with scipy.stats.norm (tails by the symmetric form)."""
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    mu_g = np.rint(mu * grid) / grid
    s = np.maximum(sigma, 0.11)
    d = np.abs(v[..., None] - mu_g)
    comp = norm.cdf((0.5 - d) / s) - norm.cdf((-0.5 - d) / s)
    return np.maximum((w * comp).sum(-1), 1e-9)


@pytest.mark.eq("ecf.gmm")
def test_gmm_likelihood_matches_scipy_float64():
    r = np.random.default_rng(0)
    n, k = 4000, 3
    v = np.concatenate([np.rint(r.normal(0, 6, n // 2)), r.normal(0, 6, n // 2) + r.uniform(-0.5, 0.5, n // 2)])
    logits = r.normal(0, 2, (n, k))
    mu = r.normal(0, 5, (n, k))
    sigma = np.exp(r.uniform(np.log(0.05), np.log(300), (n, k)))
    want = _scipy_gmm(v, logits, mu, sigma, 8)
    got = np.asarray(gmm_likelihood(jnp.asarray(v), jnp.asarray(logits), jnp.asarray(mu), jnp.asarray(sigma), 8))
    assert got.dtype == np.float64
    assert (want == 1e-9).sum() > 10 and (want > 0.5).sum() > 10      # floor and peaks both exercised
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    bits = float(gmm_bits(jnp.asarray(v), jnp.asarray(logits), jnp.asarray(mu), jnp.asarray(sigma), 8))
    assert bits == pytest.approx(-np.log2(want).sum(), rel=1e-12)


@pytest.mark.eq("ecf.gmm")
def test_gmm_means_are_on_the_grid_and_learn_straight_through():
    v = jnp.asarray([0.0])
    lg, s = jnp.zeros((1, 3)), jnp.ones((1, 3))
    # mean 0.06 snaps to 0 on grid 8 (0.48 -> 0), 0.07 to 1/8 (0.56 -> 1)
    p0 = gmm_likelihood(v, lg, jnp.full((1, 3), 0.06), s, 8)
    p1 = gmm_likelihood(v, lg, jnp.full((1, 3), 0.07), s, 8)
    assert float(p0[0]) == pytest.approx(norm.cdf(0.5) - norm.cdf(-0.5), rel=1e-12)
    assert float(p1[0]) == pytest.approx(norm.cdf(0.5 - 0.125) - norm.cdf(-0.5 - 0.125), rel=1e-12)
    g = jax.grad(lambda m: jnp.log(gmm_likelihood(v, lg, m, s, 8)).sum())(jnp.full((1, 3), 0.3))
    assert np.all(np.asarray(g) < 0)          # moving the mean away from v lowers P


# --------------------------------------------------------------------------- [ecf.C9]
@pytest.mark.eq("ecf.C9")
def test_sigma_is_exp_of_bounded_channel_and_scale_index_is_a_threshold_on_t():
    assert LOG_SCALE_MIN == pytest.approx(np.log(0.11)) and LOG_SCALE_MAX == pytest.approx(np.log(256.0))
    t = np.linspace(-4.0, 7.0, 2001)
    _, _, sigma = gmm_params(jnp.zeros_like(t), jnp.zeros_like(t), jnp.asarray(t))
    np.testing.assert_allclose(np.asarray(sigma), np.exp(np.clip(t, np.log(0.11), np.log(256.0))), rtol=1e-12)
    # the [core.C4] index of sigma = number of log-table entries below t (what an integer g_e compares)
    # (inside the clip range; at the clip itself exp(ln 0.11) may round above 0.11: index 0 or 1)
    inner = (t > LOG_SCALE_MIN + 1e-9) & (t < LOG_SCALE_MAX - 1e-9)
    want = (np.log(scale_table()[:-1])[None, :] < t[inner][:, None]).sum(1)
    got = scale_index(np.asarray(sigma)[inner])
    assert inner.sum() > 1000 and np.mean(got == want) > 0.995 and np.abs(got - want).max() <= 1
    assert set(scale_index(np.asarray(sigma)[t <= LOG_SCALE_MIN]).tolist()) <= {0, 1}


@pytest.mark.eq("ecf.C9")
def test_bound_gradient_passes_inside_or_inward():
    f = lambda t, c: jnp.sum(c * bounded(t, -1.0, 1.0))       # noqa: E731
    t = jnp.asarray([-2.0, -2.0, 0.0, 2.0, 2.0])
    c = jnp.asarray([-1.0, 1.0, 1.0, 1.0, -1.0])                # dL/dclip; descent moves t by -grad
    g = np.asarray(jax.grad(f)(t, c))
    # below: grad -1 (t goes up, inward) passes, +1 blocked; above: +1 (t goes down) passes, -1 blocked
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0, 1.0, 0.0])


@pytest.mark.eq("ecf.C9", "ecf.ge")
def test_g_e_output_layout_and_relu():
    p_cs, k, d_in = 4, 3, 5
    n_out = 3 * p_cs * k
    p = {"fc0": {"w": jnp.zeros((d_in, 6)), "b": jnp.asarray([1.0, -1.0, 2.0, -2.0, 0.5, -0.5])},
         "fc1": {"w": jnp.zeros((6, n_out)).at[0].set(1.0).at[1].set(100.0), "b": jnp.arange(n_out) / 10.0}}
    ctx, psi = jnp.ones((2, 2)), jnp.ones((2, 3))
    w, mu, sigma = MD.g_e(p, ctx, psi, k)
    # hidden = relu(b0) = [1, 0, 2, 0, 0.5, 0] -> o[j] = 1 * 1 + 0 * 100 + j / 10  (row 1's 100 is killed by ReLU)
    o = 1.0 + np.arange(n_out) / 10.0
    c, j = np.meshgrid(np.arange(p_cs), np.arange(k), indexing="ij")
    np.testing.assert_allclose(np.asarray(w[0]), o[c * k + j], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(mu[1]), o[p_cs * k + c * k + j], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(sigma[0]), np.exp(np.minimum(o[2 * p_cs * k + c * k + j], np.log(256))),
                               rtol=1e-6)
    with pytest.raises(InputError):
        MD.g_e(p, ctx, psi, 5)


# --------------------------------------------------------------------------- [ecf.ge]: causality and alignment
def _params_at(out, g, h, wp):
    return np.concatenate([np.asarray(a)[0, g, h, wp] for a in out])


@pytest.mark.eq("ecf.ge", "ecf.sfg", "ecf.C4")
def test_entropy_params_of_a_group_ignore_its_own_and_later_values(small_params):
    r = np.random.default_rng(1)
    H = W = 4
    y = jnp.asarray(np.rint(r.normal(0, 3, (1, H, W, SMALL.M))))
    psi = jnp.asarray(r.normal(0, 1, (1, H, W, SMALL.c_psi)))
    f = jax.jit(lambda p, y, q: MD.entropy_params(p, SMALL, y, q))
    base = f(small_params, y, psi)
    p_cs = SMALL.p_cs
    for (h, w, ch) in [(1, 2, 3), (2, 2, 12), (0, 3, 9)]:
        i, pi = ch // p_cs, (h + w) % 2
        g = 2 * i + pi                                      # sfo group of the element, computed here
        out = f(small_params, y.at[0, h, w, ch].add(5.0), psi)
        for t in range(2 * SMALL.n_cs):
            diff = max(float(np.abs(np.asarray(a) - np.asarray(b))[0, t].max()) for a, b in zip(out, base))
            if t <= g:
                assert diff == 0.0, (h, w, ch, t)           # own group and earlier: untouched
            elif t == g + 1:
                assert diff > 0.0, (h, w, ch, t)            # the next group sees it


@pytest.mark.eq("ecf.ge", "ecf.C4", "ecf.egr")
def test_psi_reaches_exactly_the_elements_at_its_position(small_params):
    r = np.random.default_rng(2)
    H = W = 4
    y = jnp.asarray(np.rint(r.normal(0, 3, (1, H, W, SMALL.M))))
    psi = jnp.asarray(r.normal(0, 1, (1, H, W, SMALL.c_psi)))
    gen = jax.jit(lambda p, y, q: MD.entropy_params(p, SMALL, y, q))
    base = gen(small_params, y, psi)
    h, w = 2, 1
    out = gen(small_params, y, psi.at[0, h, w, 5].add(3.0))
    # group 0 has no context: exactly the tokens of psi's position change, in the groups of parity (h+w) mod 2
    for t in (0, 1):
        for hh in range(H):
            for wp in range(W // 2):
                same = np.array_equal(_params_at(out, t, hh, wp), _params_at(base, t, hh, wp))
                at = (t % 2 == (h + w) % 2) and hh == h and wp == w // 2
                assert same != at, (t, hh, wp)


# --------------------------------------------------------------------------- [ecf.C7]
@pytest.mark.eq("ecf.C7", "ecf.gs")
def test_g_s_sees_the_rounded_latent_and_gradients_pass(small_params):
    x = jax.random.uniform(jax.random.key(5), (1, 64, 64, 3))
    x_hat, _, _ = MD.forward_train(small_params, SMALL, x, jax.random.key(6))
    y = np.asarray(MD.analysis(small_params, x), np.float64)
    want = MD.synthesis(small_params, jnp.asarray(np.rint(y), jnp.float32))
    np.testing.assert_allclose(np.asarray(x_hat), np.asarray(want), atol=1e-5)
    g = jax.grad(lambda p: jnp.mean(MD.forward_train(p, SMALL, x, jax.random.key(6))[0]))(small_params)
    assert float(jnp.abs(g["g_a"]["conv0"]["w"]).max()) > 0          # straight-through to g_a


# --------------------------------------------------------------------------- [ecf.3a]
@pytest.mark.eq("ecf.3a", "ecf.C7", "ecf.gmm")
def test_loss_is_lambda_mse_plus_bpp_with_noisy_rate(small_params):
    from ref.ecf.train import rd_loss

    x = jax.random.uniform(jax.random.key(7), (2, 64, 64, 3))
    key = jax.random.key(8)
    loss, (mse, bpp) = rd_loss(small_params, SMALL, x, key)
    x_hat, by, bz = MD.forward_train(small_params, SMALL, x, key)
    mse_np = np.mean((np.asarray(x, np.float64) - np.asarray(x_hat, np.float64)) ** 2)
    assert float(mse) == pytest.approx(mse_np, rel=1e-5)
    assert float(bpp) == pytest.approx((float(by) + float(bz)) / (2 * 64 * 64), rel=1e-6)
    assert float(loss) == pytest.approx(0.0075 * 255**2 * mse_np + float(bpp), rel=1e-5)
    # the rate is of y + u, not of round(y): another noise key changes bits_y
    _, by2, bz2 = MD.forward_train(small_params, SMALL, x, jax.random.key(9))
    assert float(by2) != float(by) and float(bz2) != float(bz)


# --------------------------------------------------------------------------- [ecf.C10]
@pytest.mark.eq("ecf.C10")
def test_config_widths_lambdas_padding():
    c = MD.config_for(3)
    assert (c.N, c.M, c.n_cs, c.p_cs, c.k_mix, c.mean_grid) == (64, 96, 4, 24, 3, 8)
    assert (c.ctx.K, c.ctx.layers, c.ctx.d_e, c.ctx.heads, c.ctx.d_out) == (8, 4, 64, 4, 64)
    assert c.lam == 0.0075 and MD.config_for(4).lam == 0.018 and c.c_psi == 192
    assert MD.PAD_MULTIPLE % (16 * c.ctx.K) == 0 and MD.PAD_MULTIPLE % 64 == 0
    for bad in (0, 7, "3", True, 3.0):
        with pytest.raises(InputError):
            MD.config_for(bad)
    with pytest.raises(InputError):
        MD.EcfConfig(quality=3, lam=0.1, M=100)


@pytest.mark.eq("ecf.ga", "ecf.gs", "ecf.C8")
def test_shapes_and_param_tree(small_params):
    assert set(small_params) == {"g_a", "g_s", "h_a", "h_s", "z_prior", "ctx", "g_e"}
    x = jnp.zeros((1, 128, 64, 3))
    y = MD.analysis(small_params, x)
    assert y.shape == (1, 8, 4, SMALL.M)
    assert MD.hyper_analysis(small_params, y).shape == (1, 2, 1, SMALL.N)
    assert MD.hyper_synthesis(small_params, jnp.zeros((1, 2, 1, SMALL.N))).shape == (1, 8, 4, 2 * SMALL.M)
    assert MD.synthesis(small_params, y).shape == (1, 128, 64, 3)
