"""``codecref train moc``: joint training of the dense 1x1 bottleneck and the ViT decoder.

Recipe (docs/model-card-moc.md records the runs that made the shipped checkpoints):

* data: random ``crop`` x ``crop`` crops (flips, pyramid scales 1, 0.75, 0.5) of the seven
  training photographs of :mod:`ref.moc.data`; never the evaluation images;
* init: PCA of the training images' WPT coefficients (float64, scale 1 only): encoder
  kernel = alpha * V_k, bias = -alpha * mu V_k (V_k = top-k eigenvectors, alpha such
  from the quantisation-noise equilibrium of the rate penalty, see pca_init), decoder
  ``skip`` = (s / alpha) V_k^T and ``out_proj.b`` = mu, so that step 0 is the PCA codec;
* loss (moc.loss): MSE(x, x_hat) + lam * R_logstd(c), x_hat decoded from c + U(-1/2, 1/2),
  c = compand(bottleneck(WPT(x)));
* optax AdamW (b1 0.9, b2 0.99, weight decay 1e-4 on matrices), global-norm clip 1,
  linear warm-up (``warmup`` steps) then cosine decay to lr/20.

Everything is seeded: data from numpy PCG64(seed), init and noise from jax.random.key(seed).
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path

import click
import jax
import jax.numpy as jnp
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

F32 = jnp.float32


def pca_basis(cfg, images) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu (Cw,), V (Cw, Cw) eigenvectors by decreasing eigenvalue, eigenvalues) of the WPT
    coefficients of ``images`` (float32 (H, W, 3) in [0, 1]), float64."""
    from ref.moc.wpt import wpt_forward

    B = cfg.block
    acc = np.zeros((cfg.wpt_channels, cfg.wpt_channels))
    s1 = np.zeros(cfg.wpt_channels)
    n = 0
    for im in images:
        h, w = im.shape[0] // B * B, im.shape[1] // B * B
        X = np.asarray(wpt_forward(jnp.asarray(im[:h, :w] - 0.5, jnp.float64), cfg.wavelet, cfg.levels, (0, 1)))
        X = X.reshape(-1, cfg.wpt_channels)
        acc += X.T @ X
        s1 += X.sum(0)
        n += X.shape[0]
    mu = s1 / n
    cov = acc / n - np.outer(mu, mu)
    ev, V = np.linalg.eigh(cov)
    order = np.argsort(ev)[::-1]
    return mu, V[:, order], ev[order]


@implements("moc.C23")
def pca_init(params: dict, cfg, mu, V, ev, lam: float) -> dict:
    """Overwrite encoder kernel/bias, decoder skip and out_proj bias with the PCA codec."""
    from ref.moc.companding import compand_scale, latent_max

    if cfg.bottleneck != "dense" or cfg.decoder_patch != 1:
        return params
    k = cfg.latent_channels
    s = compand_scale(cfg.latent_bits)
    # alpha: the quantisation noise U(-1/2,1/2) in the companded domain, mapped back through
    # expand (slope g = s sqrt(2 pi) / (2 Lmax) at 0) and the PCA synthesis, costs a pixel
    # MSE of k g^2 / (12 alpha^2 Cw); start where that equals lam / (2 ln 2), the
    # equilibrium of the log-std penalty (each bit less per channel quadruples the noise).
    g = s * math.sqrt(2 * math.pi) / (2 * latent_max(cfg.latent_bits))
    alpha = math.sqrt(k * g * g / 12 / (cfg.wpt_channels * lam / (2 * math.log(2))))
    Vk = V[:, :k]
    enc = dict(params["encoder"])
    enc["kernel"] = jnp.asarray(alpha * Vk, F32)
    if "bias" in enc:
        enc["bias"] = jnp.asarray(-alpha * (mu @ Vk), F32)
    dec = dict(params["decoder"])
    dec["skip"] = {"w": jnp.asarray((s / alpha) * Vk.T, F32)}
    dec["out_proj"] = {"w": dec["out_proj"]["w"], "b": jnp.asarray(mu, F32)}
    return {"encoder": enc, "decoder": dec}


def make_step(cfg, lam: float, kind: str, optimizer):
    from ref.moc.losses import mse, rate_penalty
    from ref.moc.model import decoder_apply, encoder_latent

    def loss_fn(params, x, key):
        c = encoder_latent(params, x, cfg)
        ct = c + jax.random.uniform(key, c.shape, F32, -0.5, 0.5)
        xh = decoder_apply(params, ct, cfg)
        d = mse(x, xh)
        r = rate_penalty(c, kind)
        return d + jnp.asarray(lam, F32) * r, (d, r, jnp.mean(0.5 * jnp.log2(jnp.var(c.reshape(-1, c.shape[-1]), axis=0) + 1e-6)))

    @jax.jit
    def step(params, opt_state, x, key):
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        import optax

        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, aux

    return step


def train(name: str, steps: int, seed: int, out: Path, batch: int = 8, crop: int = 128,
          lr: float = 1e-3, lam: float = 1.5e-4, kind: str = "log_std", warmup: int = 100,
          log_every: int = 25, command: str = "", max_minutes: float = 0.0,
          save_every: int = 200, cfg=None, images=None) -> dict:
    """Train model ``name`` (a key of ref.moc.model.CONFIGS); write the checkpoint to ``out``.

    ``cfg`` / ``images`` (float32 (H, W, 3) in [0, 1]) override the architecture and the
    training pyramid (tests use tiny ones)."""
    import optax

    from ref.moc.data import TRAIN_NAMES, TRAIN_SCALES, CropSampler, train_pyramid
    from ref.moc.decoder import count_params
    from ref.moc.model import CONFIGS, init_params, save

    if cfg is None:
        if name not in CONFIGS:
            raise InputError(f"unknown moc model {name!r} (choose from {', '.join(CONFIGS)})")
        cfg = CONFIGS[name]
    t0 = time.time()
    pyramid = train_pyramid() if images is None else list(images)
    sampler = CropSampler(pyramid, crop, seed)
    key = jax.random.key(seed)
    key, kinit = jax.random.split(key)
    params = init_params(kinit, cfg)
    mu, V, ev = pca_basis(cfg, pyramid[:: len(TRAIN_SCALES)] if images is None else pyramid)
    params = pca_init(params, cfg, mu, V, ev, lam)
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(steps, warmup + 1), lr / 20)
    mask = jax.tree_util.tree_map(lambda a: a.ndim >= 2, params)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0),
                            optax.adamw(sched, b1=0.9, b2=0.99, weight_decay=1e-4, mask=mask))
    opt_state = optimizer.init(params)
    step = make_step(cfg, lam, kind, optimizer)
    print(f"moc train {name}: {count_params(params)} params, steps={steps} seed={seed} batch={batch} "
          f"crop={crop} lr={lr} lam={lam} ({kind}); setup {time.time() - t0:.1f}s", flush=True)
    hist = []
    ema = None
    t1 = time.time()
    done = 0
    for i in range(1, steps + 1):
        if max_minutes and time.time() - t1 > 60 * max_minutes:
            print(f"time limit {max_minutes} min reached after {done} steps", flush=True)
            break
        x = jnp.asarray(sampler.batch(batch) - np.float32(0.5))
        key, k = jax.random.split(key)
        params, opt_state, loss, (d, r, ls) = step(params, opt_state, x, k)
        if i % log_every == 0 or i == 1 or i == steps:
            d = float(d)
            ema = d if ema is None else 0.8 * ema + 0.2 * d
            rec = {"step": i, "loss": float(loss), "mse": d, "psnr": -10 * math.log10(max(d, 1e-12)),
                   "rate": float(r), "logstd": float(ls), "t": round(time.time() - t1, 1)}
            hist.append(rec)
            print(json.dumps(rec), flush=True)
        done = i
        if save_every and i % save_every == 0 and i < steps:
            save(out, jax.device_get(params), cfg, {"model": name, "partial": True, "step": i, "seed": seed})
    wall = time.time() - t0
    record = {
        "model": name, "steps": done, "steps_requested": steps, "seed": seed, "batch": batch, "crop": crop, "lr": lr,
        "lam": lam, "rate_penalty": kind, "warmup": warmup, "data": list(TRAIN_NAMES),
        "scales": list(TRAIN_SCALES), "wall_s": round(wall, 1), "final": hist[-1] if hist else {},
        "command": command or f"codecref train moc --model {name} --steps {steps} --seed {seed} --out {out}",
        "platform": f"{platform.machine()} {os.cpu_count()} cpu, jax {jax.__version__}",
    }
    save(out, jax.device_get(params), cfg, record)
    print(f"saved {out} ({Path(out).stat().st_size} bytes) after {wall:.0f}s", flush=True)
    return record


# --------------------------------------------------------------------------- evaluation
def evaluate(model: str, names=None, lossless: str = "webp", checkpoint=None) -> list[dict]:
    """RD of one model on the evaluation images through the real codec
    (ref.moc.codec.encode_image / decode_bytes): bpp = 8 * container bytes / (H W)
    (everything counted, moc.C14), the empirical entropy of the latent symbols (per-channel
    histograms, bits per pixel), PSNR and MS-SSIM (ref.core.metrics, uint8, peak 255).
    ``model``: a shipped model or a linear baseline name; ``checkpoint`` overrides the file."""
    from ref.core.container import unpack
    from ref.core.metrics import ms_ssim, psnr
    from ref.moc import codec
    from ref.moc.data import EVAL_GRAY, EVAL_RGB, load_image
    from ref.moc.model import load_file

    if checkpoint is not None:
        params, cfg, _ = load_file(checkpoint)
    else:
        params, cfg, _ = codec.get_model(model)
    rows = []
    for n in names or (EVAL_RGB + EVAL_GRAY):
        img = load_image(n)
        data, info = codec.encode_image(img, params, cfg, model=model, lossless=lossless)
        if checkpoint is not None:  # decode with the given weights, not the shipped file
            from ref.moc.companding import from_symbols
            from ref.moc.model import decoder_apply, to_uint8

            sym = codec.read_symbols(unpack(data, expect_system="moc"))
            xh = jax.jit(decoder_apply, static_argnames=("cfg",))(params, jnp.asarray(from_symbols(sym)), cfg)
            rec = to_uint8(xh)[: img.shape[0], : img.shape[1]]
            if img.shape[-1] == 1 and rec.shape[-1] == 3:
                rec = np.rint(rec.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8)
        else:
            rec = codec.decode_bytes(data)
            sym = codec.read_symbols(unpack(data, expect_system="moc"))
        h, w = img.shape[:2]
        ent = 0.0
        for c in range(sym.shape[-1]):
            cnt = np.bincount(sym[..., c].ravel(), minlength=256).astype(np.float64)
            p = cnt[cnt > 0] / cnt.sum()
            ent += float(-(p * np.log2(p)).sum() * cnt.sum())
        rows.append({"model": model, "image": n, "size": f"{w}x{h}", "bytes": len(data),
                     "bpp": 8 * len(data) / (h * w), "entropy_bpp": ent / (h * w),
                     "multiplier": info.multiplier, "psnr": float(psnr(img, rec)),
                     "ms_ssim": float(ms_ssim(img, rec))})
    return rows


def rd_table(models=("rgb_16x", "linear_rgb_16x", "rgb_4x", "linear_rgb_4x"), lossless="webp") -> list[dict]:
    rows = []
    for m in models:
        rows += evaluate(m, lossless=lossless)
    return rows


@click.command("train")
@click.option("--model", "name", default="rgb_16x", show_default=True, help="rgb_16x | rgb_4x")
@click.option("--steps", type=int, default=1800, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="checkpoint path (default: ref/weights/moc_<model>.safetensors)")
@click.option("--batch", type=int, default=8, show_default=True)
@click.option("--crop", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--lam", type=float, default=None, help="rate-penalty weight (default per model)")
@click.option("--max-minutes", type=float, default=0.0, help="stop (and save) after this many minutes; 0 = no limit")
@click.option("--evaluate", "evaluate_only", is_flag=True,
              help="do not train: RD table on the evaluation images of the checkpoint --out, or of "
                   "the shipped model and its linear (PCA) baseline")
@click.option("--fmt", default="webp", show_default=True, help="lossless stage for --evaluate: webp | png | ans")
def train_command(name, steps, seed, out, batch, crop, lr, lam, max_minutes, evaluate_only, fmt):
    """Train a moc model (WPT + dense 1x1 + ViT decoder) on the bundled training photos."""
    from ref.moc.model import checkpoint_path, load_file

    if evaluate_only:
        models = [name, "linear_" + name] if name in ("rgb_16x", "rgb_4x") and not out else [name]
        click.echo(f"{'model':<16}{'image':<19}{'size':>10}{'bytes':>8}{'bpp':>8}{'H bpp':>8}"
                   f"{'PSNR':>8}{'MS-SSIM':>9}")
        for m in models:
            for r in evaluate(m, lossless=fmt, checkpoint=out if m == name else None):
                click.echo(f"{r['model']:<16}{r['image']:<19}{r['size']:>10}{r['bytes']:>8}{r['bpp']:>8.4f}"
                           f"{r['entropy_bpp']:>8.4f}{r['psnr']:>8.2f}{r['ms_ssim']:>9.4f}")
        return
    if lam is None:
        lam = DEFAULT_LAM.get(name, 3e-4)
    out = Path(out) if out else checkpoint_path(name)
    cmd = (f"codecref train moc --model {name} --steps {steps} --seed {seed} --out {out}"
           + (f" --batch {batch}" if batch != 8 else "") + (f" --crop {crop}" if crop != 128 else "")
           + (f" --lr {lr:g}" if lr != 1e-3 else "") + f" --lam {lam:g}")
    train(name, steps, seed, out, batch=batch, crop=crop, lr=lr, lam=lam, command=cmd, max_minutes=max_minutes)


#: default rate-penalty weights of the shipped models
DEFAULT_LAM = {"rgb_16x": 1.5e-4, "rgb_4x": 5e-5}
