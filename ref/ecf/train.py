"""``codecref train ecf --quality Q``: rate-distortion training of one ecf quality ([ecf.3a]).

Loss ([ecf.3a], eq. 3a-3b with CompressAI's scaling):

    L = lambda_Q * 255^2 * MSE(x, x_hat) + (bits_y + bits_z) / (B * H * W),   x = u8 / 255

with the training quantiser of [ecf.C7] (:func:`ref.ecf.model.forward_train`).  Optimiser:
Adam (b1 0.9, b2 0.999), global-norm clip 1.0, learning rate ramped linearly from lr/10 to
lr over ``warmup`` steps, then constant.  Data: ``ref.data.crops.CropStream`` (training split
+ bundled photographs; random crops, flips; seeded, resumable).  Init: ``jax.random.key(seed)``
(ref.ecf.model.init_params), or parameters of another ecf run (``--init-from``).

The loop is ``ref.training.loop.run``: the state file (params, optimiser state, step, crop
stream RNG) is written every ``checkpoint_every`` steps and when a time limit stops the run;
the same command continues a stopped run.  ``--export`` turns a state into the shipped
checkpoint ``ref/weights/ecf_q<Q>.safetensors`` (ref.ecf.checkpoint).
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

F32 = jnp.float32
RUNS = Path(os.environ.get("CODECREF_RUNS", "/work/runs")) / "ecf"


def make_optimizer(lr: float, warmup: int):
    import optax

    sched = optax.linear_schedule(lr / 10, lr, max(warmup, 1))
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(sched, b1=0.9, b2=0.999))


def rd_loss(p, cfg, x, key):
    """([ecf.3a]) -> (loss, (mse, bpp)) for x (B, H, W, 3) float32 in [0, 1]."""
    from ref.ecf.model import forward_train

    x_hat, bits_y, bits_z = forward_train(p, cfg, x, key)
    mse = jnp.mean((x - x_hat) ** 2)
    bpp = (bits_y + bits_z) / (x.shape[0] * x.shape[1] * x.shape[2])
    return jnp.asarray(cfg.lam * 255.0**2, F32) * mse + bpp, (mse, bpp)


def make_step(cfg, optimizer, seed: int):
    """Jitted step for ref.training.loop.run: (params, opt_state, uint8 crops (B,S,S,3), step)
    -> (params, opt_state, {"loss", "psnr", "bpp"}).  Noise key = fold_in(key(seed + 1), step)."""
    import optax

    base = jax.random.key(seed + 1)

    @jax.jit
    def step(p, s, crops, i):
        x = crops.astype(F32) / 255.0
        (loss, (mse, bpp)), g = jax.value_and_grad(rd_loss, has_aux=True)(p, cfg, x, jax.random.fold_in(base, i))
        upd, s = optimizer.update(g, s, p)
        return optax.apply_updates(p, upd), s, {"loss": loss, "psnr": -10 * jnp.log10(mse), "bpp": bpp}

    return step


def default_run_dir(quality: int) -> Path:
    return RUNS / f"q{quality}"


def train(quality: int, steps: int, *, seed: int = 0, run_dir: Path | None = None, init_from: str | None = None,
          lr: float = 5e-4, warmup: int = 100, batch: int = 8, crop: int = 128, time_limit_s: float | None = None,
          checkpoint_every: int = 100, log_every: int = 25, command: str = "", corpus_root=None,
          cfg=None, sources=None, stop_at: int | None = None, echo=None) -> dict:
    """Train (or resume) quality ``quality`` up to ``steps`` steps in total.

    run_dir: directory of state.safetensors / log.jsonl (default /work/runs/ecf/q<Q>).
    init_from: a training state of another ecf run to warm-start the parameters from (ignored
    when resuming).  crop: a multiple of 128 ([ecf.C10]).  cfg: an EcfConfig overriding
    config_for(quality) (tests use reduced widths).  sources: CropStream sources (default: the
    training split); stop_at: stop (and save) at this step, as a kill would; echo: progress
    printer (default print).  Returns ref.training.loop.run's dict.
    """
    from ref.core.errors import InputError
    from ref.data.crops import CropStream
    from ref.ecf.model import PAD_MULTIPLE, config_for, count_params, init_params
    from ref.training.checkpoint import load_state
    from ref.training.loop import ArrayStream, run

    if crop % PAD_MULTIPLE:
        raise InputError(f"crop {crop} must be a multiple of {PAD_MULTIPLE} (context-model windows)")
    cfg = cfg or config_for(quality)
    run_dir = Path(run_dir) if run_dir else default_run_dir(quality)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "state.safetensors"
    optimizer = make_optimizer(lr, warmup)
    params = init_params(jax.random.key(seed), cfg)
    opt_state = optimizer.init(params)
    meta = {"system": "ecf", "quality": quality, "config": cfg.to_dict(), "seed": seed, "lr": lr,
            "warmup": warmup, "batch": batch, "crop": crop, "command": command}
    phase = {"from_step": 0, "lr": lr, "batch": batch, "crop": crop, "command": command}
    if state_path.exists():
        _, _, old_step, old_meta, _ = load_state(state_path, params, opt_state)
        meta["phases"] = old_meta.get("phases", []) + [{**phase, "from_step": old_step}]
        if "warm_start" in old_meta:
            meta["warm_start"] = old_meta["warm_start"]
    else:
        meta["phases"] = [phase]
        if init_from:
            params, _, src_step, src_meta, _ = load_state(init_from, params, opt_state)
            params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, F32), params)
            meta["warm_start"] = {"from": str(init_from), "quality": src_meta.get("quality"), "step": src_step}
            print(f"warm start from {init_from} (quality {src_meta.get('quality')}, step {src_step})", flush=True)
    echo = echo or (lambda s: print(s, flush=True))
    data = ArrayStream(CropStream(crop, seed, root=corpus_root, cache_mb=384, sources=sources), batch)
    echo(f"ecf quality {quality}: lambda={cfg.lam} N={cfg.N} M={cfg.M} params={count_params(params)} "
          f"{len(data.crops.sources)} training photos; target {steps} steps")
    return run(step_fn=make_step(cfg, optimizer, seed), params=params, opt_state=opt_state, data=data,
               steps=steps, state_path=state_path, meta=meta, log_every=log_every,
               checkpoint_every=checkpoint_every, time_limit_s=time_limit_s, stop_at=stop_at,
               log_path=run_dir / "log.jsonl", echo=echo)


@click.command("train")
@click.option("--quality", type=int, required=True, help="quality 1..6 (lambda as HCF level Q)")
@click.option("--steps", type=int, default=20000, show_default=True, help="total steps (a stopped run continues)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="state + log directory (default /work/runs/ecf/q<Q>)")
@click.option("--init-from", type=click.Path(dir_okay=False), default=None,
              help="warm start: the state.safetensors of another ecf run (parameters only)")
@click.option("--lr", type=float, default=5e-4, show_default=True)
@click.option("--batch", type=int, default=8, show_default=True)
@click.option("--crop", type=int, default=128, show_default=True, help="crop side (multiple of 128)")
@click.option("--max-minutes", type=float, default=0.0, help="stop (and save) after this many minutes; 0 = no limit")
@click.option("--export", "export", is_flag=True,
              help="do not train: write ref/weights/ecf_q<Q>.safetensors from the run's state")
def train_command(quality, steps, seed, run_dir, init_from, lr, batch, crop, max_minutes, export):
    """Train one ecf quality (eContextformer, GMM k = 3) on the training split."""
    run_dir = Path(run_dir) if run_dir else default_run_dir(quality)
    if export:
        from ref.ecf.checkpoint import export_state

        path = export_state(quality, run_dir / "state.safetensors")
        click.echo(f"wrote {path} ({path.stat().st_size} bytes)")
        return
    cmd = (f"codecref train ecf --quality {quality} --steps {steps} --seed {seed} --lr {lr:g} --batch {batch} "
           f"--crop {crop}" + (f" --init-from {init_from}" if init_from else ""))
    r = train(quality, steps, seed=seed, run_dir=run_dir, init_from=init_from, lr=lr, batch=batch, crop=crop,
              time_limit_s=60 * max_minutes if max_minutes else None, command=cmd)
    click.echo(json.dumps({"step": r["step"], "finished": r["finished"], "seconds": round(r["seconds"], 1)}))


if __name__ == "__main__":  # python -m ref.ecf.train (same options), until ref/ecf/cli.py exists
    train_command()
