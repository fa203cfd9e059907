"""moc trained models: load/save checkpoints, encoder and decoder application.

A model is ``(params, cfg)``: ``params = {"encoder": <bottleneck params>, "decoder":
<ViT params>}`` (nested dicts of float32 arrays) and ``cfg`` a
:class:`ref.moc.config.MocConfig`.  Checkpoints are ``ref/weights/moc_<name>.safetensors``:
tensors under the flat keys ``encoder/kernel``, ``decoder/block_0/attn/wq``, ... and
safetensors metadata ``config`` (JSON of ``MocConfig.to_dict()``) and ``train`` (JSON
training record: data, steps, seed, command).

Signal convention (moc.C13): the network sees ``x = u8 / 255 - 1/2`` (float32), shape
(..., *S, C) with ``cfg.ndim`` spatial axes before the channel axis; every S_i a
multiple of 2^J (:func:`pad_to_block` pads by symmetric reflection).

    encoder_latent : x -> WPT -> bottleneck -> compand   (= ref.moc.encoder.analysis)
    encoder_apply  : encoder_latent -> quantize (round, or + U(-1/2,1/2) when training)
    decoder_apply  : q -> expand(q) -> [/ s -> ViT] -> inverse WPT -> x_hat
                     (= ref.moc.encoder.synthesis with decode = decoder_net)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.moc.bottleneck import encoder_init
from ref.moc.companding import compand_scale, quantize
from ref.moc.config import MocConfig
from ref.moc.decoder import decoder_forward, init_decoder
from ref.moc.encoder import analysis, synthesis

F32 = jnp.float32
WEIGHTS = Path(__file__).resolve().parents[1] / "weights"

#: shipped models: name -> (checkpoint file, description)
MODELS = {
    "rgb_16x": ("moc_rgb_16x.safetensors", "RGB, J=3 bior4.4, 192 -> 12 latent channels (16x)"),
    "rgb_4x": ("moc_rgb_4x.safetensors", "RGB, J=3 bior4.4, 192 -> 48 latent channels (4x)"),
}
DEFAULT_MODEL = "rgb_16x"

#: the architectures of the shipped models (training starts from these)
CONFIGS = {
    "rgb_16x": MocConfig(name="rgb_16x", latent_channels=12, decoder_dim=96, decoder_depth=2,
                         decoder_heads=4, decoder_mlp_ratio=4, decoder_patch=1),
    "rgb_4x": MocConfig(name="rgb_4x", latent_channels=48, decoder_dim=96, decoder_depth=2,
                        decoder_heads=4, decoder_mlp_ratio=4, decoder_patch=1),
}


def list_models() -> list[str]:
    """Names of the models whose checkpoint ships in ref/weights."""
    return [n for n, (f, _) in MODELS.items() if (WEIGHTS / f).is_file()]


def checkpoint_path(name: str) -> Path:
    if name not in MODELS:
        raise InputError(f"unknown moc model {name!r} (choose from {', '.join(MODELS)})")
    return WEIGHTS / MODELS[name][0]


# --------------------------------------------------------------------------- io
def flatten(params: dict) -> dict[str, np.ndarray]:
    from flax.traverse_util import flatten_dict

    return {k: np.ascontiguousarray(np.asarray(v, np.float32)) for k, v in flatten_dict(params, sep="/").items()}


def unflatten(flat: dict[str, np.ndarray]) -> dict:
    from flax.traverse_util import unflatten_dict

    return unflatten_dict({k: jnp.asarray(v, F32) for k, v in flat.items()}, sep="/")


def save(path: str | Path, params: dict, cfg: MocConfig, train: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint (float32 tensors + JSON metadata)."""
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": "codecref.moc/1", "config": json.dumps(cfg.to_dict(), sort_keys=True)}
    if train is not None:
        meta["train"] = json.dumps(train, sort_keys=True)
    save_file(flatten(params), str(path), metadata=meta)
    return path


def load_file(path: str | Path) -> tuple[dict, MocConfig, dict]:
    """(params, cfg, train record) from a checkpoint file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint")
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        flat = {k: f.get_tensor(k) for k in f.keys()}
    if "config" not in meta:
        raise InputError(f"{path}: not a moc checkpoint (no config metadata)")
    cfg = MocConfig.from_dict(json.loads(meta["config"]))
    return unflatten(flat), cfg, json.loads(meta.get("train", "{}"))


def load(name: str = DEFAULT_MODEL) -> tuple[dict, MocConfig]:
    """Shipped model by name -> (params, cfg)."""
    params, cfg, _ = load_file(checkpoint_path(name))
    return params, cfg


def init_params(key: jax.Array, cfg: MocConfig) -> dict:
    ke, kd = jax.random.split(key)
    return {"encoder": encoder_init(ke, cfg), "decoder": init_decoder(kd, cfg)}


# --------------------------------------------------------------------------- signals
def to_input(img: np.ndarray) -> jax.Array:
    """uint8 signal -> network input x = u8 / 255 - 1/2 (float32) (moc.C13)."""
    return jnp.asarray(np.asarray(img, np.float32) / np.float32(255.0) - np.float32(0.5))


def to_uint8(x: jax.Array) -> np.ndarray:
    """Network output -> uint8: clip(round((x + 1/2) * 255), 0, 255)."""
    return np.clip(np.rint((np.asarray(x, np.float32) + 0.5) * 255.0), 0, 255).astype(np.uint8)


def pad_to_block(x: np.ndarray, cfg: MocConfig) -> tuple[np.ndarray, tuple[int, ...]]:
    """Pad the D spatial axes (before the channel axis) up to multiples of 2^J by symmetric
    reflection; returns (padded, original spatial shape)."""
    D, B = cfg.ndim, cfg.block
    S = x.shape[-1 - D : -1]
    pads = [(0, 0)] * (x.ndim - 1 - D) + [(0, (-s) % B) for s in S] + [(0, 0)]
    return (np.pad(x, pads, mode="symmetric") if any(p[1] for p in pads) else x), tuple(S)


# --------------------------------------------------------------------------- apply
def encoder_latent(params: dict, x: jax.Array, cfg: MocConfig) -> jax.Array:
    """c = compand(bottleneck(WPT(x))) (ref.moc.encoder.analysis): (..., *S, C) ->
    (..., *S/2^J, Cl), float32, in quantisation-step units (before quantisation)."""
    return analysis(params, jnp.asarray(x, F32), cfg)


def encoder_apply(params: dict, x: jax.Array, cfg: MocConfig, *, train: bool = False,
                  key: jax.Array | None = None) -> jax.Array:
    """Encoder with the quantiser: round (inference) or + U(-1/2, 1/2) (train, needs key)."""
    return quantize(encoder_latent(params, x, cfg), train=train, key=key)


@implements("moc.C24")
def decoder_net(params: dict, e: jax.Array, cfg: MocConfig) -> jax.Array:
    """Expanded latent e = expand(q) (..., *G, Cl) -> WPT coefficients (..., *G, Cw).

    The ViT sees e / s (s = companding scale, 127/1.85 for 8 bits, moc.C24); leading
    batch axes are mapped with vmap.  ``params`` holds the ViT under ``"decoder"``.
    """
    z = jnp.asarray(e, F32) / jnp.asarray(compand_scale(cfg.latent_bits), F32)
    lead = z.shape[: z.ndim - 1 - cfg.ndim]
    zf = z.reshape((-1,) + z.shape[len(lead):])
    X = jax.vmap(lambda a: decoder_forward(params["decoder"], a, cfg))(zf)
    return X.reshape(lead + X.shape[1:])


def decoder_apply(params: dict, q: jax.Array, cfg: MocConfig) -> jax.Array:
    """q (..., *G, Cl) -> x_hat (..., *G*2^J, C), float32 (network scale, not clipped):
    ref.moc.encoder.synthesis = inverse WPT of decoder_net(expand(q))."""
    return synthesis(params, jnp.asarray(q, F32), cfg, decoder_net)


def roundtrip(params: dict, img: np.ndarray, cfg: MocConfig) -> tuple[np.ndarray, np.ndarray]:
    """uint8 image (*S, C) -> (integer latent q as int16, decoded uint8 image (*S, C)).
    Pads to a multiple of 2^J by symmetric reflection and crops back."""
    xp, S = pad_to_block(np.asarray(img), cfg)
    q = _enc_jit(params, to_input(xp), cfg)
    xh = _dec_jit(params, q, cfg)
    out = to_uint8(xh)[tuple(slice(0, s) for s in S)]
    return np.asarray(q).astype(np.int16), out


_enc_jit = jax.jit(encoder_apply, static_argnames=("cfg", "train"))
_dec_jit = jax.jit(decoder_apply, static_argnames=("cfg",))
