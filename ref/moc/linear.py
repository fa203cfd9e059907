"""Training-free linear moc models: PCA bottleneck + its transpose (moc.C16).

The encoder is an ordinary dense bottleneck (so it runs through
:func:`ref.moc.encoder.analysis` unchanged); the "decoder" is the orthogonal projection
back.  Fitted on the *training* images only (``ref.moc.data.TRAIN_NAMES``), cached in
memory.  Used as a labelled baseline ("linear (PCA)") by ``codecref analyze moc`` and as
``--model linear_rgb_16x`` etc. by the codec (works for grey images too).
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ref.core.registry import implements
from ref.moc.companding import compand_scale
from ref.moc.config import MocConfig
from ref.moc.wpt import wpt_forward

__all__ = ["LINEAR_MODELS", "fit_pca", "linear_model", "linear_decode", "pca_basis"]

#: name -> (in_channels, reduction)
LINEAR_MODELS = {
    "linear_rgb_16x": (3, 16), "linear_rgb_4x": (3, 4),
    "linear_gray_16x": (1, 16), "linear_gray_4x": (1, 4),
}


@implements("moc.C16")
def fit_pca(coeffs: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """coeffs (n, N) float64 -> (mean (N,), V (N, m) top-m eigenvectors, std (m,)).

    Eigenvectors of the covariance, sorted by decreasing eigenvalue; sign fixed so that the
    largest-magnitude entry of each column is positive.
    """
    mu = coeffs.mean(axis=0)
    c = coeffs - mu
    cov = c.T @ c / max(len(c) - 1, 1)
    ev, vec = np.linalg.eigh(cov)
    order = np.argsort(-ev, kind="stable")[:m]
    V = vec[:, order]
    idx = np.argmax(np.abs(V), axis=0)
    V = V * np.sign(V[idx, np.arange(m)])
    return mu, V, np.sqrt(np.maximum(ev[order], 1e-12))


SHIPPED = Path(__file__).resolve().parent / "linear_pca.safetensors"


@functools.lru_cache(maxsize=None)
def pca_basis(in_channels: int, levels: int, wavelet: str = "bior4.4") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full PCA (mean, basis, std) of the training images' WPT coefficients.

    Read from the shipped ``ref/moc/linear_pca.safetensors`` (made by :func:`write_shipped`
    with :func:`fit_training_pca`) when it has this (C, J, wavelet); else fitted now.
    """
    key = f"c{in_channels}_j{levels}_{wavelet}"
    if SHIPPED.is_file():
        from safetensors.numpy import load_file

        d = load_file(str(SHIPPED))
        if f"{key}/mean" in d:
            return d[f"{key}/mean"], d[f"{key}/basis"], d[f"{key}/std"]
    return fit_training_pca(in_channels, levels, wavelet)


def write_shipped(path: Path = SHIPPED) -> Path:
    """Fit the PCA of the shipped linear models (RGB and grey, J = 3) and store it."""
    from safetensors.numpy import save_file

    out = {}
    for c in (3, 1):
        mu, V, sd = fit_training_pca(c, 3)
        key = f"c{c}_j3_bior4.4"
        out.update({f"{key}/mean": np.ascontiguousarray(mu), f"{key}/basis": np.ascontiguousarray(V),
                    f"{key}/std": np.ascontiguousarray(sd)})
    save_file(out, str(path), metadata={"made_by": "ref.moc.linear.write_shipped",
                                        "images": "astronaut chelsea coffee rocket immunohistochemistry china flower"})
    return path


def fit_training_pca(in_channels: int, levels: int, wavelet: str = "bior4.4"):
    """PCA of the WPT coefficients of the training images (needs the 'train' extra)."""
    from ref.moc.data import TRAIN_NAMES, load_image

    rows = []
    B = 1 << levels
    for name in TRAIN_NAMES:
        img = load_image(name)
        if in_channels == 1:
            img = np.round(img.astype(np.float64) @ np.array([0.299, 0.587, 0.114]))[..., None]
        h, w = img.shape[0] // B * B, img.shape[1] // B * B
        x = img[:h, :w].astype(np.float64) / 255.0 - 0.5
        y = np.asarray(wpt_forward(jnp.asarray(x), wavelet, levels))
        rows.append(y.reshape(-1, y.shape[-1]))
    return fit_pca(np.concatenate(rows), in_channels * (1 << (2 * levels)))


@implements("moc.C16")
def linear_model(in_channels: int = 3, reduction: int = 16, levels: int = 3, bits: int = 8,
                 name: str | None = None) -> tuple[dict, MocConfig]:
    """(params, cfg) of the PCA model: kernel = V diag(s / std), bias = -mu kernel.

    params = {"encoder": {"kernel", "bias"}, "linear": {"mean", "basis", "gain"}}.
    """
    N = in_channels * (1 << (2 * levels))
    if N % reduction:
        raise ValueError(f"reduction {reduction} does not divide {N}")
    m = N // reduction
    mu, V, sd = pca_basis(in_channels, levels)
    V, sd = V[:, :m], sd[:m]
    gain = compand_scale(bits) / sd
    kernel = V * gain[None, :]
    cfg = MocConfig(name=name or f"linear_{'rgb' if in_channels == 3 else 'gray'}_{reduction}x",
                    levels=levels, in_channels=in_channels, latent_channels=m, latent_bits=bits)
    params = {
        "encoder": {"kernel": jnp.asarray(kernel, jnp.float32),
                    "bias": jnp.asarray(-mu @ kernel, jnp.float32)},
        "linear": {"mean": jnp.asarray(mu, jnp.float32), "basis": jnp.asarray(V, jnp.float32),
                   "gain": jnp.asarray(gain, jnp.float32)},
    }
    return params, cfg


@implements("moc.C16")
def linear_decode(params: dict, e: jnp.ndarray, cfg: MocConfig) -> jnp.ndarray:
    """Expanded latent e (..., M) -> WPT coefficients mu + (e / gain) V^T  (..., N)."""
    lin = params["linear"]
    return lin["mean"] + jnp.matmul(e / lin["gain"], lin["basis"].T)
