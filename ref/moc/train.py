"""``codecref train moc``: joint training of the dense 1x1 bottleneck and the ViT decoder.

Recipe (docs/model-card-moc.md records the runs that made the shipped checkpoints):

* data: random ``crop`` x ``crop`` crops of the training split (ref.data.crops.CropStream:
  the corpus' training photographs + the seven bundled ones, image chosen by area, flips,
  large photographs halved); never an evaluation image;
* init: PCA of the WPT coefficients of 256 training crops (float64; a second stream,
  seed + 1): encoder
  kernel = alpha * V_k, bias = -alpha * mu V_k (V_k = top-k eigenvectors, alpha such
  from the quantisation-noise equilibrium of the rate penalty, see pca_init), decoder
  ``skip`` = (s / alpha) V_k^T and ``out_proj.b`` = mu, so that step 0 is the PCA codec;
* loss (moc.loss): MSE(x, x_hat) + lam * R_logstd(c), x_hat decoded from c + U(-1/2, 1/2),
  c = compand(bottleneck(WPT(x)));
* optax AdamW (b1 0.9, b2 0.99, weight decay 1e-4 on matrices), global-norm clip 1,
  linear warm-up (``warmup`` steps) then cosine decay to lr/20.

Everything is seeded: data from numpy PCG64(seed), init and noise from jax.random.key(seed)
(the noise of step s from fold_in(key, s)); the run is resumable (ref.training.loop).
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


def make_step(cfg, lam: float, kind: str, optimizer, key=None):
    """Compiled training step ``(params, opt_state, x, key_or_step) -> (params, opt_state, loss, aux)``.

    With ``key`` given, the step takes uint8 crops (B, S, S, 3) and the step index s, maps
    x = u8 / 255 - 1/2 and draws the noise from jax.random.fold_in(key, s) (what a resumed
    run needs); without it, the old signature (float x, explicit noise key)."""
    from ref.moc.losses import mse, rate_penalty
    from ref.moc.model import decoder_apply, encoder_latent

    def loss_fn(params, x, k):
        c = encoder_latent(params, x, cfg)
        ct = c + jax.random.uniform(k, c.shape, F32, -0.5, 0.5)
        xh = decoder_apply(params, ct, cfg)
        d = mse(x, xh)
        r = rate_penalty(c, kind)
        return d + jnp.asarray(lam, F32) * r, (d, r, jnp.mean(0.5 * jnp.log2(jnp.var(c.reshape(-1, c.shape[-1]), axis=0) + 1e-6)))

    @jax.jit
    def step(params, opt_state, x, k):
        import optax

        if key is not None:
            x = x.astype(F32) / F32(255.0) - F32(0.5)
            k = jax.random.fold_in(key, k)
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, k)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, aux

    return step


def _sources_from_float(images) -> list:
    """(name, (H, W), loader) sources for float32 (H, W, 3) images in [0, 1] (tests)."""
    out = []
    for i, im in enumerate(images):
        u8 = np.clip(np.rint(np.asarray(im, np.float64) * 255), 0, 255).astype(np.uint8)
        out.append((f"image{i}", u8.shape[:2], lambda u8=u8: u8))
    return out


PCA_CROPS = 256  # crops (of the training stream's size, seed + 1) that the PCA init is fitted on


def train(name: str, steps: int, seed: int, out: Path, batch: int = 8, crop: int = 128,
          lr: float = 1e-3, lam: float = 1.5e-4, kind: str = "log_std", warmup: int = 100,
          log_every: int = 25, command: str = "", max_minutes: float = 0.0,
          save_every: int = 200, cfg=None, images=None, corpus=None, stop_at: int | None = None,
          log_path=None, echo=print, init_from=None) -> dict:
    """Train model ``name`` (a key of ref.moc.model.CONFIGS); write the checkpoint to ``out``.

    Data: :class:`ref.data.crops.CropStream` (corpus training split + bundled photographs;
    ``corpus`` overrides the corpus directory).  The resumable state lives in
    ``<out>.state`` (ref.training.checkpoint): rerunning the same command continues a
    stopped run.  ``cfg`` / ``images`` (float32 (H, W, 3) in [0, 1]) override the
    architecture and the training images (tests use tiny ones)."""
    import optax

    from ref.data.crops import CropStream
    from ref.data.datasets import corpus_hint, corpus_train_paths
    from ref.moc.decoder import count_params
    from ref.moc.model import CONFIGS, init_params, save
    from ref.training import loop

    if cfg is None:
        if name not in CONFIGS:
            raise InputError(f"unknown moc model {name!r} (choose from {', '.join(CONFIGS)})")
        cfg = CONFIGS[name]
    t0 = time.time()
    out = Path(out)
    if images is None:
        n_corpus = len(corpus_train_paths(corpus))
        if not n_corpus:
            echo(corpus_hint())
        stream = CropStream(crop, seed, root=corpus)
        pca_stream = CropStream(crop, seed + 1, root=corpus)
        data_desc = f"corpus train split ({n_corpus} photos) + 7 bundled photographs"
    else:
        stream = CropStream(crop, seed, sources=_sources_from_float(images), halve_min_side=0)
        pca_stream = CropStream(crop, seed + 1, sources=_sources_from_float(images), halve_min_side=0)
        data_desc = f"{len(images)} given images"
    key = jax.random.key(seed)
    key, kinit = jax.random.split(key)
    params = init_params(kinit, cfg)
    pca_imgs = list(pca_stream.batch(min(PCA_CROPS, max(8, steps * batch))).astype(np.float32) / 255.0)
    mu, V, ev = pca_basis(cfg, pca_imgs)
    params = pca_init(params, cfg, mu, V, ev, lam)
    if init_from is not None:  # warm start from an earlier checkpoint of the same architecture
        from ref.moc.model import load_file

        p0, c0, _ = load_file(init_from)
        if c0 != cfg:
            raise InputError(f"--init-from {init_from}: another architecture ({c0.name})")
        params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, F32), p0)
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(steps, warmup + 1), lr / 20)
    mask = jax.tree_util.tree_map(lambda a: a.ndim >= 2, params)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0),
                            optax.adamw(sched, b1=0.9, b2=0.99, weight_decay=1e-4, mask=mask))
    opt_state = optimizer.init(params)
    raw = make_step(cfg, lam, kind, optimizer, key=key)

    def step_fn(p, o, x, s):
        p, o, loss, (d, r, ls) = raw(p, o, x, s)
        return p, o, {"loss": loss, "mse": d, "rate": r, "logstd": ls}

    echo(f"moc train {name}: {count_params(params)} params, steps={steps} seed={seed} batch={batch} "
         f"crop={crop} lr={lr} lam={lam} ({kind}); data: {data_desc}; setup {time.time() - t0:.1f}s")
    res = loop.run(step_fn=step_fn, params=params, opt_state=opt_state,
                   data=loop.ArrayStream(stream, batch), steps=steps,
                   state_path=out.with_name(out.name + ".state"), meta={"model": name, "seed": seed},
                   log_every=log_every, checkpoint_every=save_every,
                   time_limit_s=60 * max_minutes if max_minutes else None, stop_at=stop_at,
                   log_path=log_path, echo=echo)
    hist = res["history"]
    final = dict(hist[-1]) if hist else {}
    if "mse" in final:
        final["psnr"] = -10 * math.log10(max(final["mse"], 1e-12))
    wall = time.time() - t0
    record = {
        "model": name, "steps": res["step"], "steps_requested": steps, "seed": seed, "batch": batch, "crop": crop,
        "lr": lr, "lam": lam, "rate_penalty": kind, "warmup": warmup, "data": data_desc,
        "augment": "random crop (image chosen by area), flips; short side >= 1400 halved",
        "wall_s_this_process": round(wall, 1), "resumed_from": res["resumed_from"], "final": final,
        "partial": not res["finished"], "init_from": str(init_from) if init_from else "pca (moc.C23)",
        "command": command or f"codecref train moc --model {name} --steps {steps} --seed {seed} --out {out}",
        "platform": f"{platform.machine()} {os.cpu_count()} cpu, jax {jax.__version__}",
    }
    save(out, jax.device_get(res["params"]), cfg, record)
    echo(f"saved {out} ({Path(out).stat().st_size} bytes) after {wall:.0f}s; step {res['step']} of {steps}")
    return record


# --------------------------------------------------------------------------- evaluation
def fit_linear_synthesis(params, cfg, crops_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares linear synthesis for a trained encoder: (A (Cl, Cw), b (Cw,)) minimising
    || [e, 1] [A; b] - WPT(x) ||^2 over training crops (float64 normal equations), e =
    expand(round(analysis(x))) the decoder's input.  Decoding the same symbols with
    X = e A + b instead of the ViT gives the "linear synthesis at equal rate" baseline."""
    from ref.moc.companding import expand
    from ref.moc.encoder import encode_latent
    from ref.moc.wpt import wpt_forward

    G = np.zeros((cfg.latent_channels + 1,) * 2)
    R = np.zeros((cfg.latent_channels + 1, cfg.wpt_channels))
    for i in range(0, len(crops_u8), 16):
        x = jnp.asarray(crops_u8[i:i + 16].astype(np.float32) / 255.0 - 0.5)
        e = np.asarray(expand(encode_latent(params, x, cfg), cfg.latent_bits), np.float64).reshape(-1, cfg.latent_channels)
        X = np.asarray(wpt_forward(x, cfg.wavelet, cfg.levels, (1, 2)), np.float64).reshape(-1, cfg.wpt_channels)
        E = np.concatenate([e, np.ones((len(e), 1))], axis=1)
        G += E.T @ E
        R += E.T @ X
    sol = np.linalg.solve(G + 1e-9 * np.eye(len(G)), R)
    return sol[:-1].astype(np.float32), sol[-1].astype(np.float32)


def evaluate(model: str, names=None, lossless: str = "webp", checkpoint=None, linear=None) -> list[dict]:
    """RD of one model on the evaluation images through the real codec
    (ref.moc.codec.encode_image / decode_bytes): bpp = 8 * container bytes / (H W)
    (everything counted, moc.C14), the empirical entropy of the latent symbols (per-channel
    histograms, bits per pixel), PSNR and MS-SSIM (ref.core.metrics, uint8, peak 255).
    ``model``: a shipped model or a linear baseline name; ``checkpoint`` overrides the file.
    ``names``: evaluation images (default: ref.data.datasets.eval_names(): the corpus'
    evaluation split downscaled to short side 768, then the bundled evaluation images).
    ``linear``: (A, b) of :func:`fit_linear_synthesis`; adds ``psnr_linear``, the same
    symbols decoded by that linear synthesis (equal rate)."""
    from ref.core.container import unpack
    from ref.core.metrics import ms_ssim, psnr
    from ref.data.datasets import eval_image, eval_names
    from ref.moc import codec
    from ref.moc.encoder import synthesis
    from ref.moc.companding import from_symbols
    from ref.moc.model import decoder_apply, load_file, to_uint8

    if checkpoint is not None:
        params, cfg, _ = load_file(checkpoint)
    else:
        params, cfg, _ = codec.get_model(model)
    dec = jax.jit(decoder_apply, static_argnames=("cfg",))
    if linear is not None:
        A, b = jnp.asarray(linear[0]), jnp.asarray(linear[1])
        lin = jax.jit(lambda q: synthesis(params, q, cfg, lambda p, e, c: e @ A + b))

    def as_image(xh, img):
        rec = to_uint8(xh)[: img.shape[0], : img.shape[1]]
        if img.shape[-1] == 1 and rec.shape[-1] == 3:
            rec = np.rint(rec.astype(np.float32).mean(axis=2, keepdims=True)).astype(np.uint8)
        return rec

    rows = []
    for n in names or eval_names():
        img = eval_image(n)
        data, info = codec.encode_image(img, params, cfg, model=model, lossless=lossless)
        sym = codec.read_symbols(unpack(data, expect_system="moc"))
        if checkpoint is not None:  # decode with the given weights, not the shipped file
            rec = as_image(dec(params, jnp.asarray(from_symbols(sym)), cfg), img)
        else:
            rec = codec.decode_bytes(data)
        h, w = img.shape[:2]
        ent = 0.0
        for c in range(sym.shape[-1]):
            cnt = np.bincount(sym[..., c].ravel(), minlength=256).astype(np.float64)
            p = cnt[cnt > 0] / cnt.sum()
            ent += float(-(p * np.log2(p)).sum() * cnt.sum())
        row = {"model": model, "image": n, "size": f"{w}x{h}", "bytes": len(data),
               "bpp": 8 * len(data) / (h * w), "entropy_bpp": ent / (h * w),
               "multiplier": info.multiplier, "psnr": float(psnr(img, rec)),
               "ms_ssim": float(ms_ssim(img, rec))}
        if linear is not None:
            row["psnr_linear"] = float(psnr(img, as_image(lin(jnp.asarray(from_symbols(sym))), img)))
        rows.append(row)
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
              help="checkpoint path (default: ref/weights/moc_<model>.safetensors); the resumable "
                   "training state is <out>.state")
@click.option("--batch", type=int, default=8, show_default=True, help="crops per step (a multiple of the device count)")
@click.option("--crop", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--lam", type=float, default=None, help="rate-penalty weight (default per model)")
@click.option("--corpus", type=click.Path(file_okay=False), default=None,
              help="photo corpus directory (default $CODECREF_CORPUS or <repo>/corpus)")
@click.option("--init-from", type=click.Path(dir_okay=False, exists=True), default=None,
              help="start from this checkpoint (same architecture) instead of the PCA init")
@click.option("--warmup", type=int, default=100, show_default=True, help="lr warm-up steps")
@click.option("--max-minutes", type=float, default=0.0, help="stop (and save) after this many minutes; 0 = no limit")
@click.option("--stop-at", type=int, default=None, help="stop (and save) at this step of the --steps schedule")
@click.option("--log", "log_path", type=click.Path(dir_okay=False), default=None, help="append JSON lines here")
@click.option("--evaluate", "evaluate_only", is_flag=True,
              help="do not train: RD table on the evaluation images of the checkpoint --out, or of "
                   "the shipped model and its linear (PCA) baseline")
@click.option("--fmt", default="webp", show_default=True, help="lossless stage for --evaluate: webp | png | ans")
@click.option("--linear-synthesis", is_flag=True,
              help="with --evaluate: also decode the same symbols with a least-squares linear synthesis "
                   "fitted on training crops (equal rate)")
@click.option("--images", "image_names", default=None, help="with --evaluate: comma-separated evaluation images")
def train_command(name, steps, seed, out, batch, crop, lr, lam, corpus, init_from, warmup, max_minutes, stop_at, log_path,
                  evaluate_only, fmt, linear_synthesis, image_names):
    """Train a moc model (WPT + dense 1x1 + ViT decoder) on the training split (resumable)."""
    from ref.moc.model import checkpoint_path

    if evaluate_only:
        models = [name, "linear_" + name] if name in ("rgb_16x", "rgb_4x") and not out else [name]
        names = image_names.split(",") if image_names else None
        click.echo(f"{'model':<16}{'image':<42}{'size':>10}{'bytes':>8}{'bpp':>8}{'H bpp':>8}"
                   f"{'PSNR':>8}{'MS-SSIM':>9}" + (f"{'PSNR lin':>9}" if linear_synthesis else ""))
        for m in models:
            lin = None
            if linear_synthesis and not m.startswith("linear_"):
                from ref.data.crops import CropStream
                from ref.moc import codec
                from ref.moc.model import load_file

                p, c, _ = load_file(out) if out else codec.get_model(m)
                lin = fit_linear_synthesis(p, c, CropStream(crop, 12345, root=corpus).batch(256))
            rows = evaluate(m, names, lossless=fmt, checkpoint=out if m == name else None, linear=lin)
            for r in rows:
                click.echo(f"{r['model']:<16}{r['image']:<42}{r['size']:>10}{r['bytes']:>8}{r['bpp']:>8.4f}"
                           f"{r['entropy_bpp']:>8.4f}{r['psnr']:>8.2f}{r['ms_ssim']:>9.4f}"
                           + (f"{r['psnr_linear']:>9.2f}" if 'psnr_linear' in r else ""))
            mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if isinstance(rows[0][k], float)}
            click.echo(f"{m:<16}{'MEAN (' + str(len(rows)) + ' images)':<42}{'':>10}{'':>8}{mean['bpp']:>8.4f}"
                       f"{mean['entropy_bpp']:>8.4f}{mean['psnr']:>8.2f}{mean['ms_ssim']:>9.4f}"
                       + (f"{mean['psnr_linear']:>9.2f}" if 'psnr_linear' in mean else ""))
        return
    if lam is None:
        lam = DEFAULT_LAM.get(name, 3e-4)
    out = Path(out) if out else checkpoint_path(name)
    cmd = (f"codecref train moc --model {name} --steps {steps} --seed {seed} --out {out}"
           + (f" --batch {batch}" if batch != 8 else "") + (f" --crop {crop}" if crop != 128 else "")
           + (f" --lr {lr:g}" if lr != 1e-3 else "") + f" --lam {lam:g}"
           + (f" --init-from {init_from}" if init_from else "") + (f" --warmup {warmup}" if warmup != 100 else ""))
    train(name, steps, seed, out, batch=batch, crop=crop, lr=lr, lam=lam, command=cmd, max_minutes=max_minutes,
          corpus=corpus, init_from=init_from, warmup=warmup, stop_at=stop_at, log_path=log_path, echo=lambda m: click.echo(m))


#: default rate-penalty weights of the shipped models
DEFAULT_LAM = {"rgb_16x": 1.5e-4, "rgb_4x": 5e-5}
