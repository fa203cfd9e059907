"""Window partition / reverse, relative index, shifted-window regions and eqs. 1a-1b against
explicit loops, Swin's 2-D formula and a float64 NumPy re-computation."""

import jax.numpy as jnp
import numpy as np
import pytest

from ref.ecf.window_attention import (masked_multihead_attention, relative_position_index, shifted_window_regions,
                                      window_attention_mask, window_partition, window_reverse)


@pytest.mark.eq("ecf.window")
def test_window_partition_by_loops():
    B, T, H, W, d, kh, kw = 2, 3, 4, 6, 2, 2, 3
    x = np.arange(B * T * H * W * d).reshape(B, T, H, W, d)
    w = np.asarray(window_partition(x, kh, kw))
    nWh, nWw = H // kh, W // kw
    for b in range(B):
        for wh in range(nWh):
            for ww in range(nWw):
                n = (b * nWh + wh) * nWw + ww
                toks = [x[b, t, wh * kh + a, ww * kw + c] for t in range(T) for a in range(kh) for c in range(kw)]
                assert np.array_equal(w[n], np.stack(toks))
    assert np.array_equal(np.asarray(window_reverse(w, kh, kw, B, T, H, W)), x)


@pytest.mark.eq("ecf.C5")
def test_relative_index_equals_swin_2d_formula_for_one_segment():
    K = 4
    a, b = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
    coords = np.stack([np.zeros(K * K, int), np.zeros(K * K, int), a.ravel(), b.ravel()], 1)
    mine = relative_position_index(coords, coords, 1, K)
    # Swin (Liu et al. 2021, WindowAttention.__init__), written out:
    cf = np.stack([a.ravel(), b.ravel()])                        # (2, K*K)
    rel = (cf[:, :, None] - cf[:, None, :]).transpose(1, 2, 0)
    rel[:, :, 0] += K - 1
    rel[:, :, 1] += K - 1
    rel[:, :, 0] *= 2 * K - 1
    assert np.array_equal(mine, rel.sum(-1))


@pytest.mark.eq("ecf.C5")
def test_relative_index_segment_axis_by_hand():
    K, n = 4, 3
    q = np.array([[0, 2, 1, 3]])      # segment 2, row 1, col 3
    k = np.array([[0, 0, 3, 0]])      # segment 0, row 3, col 0
    # ((2 - 0 + 2) * 7 + (1 - 3 + 3)) * 7 + (3 - 0 + 3) = (28 + 1) * 7 + 6 = 209
    assert relative_position_index(q, k, n, K).tolist() == [[209]]


@pytest.mark.eq("ecf.C6")
def test_shifted_regions_by_hand():
    # 4 x 4 grid, 2 x 2 windows, shift 1: row regions [0,2) [2,3) [3,4), same for columns
    r = shifted_window_regions(4, 4, 2, 2, 1, 1)
    img = np.array([[0, 0, 1, 2], [0, 0, 1, 2], [3, 3, 4, 5], [6, 6, 7, 8]])
    expect = img.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    assert np.array_equal(r, expect)
    assert not shifted_window_regions(4, 4, 2, 2, 0, 0).any()
    m = window_attention_mask(r[:, :], r[:, :], np.zeros(4, int), np.zeros(4, int))
    assert np.isneginf(m[3]).sum() == 12 and (m[0] == 0).all()    # last window: 4 regions


def _attention_f64(q, k, v, bias, mask, heads):
    nW, Sq, d = q.shape
    dk = d // heads
    out = np.zeros((nW, Sq, d))
    for n in range(nW):
        for h in range(heads):
            sl = slice(h * dk, (h + 1) * dk)
            for i in range(Sq):
                logit = np.array([q[n, i, sl] @ k[n, j, sl] / np.sqrt(dk) + bias[h, i, j] + mask[n, i, j]
                                  for j in range(k.shape[1])])
                e = np.exp(logit - logit[np.isfinite(logit)].max())
                out[n, i, sl] = (e / e.sum()) @ v[n, :, sl]
    return out


@pytest.mark.eq("ecf.1a")
@pytest.mark.eq("ecf.1b")
def test_masked_attention_equals_float64_loops():
    rng = np.random.default_rng(5)
    nW, Sq, Sk, d, heads = 2, 5, 6, 8, 2
    q, k, v = (rng.normal(size=(nW, s, d)).astype(np.float32) for s in (Sq, Sk, Sk))
    bias = rng.normal(size=(heads, Sq, Sk)).astype(np.float32)
    mask = np.where(rng.random((nW, Sq, Sk)) < 0.4, -np.inf, 0.0).astype(np.float32)
    mask[:, :, 0] = 0.0
    got = np.asarray(masked_multihead_attention(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v),
                                                jnp.asarray(bias), jnp.asarray(mask), heads))
    ref = _attention_f64(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), bias, mask, heads)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)
