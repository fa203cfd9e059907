"""HCF base codec networks: analysis g_a (hcf.1), synthesis g_s (hcf.5) around the mean-scale
hyperprior of ref.core.hyperprior, and the training forward pass (rate + distortion).

Parameters are one nested dict per level::

    {"g_a": {"conv0".."conv3": conv, "gdn0".."gdn2": gdn},
     "g_s": {"deconv0".."deconv3": conv, "igdn0".."igdn2": gdn},
     "hyper": {"h_a": {...}, "h_s": {...}, "z_prior": factorized density}}   (ref.core.hyperprior)

Signal convention ([hcf.C4]): the network sees x = u8 / 255 in [0, 1], NHWC float32.
"""

from __future__ import annotations

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp
import numpy as np

from ref.core.gdn import gdn, init_gdn
from ref.core.hyperprior import hyper_analysis, init_hyperprior, rate_terms
from ref.core.layers import conv, init_conv, init_deconv
from ref.core.registry import implements
from ref.core.phase_deconv import deconv_phase

F32 = jnp.float32

__all__ = ["init_params", "analysis", "synthesis", "hyper_analysis", "forward_train", "count_params"]


def init_params(key, N: int, M: int) -> dict:
    """Random float32 parameters of one level (PyTorch/CompressAI default inits).

    key: jax PRNG key; N, M: widths ([hcf.C1]).
    """
    k = jax.random.split(key, 9)
    g_a = {"conv0": init_conv(k[0], 5, 3, N), "conv1": init_conv(k[1], 5, N, N),
           "conv2": init_conv(k[2], 5, N, N), "conv3": init_conv(k[3], 5, N, M)}
    g_s = {"deconv0": init_deconv(k[4], 5, M, N), "deconv1": init_deconv(k[5], 5, N, N),
           "deconv2": init_deconv(k[6], 5, N, N), "deconv3": init_deconv(k[7], 5, N, 3)}
    for i in range(3):
        g_a[f"gdn{i}"] = init_gdn(N, F32)
        g_s[f"igdn{i}"] = init_gdn(N, F32)
    return {"g_a": g_a, "g_s": g_s, "hyper": init_hyperprior(k[8], N, M)}


@implements("hcf.1")
def analysis(p: dict, x):
    """y~ = g_a(x) (hcf.1): [conv5x5 s2 -> GDN] x 3 -> conv5x5 s2 (3 -> N -> N -> N -> M).

    p: level params (uses p["g_a"]).  x: (B, H, W, 3) float32 in [0, 1], H and W multiples
    of 16.  Returns (B, H/16, W/16, M) float32.
    """
    q = p["g_a"]
    h = x
    for i in range(3):
        h = gdn(q[f"gdn{i}"], conv(q[f"conv{i}"], h, stride=2))
    return conv(q["conv3"], h, stride=2)


@implements("hcf.5")
def synthesis(p: dict, y_hat):
    """x^ = g_s(y^) (hcf.5): [deconv5x5 s2 -> IGDN] x 3 -> deconv5x5 s2 (M -> N -> N -> N -> 3).

    p: level params (uses p["g_s"]).  y_hat: (B, h, w, M) float32 (integer grid values when
    decoding).  Returns (B, 16h, 16w, 3) float32, not clipped ([hcf.C4] clips and rounds).
    Each deconv is [core.deconv] computed by output phases (ref.core.phase_deconv).
    """
    q = p["g_s"]
    h = y_hat
    for i in range(3):
        h = gdn(q[f"igdn{i}"], deconv_phase(q[f"deconv{i}"], h, stride=2), inverse=True)
    return deconv_phase(q["deconv3"], h, stride=2)


@implements("hcf.2")
def forward_train(p: dict, x, key, mean_grid: int = 8):
    """Training pass: (x_hat, bits_y, bits_z) with the quantiser of [hcf.2].

    ref.core.hyperprior.rate_terms: rates of y + u and z + u (u ~ U(-1/2, 1/2)); h_s sees
    round(z), g_s sees round(y - mu_g) + mu_g (mu_g = mean snapped to the grid 1/mean_grid),
    both with straight-through gradients -- the values the coder transmits.
    x: (B, H, W, 3) float32 in [0, 1]; key: jax PRNG key.  bits_*: float32 totals per batch.
    """
    y = analysis(p, x)
    rt = rate_terms(p["hyper"], y, key, mean_grid=mean_grid)
    return synthesis(p, rt["y_hat"]), rt["bits_y"], rt["bits_z"]


def count_params(p: dict) -> int:
    return int(sum(np.prod(a.shape) for a in jax.tree_util.tree_leaves(p)))
