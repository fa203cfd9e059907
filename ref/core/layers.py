"""Layers of learned transform codecs (CompressAI conventions), pure over explicit parameter pytrees.

Layout: activations NHWC float32 (batch first even for one image); conv weights HWIO
``w.shape == (kh, kw, c_in, c_out)``, bias ``(c_out,)``; a conv's parameters are ``{"w", "b"}``.
Every layer is a pure function ``f(p, x) -> y`` with an ``init_f(key, ...)`` making ``p``.
Spec: spec/core-layers.md.

    [core.conv]    y[n,o,q,co] = b[co] + sum_{a,c,ci} xpad[n, s*o + a, s*q + c, ci] * w[a,c,ci,co]
                   xpad = x zero-padded by k//2 on every side (CompressAI ``conv``:
                   nn.Conv2d(k, stride=s, padding=k//2));  H_out = floor((H - 1)/s) + 1.
    [core.deconv]  torch ConvTranspose2d(k, s, padding p = k//2, output_padding s-1), H_out = s*H:
                   y[n, s*i - p + a', s*j - p + c', co] += x[n,i,j,ci] * wt[ci,co,a',c']  (+ b[co])
                   computed in correlation form [core.C30]: w[a,c,ci,co] = wt[ci,co,k-1-a,k-1-c],
                   a stride-1 correlation with w of the s-dilated input padded (k-1-p) before
                   and (k-1-p+s-1) after.
    [core.resblock]       out = lrelu(conv3(lrelu(conv3(x)))) + skip(x)
    [core.resblock_gdn]   out = GDN(conv3(lrelu(conv3_s(x)))) + skip(x)
    [core.attention_block] out = x + A(x) * sigmoid(B(x))      (Cheng et al. 2020, no non-local)
    [core.subpel_conv]    out = pixel_shuffle_r(conv3(x))       (CompressAI subpel_conv3x3)
    [core.leaky_relu]     lrelu(x) = x if x >= 0 else 0.01 x
"""

from __future__ import annotations

from ref.core import runtime as _runtime

_runtime.configure_jax()  # x64 + highest matmul precision even if jax was imported first

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core.errors import InputError
from ref.core.gdn import gdn, init_gdn
from ref.core.registry import implements

LEAKY_SLOPE = 0.01          # torch.nn.LeakyReLU default negative_slope (CompressAI)
_DN = ("NHWC", "HWIO", "NHWC")
_HI = jax.lax.Precision.HIGHEST


def _check_conv(p: dict, x) -> int:
    w = p["w"]
    if w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[0] % 2 != 1:
        raise InputError(f"conv weight must be (k, k, c_in, c_out) with odd k, got {tuple(w.shape)}")
    if x.ndim != 4 or x.shape[-1] != w.shape[2]:
        raise InputError(f"conv input must be NHWC with C = {w.shape[2]}, got {tuple(x.shape)}")
    return int(w.shape[0])


# --------------------------------------------------------------------------- activations
@implements("core.leaky_relu")
def leaky_relu(x, slope: float = LEAKY_SLOPE):
    """lrelu(x) = x for x >= 0, slope * x otherwise (slope 0.01, torch's default).

    x: float array, any shape.  Returns the same shape and dtype.
    """
    return jnp.where(x >= 0, x, x * jnp.asarray(slope, jnp.result_type(x)))


def relu(x):
    """max(x, 0)."""
    return jnp.maximum(x, jnp.zeros((), jnp.result_type(x)))


# --------------------------------------------------------------------------- conv / deconv
@implements("core.conv")
def conv(p: dict, x, *, stride: int = 1):
    """CompressAI ``conv(c_in, c_out, k, stride)`` = nn.Conv2d(k, stride, padding=k//2):

        y[n,o,q,co] = b[co] + sum_{a,c,ci} xpad[n, s*o+a, s*q+c, ci] * w[a,c,ci,co]

    p: {"w": (k, k, c_in, c_out) HWIO (same numbers as torch's (c_out, c_in, k, k) weight,
        transposed (2, 3, 1, 0)), "b": (c_out,)}; k odd.
    x: (N, H, W, c_in) float.  stride: s >= 1.
    Returns (N, ceil(H/s), ceil(W/s), c_out) in the dtype of x (parameters are cast to it).
    """
    k = _check_conv(p, x)
    pad = k // 2
    y = jax.lax.conv_general_dilated(
        x, jnp.asarray(p["w"], x.dtype), window_strides=(stride, stride), padding=((pad, pad), (pad, pad)),
        dimension_numbers=_DN, precision=_HI)
    return y + jnp.asarray(p["b"], x.dtype)


@implements("core.deconv", "core.C30")
def deconv(p: dict, x, *, stride: int = 2):
    """CompressAI ``deconv(c_in, c_out, k, stride)`` = nn.ConvTranspose2d(k, stride,
    padding=k//2, output_padding=stride-1), so H_out = stride * H.

    Transposed convolution in correlation form [core.C30]: dilate x by s (s-1 zeros between
    samples), zero-pad (k-1-k//2) before and (k-1-k//2+s-1) after each spatial axis, then
    correlate with w at stride 1:

        y[n,o,q,co] = b[co] + sum_{a,c,ci} xdpad[n, o+a, q+c, ci] * w[a,c,ci,co]

    which equals torch's ConvTranspose2d with weight wt[ci,co,a,c] = w[k-1-a, k-1-c, ci, co]
    (see :func:`deconv_weight_from_torch`).

    p: {"w": (k, k, c_in, c_out) correlation-form HWIO, "b": (c_out,)}; k odd.
    x: (N, H, W, c_in) float.  stride: s >= 1.
    Returns (N, s*H, s*W, c_out) in the dtype of x (parameters are cast to it).
    """
    k = _check_conv(p, x)
    lo = k - 1 - k // 2
    hi = lo + stride - 1
    y = jax.lax.conv_general_dilated(
        x, jnp.asarray(p["w"], x.dtype), window_strides=(1, 1), padding=((lo, hi), (lo, hi)),
        lhs_dilation=(stride, stride), dimension_numbers=_DN, precision=_HI)
    return y + jnp.asarray(p["b"], x.dtype)


def deconv_weight_from_torch(wt):
    """Correlation-form HWIO weight from a torch ConvTranspose2d weight (c_in, c_out, k, k):
    w[a, c, ci, co] = wt[ci, co, k-1-a, k-1-c]  [core.C30].  Works on NumPy or JAX arrays."""
    return wt[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)


def conv_weight_from_torch(wt):
    """HWIO weight from a torch Conv2d weight (c_out, c_in, k, k): w[a,c,ci,co] = wt[co,ci,a,c]."""
    return wt.transpose(2, 3, 1, 0)


def _uniform(key, shape, bound, dtype):
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def init_conv(key, k: int, c_in: int, c_out: int, dtype=jnp.float32) -> dict:
    """PyTorch's default Conv2d init (what CompressAI trains from): w, b ~ U(-1/sqrt(fan_in),
    1/sqrt(fan_in)), fan_in = c_in * k * k.  key: jax PRNG key.  Not normative."""
    kw, kb = jax.random.split(key)
    bound = 1.0 / (c_in * k * k) ** 0.5
    return {"w": _uniform(kw, (k, k, c_in, c_out), bound, dtype), "b": _uniform(kb, (c_out,), bound, dtype)}


def init_deconv(key, k: int, c_in: int, c_out: int, dtype=jnp.float32) -> dict:
    """PyTorch's default ConvTranspose2d init: w, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
    torch's fan_in of the (c_in, c_out, k, k) weight, i.e. c_out * k * k.  Not normative."""
    kw, kb = jax.random.split(key)
    bound = 1.0 / (c_out * k * k) ** 0.5
    return {"w": _uniform(kw, (k, k, c_in, c_out), bound, dtype), "b": _uniform(kb, (c_out,), bound, dtype)}


# --------------------------------------------------------------------------- residual blocks
@implements("core.resblock")
def residual_block(p: dict, x):
    """CompressAI ``ResidualBlock`` (Cheng et al. 2020):

        out = lrelu(conv3x3_2(lrelu(conv3x3_1(x)))) + skip(x),  skip = conv1x1 if c_in != c_out
              else identity.

    p: {"conv1": (3,3,c_in,c_out), "conv2": (3,3,c_out,c_out), optional "skip": (1,1,c_in,c_out)}.
    x: (N, H, W, c_in).  Returns (N, H, W, c_out).
    """
    out = leaky_relu(conv(p["conv1"], x))
    out = leaky_relu(conv(p["conv2"], out))
    return out + (conv(p["skip"], x) if "skip" in p else x)


def init_residual_block(key, c_in: int, c_out: int, dtype=jnp.float32) -> dict:
    """Params of :func:`residual_block` (skip conv only when c_in != c_out)."""
    k1, k2, k3 = jax.random.split(key, 3)
    p = {"conv1": init_conv(k1, 3, c_in, c_out, dtype), "conv2": init_conv(k2, 3, c_out, c_out, dtype)}
    if c_in != c_out:
        p["skip"] = init_conv(k3, 1, c_in, c_out, dtype)
    return p


@implements("core.resblock_gdn")
def residual_block_gdn(p: dict, x, *, stride: int = 1):
    """Residual block with GDN (CompressAI ``ResidualBlockWithStride``; HCF Fig. 2b uses s = 1):

        out = GDN(conv3x3_2(lrelu(conv3x3_1,s(x)))) + skip(x),
        skip = conv1x1 at stride s if (s != 1 or c_in != c_out) else identity.

    p: {"conv1": (3,3,c_in,c_out), "conv2": (3,3,c_out,c_out), "gdn": ref.core.gdn params (c_out),
        optional "skip": (1,1,c_in,c_out)}.
    x: (N, H, W, c_in).  Returns (N, ceil(H/s), ceil(W/s), c_out).
    """
    out = leaky_relu(conv(p["conv1"], x, stride=stride))
    out = gdn(p["gdn"], conv(p["conv2"], out))
    if "skip" in p:
        return out + conv(p["skip"], x, stride=stride)
    if stride != 1:
        raise InputError("residual_block_gdn with stride != 1 needs a 'skip' conv")
    return out + x


def init_residual_block_gdn(key, c_in: int, c_out: int, stride: int = 1, dtype=jnp.float32) -> dict:
    """Params of :func:`residual_block_gdn` (GDN at CompressAI's init: beta 1, gamma 0.1 I)."""
    k1, k2, k3 = jax.random.split(key, 3)
    p = {"conv1": init_conv(k1, 3, c_in, c_out, dtype), "conv2": init_conv(k2, 3, c_out, c_out, dtype),
         "gdn": init_gdn(c_out, dtype)}
    if stride != 1 or c_in != c_out:
        p["skip"] = init_conv(k3, 1, c_in, c_out, dtype)
    return p


# --------------------------------------------------------------------------- attention
def residual_unit(p: dict, x):
    """Residual unit of the attention module: relu(x + conv1x1(relu(conv3x3(relu(conv1x1(x)))))),
    channels N -> N/2 -> N/2 -> N.  p: {"conv1": (1,1,N,N/2), "conv2": (3,3,N/2,N/2),
    "conv3": (1,1,N/2,N)}.  x: (N_b, H, W, N)."""
    out = relu(conv(p["conv1"], x))
    out = relu(conv(p["conv2"], out))
    return relu(x + conv(p["conv3"], out))


def _init_unit(key, n: int, dtype) -> dict:
    k1, k2, k3 = jax.random.split(key, 3)
    h = n // 2
    return {"conv1": init_conv(k1, 1, n, h, dtype), "conv2": init_conv(k2, 3, h, h, dtype),
            "conv3": init_conv(k3, 1, h, n, dtype)}


ATTENTION_KEYS = ("a0", "a1", "a2", "b0", "b1", "b2", "b_out")


@implements("core.attention_block")
def attention_block(p: dict, x):
    """Simplified attention module of Cheng et al. 2020 (CompressAI ``AttentionBlock``,
    no non-local block):

        A(x) = U_a2(U_a1(U_a0(x)))            (trunk)
        B(x) = conv1x1(U_b2(U_b1(U_b0(x))))    (mask branch, N -> N)
        out  = x + A(x) * sigmoid(B(x))

    with U the :func:`residual_unit`.  p: {"a0","a1","a2","b0","b1","b2": unit params,
    "b_out": (1,1,N,N) conv}.  x: (N_b, H, W, N), N even.  Returns the same shape.
    """
    a = x
    for k in ("a0", "a1", "a2"):
        a = residual_unit(p[k], a)
    b = x
    for k in ("b0", "b1", "b2"):
        b = residual_unit(p[k], b)
    b = conv(p["b_out"], b)
    return x + a * jax.nn.sigmoid(b)


def init_attention_block(key, n: int, dtype=jnp.float32) -> dict:
    """Params of :func:`attention_block` for N = n channels (n even)."""
    if n % 2:
        raise InputError(f"attention_block needs an even channel count, got {n}")
    keys = jax.random.split(key, 7)
    p = {name: _init_unit(k, n, dtype) for name, k in zip(ATTENTION_KEYS[:6], keys[:6])}
    p["b_out"] = init_conv(keys[6], 1, n, n, dtype)
    return p


# --------------------------------------------------------------------------- sub-pixel conv
def pixel_shuffle(x, r: int):
    """torch.nn.PixelShuffle(r) in NHWC: out[n, h*r+i, w*r+j, c] = x[n, h, w, c*r*r + i*r + j].
    x: (N, H, W, C*r*r).  Returns (N, H*r, W*r, C)."""
    n, h, w, crr = x.shape
    if crr % (r * r):
        raise InputError(f"pixel_shuffle: channels {crr} not divisible by r*r = {r * r}")
    c = crr // (r * r)
    return x.reshape(n, h, w, c, r, r).transpose(0, 1, 4, 2, 5, 3).reshape(n, h * r, w * r, c)


@implements("core.subpel_conv")
def subpel_conv(p: dict, x, *, r: int = 2):
    """CompressAI ``subpel_conv3x3(c_in, c_out, r)``: pixel_shuffle_r(conv3x3(x)), the conv
    mapping c_in -> c_out*r*r.  p: {"w": (3,3,c_in,c_out*r*r), "b": (c_out*r*r,)}.
    x: (N, H, W, c_in).  Returns (N, r*H, r*W, c_out)."""
    return pixel_shuffle(conv(p, x), r)


def init_subpel_conv(key, c_in: int, c_out: int, r: int = 2, dtype=jnp.float32) -> dict:
    """Params of :func:`subpel_conv` (PyTorch default conv init)."""
    return init_conv(key, 3, c_in, c_out * r * r, dtype)


__all__ = [
    "LEAKY_SLOPE", "ATTENTION_KEYS", "leaky_relu", "relu", "conv", "deconv", "init_conv", "init_deconv",
    "conv_weight_from_torch", "deconv_weight_from_torch", "residual_block", "init_residual_block",
    "residual_block_gdn", "init_residual_block_gdn", "residual_unit", "attention_block",
    "init_attention_block", "pixel_shuffle", "subpel_conv", "init_subpel_conv",
]
