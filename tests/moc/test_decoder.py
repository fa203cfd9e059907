"""moc decoder: ReLU linear attention, blocks, tokens, N-D ViT (spec/moc.md "Decoder and training")."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ref.moc.config import MocConfig
from ref.moc.decoder import (
    ATTN_EPS,
    attention,
    block,
    count_params,
    decoder_forward,
    init_decoder,
    linear_attention,
    linear_attention_quadratic,
    patchify,
    unpatchify,
)

F32 = jnp.float32


def _rand(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _direct(q, k, v, eps=ATTN_EPS):
    """Loop-by-loop O(N^2) evaluation of moc.linear_attention in float64 NumPy."""
    fq, fk = np.maximum(q, 0), np.maximum(k, 0)
    out = np.zeros((q.shape[0], v.shape[1]))
    for i in range(q.shape[0]):
        w = np.array([fq[i] @ fk[j] for j in range(k.shape[0])])
        out[i] = (w[:, None] * v).sum(0) / (w.sum() + eps)
    return out


@pytest.mark.eq("moc.linear_attention", "moc.C21")
@pytest.mark.parametrize("n,dk,dv", [(1, 4, 3), (17, 8, 8), (64, 16, 5)])
def test_linear_attention_matches_direct_quadratic(n, dk, dv):
    q, k, v = _rand(1, (n, dk)), _rand(2, (n, dk)), _rand(3, (n, dv))
    got = np.asarray(linear_attention(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)))
    np.testing.assert_allclose(got, _direct(q, k, v), rtol=1e-10, atol=1e-12)
    got32 = np.asarray(linear_attention(jnp.asarray(q, F32), jnp.asarray(k, F32), jnp.asarray(v, F32)))
    np.testing.assert_allclose(got32, _direct(q, k, v), rtol=2e-4, atol=2e-5)
    quad = np.asarray(linear_attention_quadratic(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)))
    np.testing.assert_allclose(quad, got, rtol=1e-10, atol=1e-12)


@pytest.mark.eq("moc.linear_attention", "moc.C21")
def test_linear_attention_zero_query_gives_zero_and_is_permutation_equivariant():
    q, k, v = _rand(4, (10, 6)), _rand(5, (10, 6)), _rand(6, (10, 3))
    q[3] = -np.abs(q[3])  # phi(q_3) = 0 -> out_3 = 0 (eps keeps it finite)
    out = np.asarray(linear_attention(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)))
    assert np.all(out[3] == 0)
    perm = np.random.default_rng(0).permutation(10)
    out_p = np.asarray(linear_attention(jnp.asarray(q[perm]), jnp.asarray(k[perm]), jnp.asarray(v[perm])))
    np.testing.assert_allclose(out_p, out[perm], rtol=1e-12, atol=1e-12)
    # a convex combination of the values: each output inside the per-feature value range
    ok = (out >= v.min(0) - 1e-12) & (out <= v.max(0) + 1e-12)
    assert ok[np.arange(10) != 3].all()


@pytest.mark.eq("moc.decoder_tokens", "moc.C20")
@pytest.mark.parametrize("shape,p", [((8, 5), 1), ((8, 6, 5), 2), ((4, 6, 8, 3), 2), ((6, 4, 2, 2), 1)])
def test_patchify_roundtrip_and_layout(shape, p):
    z = jnp.asarray(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    t = patchify(z, p)
    D = len(shape) - 1
    assert t.shape == (int(np.prod([s // p for s in shape[:-1]])), p**D * shape[-1])
    np.testing.assert_array_equal(np.asarray(unpatchify(t, shape[:-1], p, shape[-1])), np.asarray(z))
    if p == 1:
        np.testing.assert_array_equal(np.asarray(t), np.asarray(z).reshape(-1, shape[-1]))
    if D == 2 and p == 2:  # token 0 = z[0:2, 0:2, :] flattened (row-major over offsets, channel)
        np.testing.assert_array_equal(np.asarray(t[0]), np.asarray(z[0:2, 0:2]).reshape(-1))


def _small_cfg(ndim=2, **kw):
    base = dict(ndim=ndim, in_channels=1 if ndim != 2 else 3, levels=1, latent_channels=4,
                decoder_dim=16, decoder_depth=2, decoder_heads=2, decoder_mlp_ratio=2)
    base.update(kw)
    return MocConfig(**base)


def _np_block(p, x, heads):
    """Independent NumPy float64 evaluation of moc.decoder_block (with the direct attention)."""
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), p)

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * g + b

    from math import erf, sqrt

    gelu = np.vectorize(lambda t: 0.5 * t * (1 + erf(t / sqrt(2))))
    h = ln(x, p["ln1_g"], p["ln1_b"])
    a = p["attn"]
    q, k, v = h @ a["wq"] + a["bq"], h @ a["wk"] + a["bk"], h @ a["wv"] + a["bv"]
    dh = q.shape[1] // heads
    o = np.concatenate([_direct(q[:, i * dh:(i + 1) * dh], k[:, i * dh:(i + 1) * dh], v[:, i * dh:(i + 1) * dh])
                        for i in range(heads)], axis=1)
    x = x + o @ a["wo"] + a["bo"]
    h = ln(x, p["ln2_g"], p["ln2_b"])
    return x + gelu(h @ p["mlp_w1"] + p["mlp_b1"]) @ p["mlp_w2"] + p["mlp_b2"]


@pytest.mark.eq("moc.decoder_block", "moc.decoder_attn", "moc.C22")
def test_block_matches_numpy_reference():
    cfg = _small_cfg()
    params = init_decoder(jax.random.key(3), cfg)
    bp = jax.tree_util.tree_map(lambda a: a + 0.05 * jnp.asarray(_rand(9, a.shape), a.dtype), params["block_0"])
    x = _rand(7, (12, 16))
    got = np.asarray(block(jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), bp), jnp.asarray(x), 2))
    np.testing.assert_allclose(got, _np_block(bp, x, 2), rtol=1e-9, atol=1e-9)
    att = attention(bp["attn"], jnp.asarray(x, F32), 2)
    assert att.shape == (12, 16) and att.dtype == F32


@pytest.mark.eq("moc.decoder", "moc.C20", "moc.C23")
@pytest.mark.parametrize("ndim,grid", [(1, (16,)), (2, (6, 4)), (3, (2, 4, 2))])
def test_decoder_nd_shapes_and_permutation_equivariance(ndim, grid):
    """Same code for 1-D/2-D/3-D grids; no position encoding => permuting the latent
    positions (p = 1) permutes the output positions identically."""
    cfg = _small_cfg(ndim)
    params = init_decoder(jax.random.key(0), cfg)
    assert "pos" not in str(jax.tree_util.tree_structure(params))
    z = jnp.asarray(_rand(1, grid + (cfg.latent_channels,)), F32)
    y = decoder_forward(params, z, cfg)
    assert y.shape == grid + (cfg.wpt_channels,) and y.dtype == F32
    flat = np.asarray(z).reshape(-1, cfg.latent_channels)
    perm = np.random.default_rng(1).permutation(flat.shape[0])
    yp = decoder_forward(params, jnp.asarray(flat[perm].reshape(z.shape)), cfg)
    np.testing.assert_allclose(np.asarray(yp).reshape(-1, cfg.wpt_channels),
                               np.asarray(y).reshape(-1, cfg.wpt_channels)[perm], rtol=1e-4, atol=1e-5)


@pytest.mark.eq("moc.decoder", "moc.C20")
def test_decoder_patch2_and_resolution_independence():
    cfg = _small_cfg(decoder_patch=2)
    params = init_decoder(jax.random.key(0), cfg)
    for grid in ((4, 4), (8, 6)):
        y = decoder_forward(params, jnp.zeros(grid + (4,), F32), cfg)
        assert y.shape == grid + (cfg.wpt_channels,)
    with pytest.raises(ValueError):
        decoder_forward(params, jnp.zeros((5, 4, 4), F32), cfg)
    assert count_params(params) == sum(np.size(a) for a in jax.tree_util.tree_leaves(params))


@pytest.mark.eq("moc.decoder")
def test_decoder_batch_norm_free_single_sample_equals_batched():
    """No batch statistics: decoding a batch (vmap) equals decoding each sample alone."""
    cfg = _small_cfg()
    params = init_decoder(jax.random.key(5), cfg)
    z = jnp.asarray(_rand(2, (3, 4, 4, 4)), F32)
    yb = jax.vmap(lambda a: decoder_forward(params, a, cfg))(z)
    for i in range(3):
        np.testing.assert_allclose(np.asarray(yb[i]), np.asarray(decoder_forward(params, z[i], cfg)), rtol=1e-5, atol=1e-6)
