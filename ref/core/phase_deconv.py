"""The stride-s transposed convolution of [core.deconv] computed by output phases (shared).

core.deconv correlates the s-dilated input with w (k x k taps, most of them hitting inserted
zeros).  Output position o = s*m + a (phase a in 0..s-1) only ever reads the taps j with
(a + j - lo) % s == 0, lo = k - 1 - k//2, at input index m + (a + j - lo) / s.  Gathering
the s*s phases into one kernel gives a stride-1 correlation of the undilated input with a
K x K kernel and s*s*c_out outputs, followed by depth-to-space:

    y[n, s*i + a, s*j + b, co] = b[co] + sum_{u,v,ci} xpad[n, i + u, j + v, ci] * Kp[u, v, ci, a, b, co]
    Kp[u, v, ci, a, b, co] = w[j_a(u), j_b(v), ci, co]   (0 where phase a / b has no tap at offset u / v)

The same products as core.deconv summed in another order (float tolerance, tested in
tests/core/test_phase_deconv.py for k = 3 and 5).  Why: XLA's CPU gradient of a plain
correlation is an order of magnitude faster than that of an input-dilated one (measured on
HCF's g_s, 8 x 128^2 crops: backward 2.7 s -> 0.11 s), and k^2 / K^2 = 2.8x fewer
multiply-adds for k = 5.  Used by the HCF synthesis transform (k = 5, s = 2) and the ecf
synthesis transform (k = 3, s = 2).
"""

from __future__ import annotations

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core.registry import implements

_DN = ("NHWC", "HWIO", "NHWC")

__all__ = ["phase_taps", "phase_kernel", "deconv_phase"]


def phase_taps(k: int, s: int) -> list[list[tuple[int, int]]]:
    """For each output phase a: [(tap j, input offset d)], d = (a + j - lo) / s."""
    lo = k - 1 - k // 2
    return [[(j, (a + j - lo) // s) for j in range(k) if (a + j - lo) % s == 0] for a in range(s)]


def phase_kernel(w, stride: int):
    """Correlation-form HWIO deconv weight (k, k, Ci, Co) -> (phase kernel (K, K, Ci, s*s*Co),
    input padding (before, after)) of the equivalent stride-1 correlation."""
    k = w.shape[0]
    taps = phase_taps(k, stride)
    ds = [d for t in taps for _, d in t]
    dmin, dmax = min(ds), max(ds)
    K = dmax - dmin + 1
    sel = np.zeros((stride, K, k), np.float32)
    for a, t in enumerate(taps):
        for j, d in t:
            sel[a, d - dmin, j] = 1.0
    kp = jnp.einsum("auj,bvl,jlic->uviabc", jnp.asarray(sel, w.dtype), jnp.asarray(sel, w.dtype), w)
    return kp.reshape(K, K, w.shape[2], stride * stride * w.shape[3]), (-dmin, dmax)


@implements("core.deconv")
def deconv_phase(p: dict, x, *, stride: int = 2):
    """[core.deconv] by output phases.  p: {"w": (k, k, c_in, c_out) correlation-form HWIO,
    "b": (c_out,)}; x: (N, H, W, c_in) float.  Returns (N, s*H, s*W, c_out) in x's dtype."""
    w = jnp.asarray(p["w"], x.dtype)
    kp, (lo, hi) = phase_kernel(w, stride)
    y = jax.lax.conv_general_dilated(x, kp, (1, 1), [(lo, hi)] * 2, dimension_numbers=_DN,
                                     precision=jax.lax.Precision.HIGHEST)
    n, h, wd, _ = y.shape
    co = w.shape[3]
    y = y.reshape(n, h, wd, stride, stride, co).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * stride, wd * stride, co)
    return y + jnp.asarray(p["b"], x.dtype)
