"""Core layers against an independent float64 computation.

The references here are written from the PyTorch / CompressAI definitions, not from
ref/core/layers.py: conv via scipy.signal.correlate on an explicitly zero-padded input, the
transposed conv as the scatter ``y[s*i - p + a'] += x[i] * wt[ci, co, a']`` over torch's
(c_in, c_out, k, k) weight, PixelShuffle by its NCHW index formula, GDN by its formula.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import correlate

from ref.core import layers as L
from ref.core.errors import InputError
from ref.core.gdn import effective_params


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- references
def ref_conv(x, w, b, stride=1):
    """x (N,H,W,Ci), w (k,k,Ci,Co) float64: torch Conv2d(padding=k//2) via scipy.correlate."""
    k = w.shape[0]
    p = k // 2
    n, h, wd, ci = x.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    out = np.zeros((n, h + 2 * p - k + 1, wd + 2 * p - k + 1, w.shape[3]))
    for i in range(n):
        for co in range(w.shape[3]):
            out[i, ..., co] = sum(correlate(xp[i, ..., c], w[..., c, co], mode="valid") for c in range(ci))
    return out[:, ::stride, ::stride] + b


def ref_deconv_torch(x, wt, b, stride):
    """torch ConvTranspose2d(k, stride, padding=k//2, output_padding=stride-1) as a scatter;
    wt in torch's layout (c_in, c_out, k, k)."""
    n, h, wd, _ = x.shape
    k = wt.shape[2]
    p = k // 2
    ho, wo = (h - 1) * stride - 2 * p + k + stride - 1, (wd - 1) * stride - 2 * p + k + stride - 1
    out = np.zeros((n, ho, wo, wt.shape[1]))
    for i in range(h):
        for j in range(wd):
            for a in range(k):
                for c in range(k):
                    o, q = stride * i - p + a, stride * j - p + c
                    if 0 <= o < ho and 0 <= q < wo:
                        out[:, o, q] += x[:, i, j] @ wt[:, :, a, c]
    return out + b


def ref_lrelu(x):
    return np.where(x >= 0, x, 0.01 * x)


def ref_gdn(p, x):
    beta, gamma = (np.asarray(v) for v in effective_params(p))
    return x / np.sqrt(np.einsum("...j,ij->...i", x * x, gamma) + beta)


def _np(p):
    return jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), p)


def _f64(p):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), p)


def rc(p, x, stride=1):
    return ref_conv(x, p["w"], p["b"], stride)


# --------------------------------------------------------------------------- conv
@pytest.mark.eq("core.conv")
@pytest.mark.parametrize("k,stride,h,w", [(3, 1, 5, 6), (5, 2, 7, 6), (5, 2, 8, 9), (1, 1, 4, 3), (3, 2, 1, 2)])
def test_conv_matches_scipy_correlate(k, stride, h, w):
    r = _rng(k * 100 + h)
    x = r.normal(size=(2, h, w, 3))
    wt = r.normal(size=(k, k, 3, 4))
    b = r.normal(size=4)
    y = np.asarray(L.conv({"w": jnp.asarray(wt), "b": jnp.asarray(b)}, jnp.asarray(x), stride=stride))
    want = ref_conv(x, wt, b, stride)
    assert y.shape == (2, -(-h // stride), -(-w // stride), 4) == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.eq("core.conv")
def test_conv_hand_case_and_torch_weight_layout():
    # 3x3 input 1..9, kernel with a single 1 at (0, 2): out[o,q] = xpad[o, q+2] = x[o-1, q+1]
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    wt = np.zeros((1, 1, 3, 3))          # torch (c_out, c_in, k, k)
    wt[0, 0, 0, 2] = 1.0
    p = {"w": jnp.asarray(L.conv_weight_from_torch(wt)), "b": jnp.zeros(1)}
    y = np.asarray(L.conv(p, jnp.asarray(x)))[0, ..., 0]
    assert np.array_equal(y, [[0, 0, 0], [2, 3, 0], [5, 6, 0]])


@pytest.mark.eq("core.conv")
def test_conv_rejects_bad_shapes():
    p = {"w": jnp.zeros((3, 3, 2, 4)), "b": jnp.zeros(4)}
    with pytest.raises(InputError):
        L.conv(p, jnp.zeros((1, 4, 4, 3)))
    with pytest.raises(InputError):
        L.conv({"w": jnp.zeros((2, 2, 2, 4)), "b": jnp.zeros(4)}, jnp.zeros((1, 4, 4, 2)))


# --------------------------------------------------------------------------- deconv
@pytest.mark.eq("core.deconv", "core.C30")
@pytest.mark.parametrize("k,stride,h,w", [(5, 2, 3, 4), (3, 2, 2, 5), (5, 2, 1, 1), (3, 1, 4, 3), (5, 3, 2, 2)])
def test_deconv_matches_torch_scatter(k, stride, h, w):
    r = _rng(k * 10 + stride + h)
    x = r.normal(size=(2, h, w, 3))
    wt = r.normal(size=(3, 2, k, k))          # torch ConvTranspose2d layout (c_in, c_out, k, k)
    b = r.normal(size=2)
    p = {"w": jnp.asarray(L.deconv_weight_from_torch(wt)), "b": jnp.asarray(b)}
    y = np.asarray(L.deconv(p, jnp.asarray(x), stride=stride))
    want = ref_deconv_torch(x, wt, b, stride)
    assert y.shape == (2, stride * h, stride * w, 2) == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.eq("core.C30")
def test_deconv_weight_mapping_is_flip_and_transpose():
    wt = np.arange(2 * 3 * 5 * 5, dtype=np.float64).reshape(2, 3, 5, 5)
    w = np.asarray(L.deconv_weight_from_torch(wt))
    assert w.shape == (5, 5, 2, 3)
    assert w[0, 1, 1, 2] == wt[1, 2, 4, 3] and w[4, 0, 0, 1] == wt[0, 1, 0, 4]


@pytest.mark.eq("core.deconv")
def test_deconv_single_impulse_places_kernel():
    # one input pixel at (1,1), stride 2, k=3, p=1: output o = 2*1 - 1 + a' -> rows 1..3
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1.0
    wt = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    y = np.asarray(L.deconv({"w": jnp.asarray(L.deconv_weight_from_torch(wt)), "b": jnp.zeros(1)},
                            jnp.asarray(x)))[0, ..., 0]
    want = np.zeros((6, 6))
    want[1:4, 1:4] = wt[0, 0]
    assert np.array_equal(y, want)


# --------------------------------------------------------------------------- activations
@pytest.mark.eq("core.leaky_relu")
def test_leaky_relu_values():
    x = jnp.asarray([-200.0, -1.0, -0.0, 0.0, 3.5])
    assert np.array_equal(np.asarray(L.leaky_relu(x)), [-2.0, -0.01, 0.0, 0.0, 3.5])
    g = jax.grad(lambda v: L.leaky_relu(v).sum())(jnp.asarray([-2.0, 2.0]))
    assert np.allclose(np.asarray(g), [0.01, 1.0])


# --------------------------------------------------------------------------- blocks
@pytest.mark.eq("core.resblock")
@pytest.mark.parametrize("c_in,c_out", [(4, 4), (3, 5)])
def test_residual_block(c_in, c_out):
    p = _f64(L.init_residual_block(jax.random.PRNGKey(c_in), c_in, c_out))
    assert ("skip" in p) == (c_in != c_out)
    x = _rng(1).normal(size=(1, 5, 4, c_in))
    q = _np(p)
    out = ref_lrelu(rc(q["conv2"], ref_lrelu(rc(q["conv1"], x))))
    want = out + (rc(q["skip"], x) if c_in != c_out else x)
    np.testing.assert_allclose(np.asarray(L.residual_block(p, jnp.asarray(x))), want, rtol=1e-11, atol=1e-12)


@pytest.mark.eq("core.resblock_gdn")
@pytest.mark.parametrize("c_in,c_out,stride", [(4, 4, 1), (3, 4, 1), (4, 6, 2)])
def test_residual_block_gdn(c_in, c_out, stride):
    p = _f64(L.init_residual_block_gdn(jax.random.PRNGKey(7), c_in, c_out, stride))
    # a non-trivial GDN so that the test sees it
    p["gdn"] = {"beta": jnp.asarray(_rng(2).uniform(0.5, 1.5, c_out)),
                "gamma": jnp.asarray(_rng(3).uniform(0.0, 0.4, (c_out, c_out)))}
    x = _rng(4).normal(0, 2, size=(2, 5, 6, c_in))
    q = _np(p)
    out = ref_gdn(p["gdn"], rc(q["conv2"], ref_lrelu(rc(q["conv1"], x, stride))))
    want = out + (rc(q["skip"], x, stride) if "skip" in q else x)
    np.testing.assert_allclose(np.asarray(L.residual_block_gdn(p, jnp.asarray(x), stride=stride)), want,
                               rtol=1e-11, atol=1e-12)


@pytest.mark.eq("core.attention_block")
def test_attention_block():
    n = 6
    p = _f64(L.init_attention_block(jax.random.PRNGKey(3), n))
    q = _np(p)
    x = _rng(5).normal(size=(1, 4, 5, n))

    def unit(u, t):
        h = np.maximum(rc(u["conv1"], t), 0)
        h = np.maximum(rc(u["conv2"], h), 0)
        return np.maximum(t + rc(u["conv3"], h), 0)

    a = unit(q["a2"], unit(q["a1"], unit(q["a0"], x)))
    b = rc(q["b_out"], unit(q["b2"], unit(q["b1"], unit(q["b0"], x))))
    want = x + a / (1 + np.exp(-b))
    np.testing.assert_allclose(np.asarray(L.attention_block(p, jnp.asarray(x))), want, rtol=1e-11, atol=1e-12)
    with pytest.raises(InputError):
        L.init_attention_block(jax.random.PRNGKey(0), 5)


@pytest.mark.eq("core.subpel_conv")
def test_subpel_conv_is_torch_pixel_shuffle():
    r = 2
    p = _f64(L.init_subpel_conv(jax.random.PRNGKey(9), 3, 2, r))
    x = _rng(6).normal(size=(1, 3, 4, 3))
    t = rc(_np(p), x)                                   # (1, 3, 4, 8) NHWC
    tn = t.transpose(0, 3, 1, 2)                        # NCHW as torch sees it
    out = np.zeros((1, 2, 3 * r, 4 * r))
    for c in range(2):
        for i in range(r):
            for j in range(r):
                out[:, c, i::r, j::r] = tn[:, c * r * r + i * r + j]
    np.testing.assert_allclose(np.asarray(L.subpel_conv(p, jnp.asarray(x), r=r)), out.transpose(0, 2, 3, 1),
                               rtol=1e-11, atol=1e-12)


def test_init_shapes_and_bounds():
    p = L.init_conv(jax.random.PRNGKey(0), 5, 8, 16)
    assert p["w"].shape == (5, 5, 8, 16) and p["w"].dtype == jnp.float32
    assert float(jnp.abs(p["w"]).max()) <= 1 / np.sqrt(8 * 25)
    d = L.init_deconv(jax.random.PRNGKey(0), 5, 8, 16)
    assert float(jnp.abs(d["w"]).max()) <= 1 / np.sqrt(16 * 25)
