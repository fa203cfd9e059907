"""The Easz transformer (spec easz.model, C20-C23, C28) against a float64 NumPy forward pass
written here from the spec, with the shipped weights on a real photograph.

Independent in form as well as precision: the encoder runs on the kept tokens only (the
paper's E(e_1, ..., e_m), no -1e9 logits), the positional table and exact GELU are computed
here, and the residual base is the test's own per-patch linear fill.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ref.core.errors import InputError

pytestmark = pytest.mark.eq("easz.model", "easz.C21", "easz.C22", "easz.C23", "easz.C28")


def _ln(x, p, name):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-6) * p[name + ".scale"] + p[name + ".bias"]


def _block(x, p, pre, heads):
    t, d = x.shape
    dh = d // heads
    h = _ln(x, p, pre + "ln1")
    q, k, v = (h @ p[pre + f"attn.w{c}"] + p[pre + f"attn.b{c}"] for c in "qkv")
    out = np.zeros_like(x)
    for i in range(heads):
        sl = slice(i * dh, (i + 1) * dh)
        s = q[:, sl] @ k[:, sl].T / math.sqrt(dh)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        out[:, sl] = a @ v[:, sl]
    x = x + out @ p[pre + "attn.wo"] + p[pre + "attn.bo"]
    h = _ln(x, p, pre + "ln2") @ p[pre + "mlp.w1"] + p[pre + "mlp.b1"]
    h = 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
    return x + h @ p[pre + "mlp.w2"] + p[pre + "mlp.b2"]


def numpy_forward(p, tokens, keep, cfg, base):
    """One patch: tokens (T, b*b*3) pixel values, keep (T,) bool, base (T, b*b*3) or None."""
    d, g = cfg.dim, cfg.n // cfg.b
    qd = d // 4
    w = 10000.0 ** (-np.arange(qd) / qd)
    pos = np.array([np.concatenate([np.sin(i * w), np.cos(i * w), np.sin(j * w), np.cos(j * w)])
                    for i in range(g) for j in range(g)])
    u = (tokens / 255.0 - 0.5) / 0.25
    e = u @ p["embed.w"] + p["embed.b"] + pos
    f = e[keep]                                              # the m kept tokens only
    for i in range(cfg.enc_layers):
        f = _block(f, p, f"enc.{i}.", cfg.heads)
    f = _ln(f, p, "enc.norm")
    z = pos.copy()
    z[keep] += f                                             # erased: zero vector + position
    for i in range(cfg.dec_layers):
        z = _block(z, p, f"dec.{i}.", cfg.heads)
    y = _ln(z, p, "dec.norm") @ p["head.w"] + p["head.b"]
    if cfg.residual:
        return base + 255 * 0.25 * y
    return 255 * (0.5 + 0.25 * y)


def _line_fill(v, k):
    idx = np.flatnonzero(k)
    if idx.size == 0:
        return None
    out = np.empty_like(v)
    for c in range(v.shape[1]):
        out[:, c] = np.interp(np.arange(len(k)), idx, v[idx, c])   # nearest kept value at the ends
    return out


def test_forward_equals_float64_numpy_on_a_real_patch():
    from ref.easz import recon
    from ref.easz.model import forward, patch_to_tokens

    try:
        params, cfg = recon.load_default()
    except InputError:
        pytest.skip("no shipped checkpoint")
    import skimage.data as sd

    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    img = sd.stereo_motorcycle()[0][200:232, 300:332].astype(np.float64)
    g, b = cfg.n // cfg.b, cfg.b
    keep_t = np.random.default_rng(4).random(g * g) >= 0.4
    keep_px = np.kron(keep_t.reshape(g, g), np.ones((b, b))).astype(bool)
    x = np.where(keep_px[:, :, None], img, 0.0)
    # easz.C16 on this one patch: mean of the row and column linear fills where both exist
    rows = [_line_fill(x[r], keep_px[r]) for r in range(cfg.n)]
    cols = [_line_fill(x[:, c], keep_px[:, c]) for c in range(cfg.n)]
    fill = np.zeros_like(x)
    for r in range(cfg.n):
        for c in range(cfg.n):
            ests = [e[i] for e, i in ((rows[r], c), (cols[c], r)) if e is not None]
            fill[r, c] = x[r, c] if keep_px[r, c] else np.mean(ests, axis=0)
    tok = patch_to_tokens(x[None].astype(np.float32), b)[0]
    base = patch_to_tokens(fill[None].astype(np.float32), b)[0]
    want = numpy_forward(p64, tok.astype(np.float64), keep_t, cfg, base.astype(np.float64))
    got = np.asarray(forward(params, tok[None], keep_t[None], cfg, base[None] if cfg.residual else None))[0]
    err = np.abs(got - want)[~keep_t].max()
    assert err < 2e-3, err                      # float32 vs float64, pixel units
    # and the erased tokens really depend on the network (not only on the base)
    if cfg.residual:
        assert np.abs(want - base)[~keep_t].max() > 0.5
