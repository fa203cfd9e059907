"""``codecref train hcf --level K``: rate-distortion training of one HCF quality level.

Loss ([hcf.C2], CompressAI's RateDistortionLoss):

    L = lambda_k * 255^2 * MSE(x, x_hat) + (bits_y + bits_z) / (B * H * W),   x = u8 / 255

with the training quantiser of [hcf.2] (:func:`ref.hcf.model.forward_train`).  Optimiser:
Adam (b1 0.9, b2 0.999), global-norm clip 1.0, learning rate ramped linearly from lr/10 to
lr over ``warmup`` steps, then constant.  Data: ``ref.data.crops.CropStream`` (the corpus'
training split + the seven bundled photographs; random crops, flips; seeded, resumable).
Init: ``jax.random.key(seed)``, or warm-started from another level's training state
(``--init-from``: parameters only; fresh optimiser).

The loop is ``ref.training.loop.run``: the state file (params, optimiser state, step, crop
stream RNG) is written every ``checkpoint_every`` steps and when a time limit stops the
run; the same command continues a stopped run.  ``--export`` turns a state into the
shipped checkpoint ``ref/weights/hcf_q<K>.safetensors`` (ref.hcf.checkpoint).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core.errors import InputError

F32 = jnp.float32
RUNS = Path(os.environ.get("CODECREF_RUNS", "/work/runs")) / "hcf"


def make_optimizer(lr: float, warmup: int):
    import optax

    sched = optax.linear_schedule(lr / 10, lr, max(warmup, 1))
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(sched, b1=0.9, b2=0.999))


def make_step(lam: float, optimizer, seed: int):
    """Jitted step for ref.training.loop.run: (params, opt_state, uint8 crops (B,S,S,3), step)
    -> (params, opt_state, {"loss", "psnr", "bpp"}).  Noise key = fold_in(key(seed), step)."""
    import optax

    from ref.hcf.model import forward_train

    base = jax.random.key(seed + 1)

    def loss_fn(p, x, key):
        x_hat, bits_y, bits_z = forward_train(p, x, key)
        mse = jnp.mean((x - x_hat) ** 2)
        bpp = (bits_y + bits_z) / (x.shape[0] * x.shape[1] * x.shape[2])
        return jnp.asarray(lam * 255.0**2, F32) * mse + bpp, (mse, bpp)

    @jax.jit
    def step(p, s, crops, i):
        x = crops.astype(F32) / 255.0
        (loss, (mse, bpp)), g = jax.value_and_grad(loss_fn, has_aux=True)(p, x, jax.random.fold_in(base, i))
        upd, s = optimizer.update(g, s, p)
        return optax.apply_updates(p, upd), s, {"loss": loss, "psnr": -10 * jnp.log10(mse), "bpp": bpp}

    return step


def _warm_start_params(path, params_like, opt_like):
    """(float32 params, step, meta) from a training state or a shipped hcf checkpoint."""
    from safetensors import safe_open

    from ref.training.checkpoint import load_state

    try:
        with safe_open(str(path), "numpy") as f:
            md = f.metadata() or {}
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable training state or checkpoint ({exc})") from None
    if "model" in md:  # a shipped checkpoint (ref.hcf.checkpoint)
        from ref.hcf.checkpoint import load_float_params

        params, md = load_float_params(path)
        train = json.loads(md.get("train", "{}"))
        return params, train.get("step"), {**train, "model": md["model"]}
    params, _, step, meta, _ = load_state(path, params_like, opt_like)
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, F32), params), step, meta


def default_run_dir(level: int) -> Path:
    return RUNS / f"level{level}"


def train(level: int, steps: int, *, seed: int = 0, run_dir: Path | None = None, init_from: str | None = None,
          lr: float = 5e-4, warmup: int = 100, batch: int = 8, crop: int = 128, time_limit_s: float | None = None,
          checkpoint_every: int = 100, log_every: int = 25, command: str = "", corpus_root=None) -> dict:
    """Train (or resume) quality level ``level`` up to ``steps`` steps in total.

    run_dir: directory of state.safetensors / log.jsonl (default /work/runs/hcf/level<K>).
    init_from: a training state of another level to warm-start from (ignored when resuming).
    Returns ref.training.loop.run's result dict.
    """
    from ref.data.crops import CropStream
    from ref.hcf.config import config_for
    from ref.hcf.model import count_params, init_params
    from ref.training.checkpoint import load_state
    from ref.training.loop import ArrayStream, run

    cfg = config_for(level)
    run_dir = Path(run_dir) if run_dir else default_run_dir(level)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "state.safetensors"
    optimizer = make_optimizer(lr, warmup)
    params = init_params(jax.random.key(seed), cfg.N, cfg.M)
    opt_state = optimizer.init(params)
    meta = {"system": "hcf", "level": level, "lam": cfg.lam, "N": cfg.N, "M": cfg.M, "seed": seed, "lr": lr,
            "warmup": warmup, "batch": batch, "crop": crop, "command": command}
    phase = {"from_step": 0, "lr": lr, "batch": batch, "crop": crop, "command": command}
    if state_path.exists():  # resuming: keep the history of earlier phases
        _, _, old_step, old_meta, _ = load_state(state_path, params, opt_state)
        meta["phases"] = old_meta.get("phases", []) + [{**phase, "from_step": old_step}]
        if "warm_start" in old_meta:
            meta["warm_start"] = old_meta["warm_start"]
    else:
        meta["phases"] = [phase]
        if init_from:
            params, src_step, src_meta = _warm_start_params(init_from, params, opt_state)
            meta["warm_start"] = {"from": str(init_from), "level": src_meta.get("level"), "step": src_step}
            print(f"warm start from {init_from} (level {src_meta.get('level')}, step {src_step})", flush=True)
    data = ArrayStream(CropStream(crop, seed, root=corpus_root, cache_mb=384), batch)
    print(f"hcf level {level}: lambda={cfg.lam} N={cfg.N} M={cfg.M} params={count_params(params)} "
          f"{len(data.crops.sources)} training photos; target {steps} steps", flush=True)
    return run(step_fn=make_step(cfg.lam, optimizer, seed), params=params, opt_state=opt_state, data=data,
               steps=steps, state_path=state_path, meta=meta, log_every=log_every,
               checkpoint_every=checkpoint_every, time_limit_s=time_limit_s, log_path=run_dir / "log.jsonl",
               echo=lambda s: print(s, flush=True))


@click.command("train")
@click.option("--level", type=int, required=True, help="quality level 1..6")
@click.option("--steps", type=int, default=20000, show_default=True, help="total steps (a stopped run continues)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="state + log directory (default /work/runs/hcf/level<K>)")
@click.option("--init-from", type=click.Path(dir_okay=False), default=None,
              help="warm start: a training state or shipped checkpoint (ref/weights/hcf_q<K>.safetensors)")
@click.option("--lr", type=float, default=5e-4, show_default=True)
@click.option("--batch", type=int, default=8, show_default=True)
@click.option("--crop", type=int, default=128, show_default=True)
@click.option("--max-minutes", type=float, default=0.0, help="stop (and save) after this many minutes; 0 = no limit")
@click.option("--export", "export", is_flag=True,
              help="do not train: write ref/weights/hcf_q<K>.safetensors from the run's state")
def train_command(level, steps, seed, run_dir, init_from, lr, batch, crop, max_minutes, export):
    """Train one HCF quality level (mean-scale hyperprior base codec) on the training split."""
    run_dir = Path(run_dir) if run_dir else default_run_dir(level)
    if export:
        from ref.hcf.checkpoint import export_state

        path = export_state(level, run_dir / "state.safetensors")
        click.echo(f"wrote {path} ({path.stat().st_size} bytes)")
        return
    cmd = (f"codecref train hcf --level {level} --steps {steps} --seed {seed} --lr {lr:g} --batch {batch} "
           f"--crop {crop}" + (f" --init-from {init_from}" if init_from else ""))
    r = train(level, steps, seed=seed, run_dir=run_dir, init_from=init_from, lr=lr, batch=batch, crop=crop,
              time_limit_s=60 * max_minutes if max_minutes else None, command=cmd)
    click.echo(json.dumps({"step": r["step"], "finished": r["finished"], "seconds": round(r["seconds"], 1)}))
