"""The resumable training loop every system uses.

``run(...)`` takes a compiled step ``step_fn(params, opt_state, batch, step) ->
(params, opt_state, metrics)`` (metrics: dict of scalars), a data source with
``next() -> batch`` (numpy pytree, leading axis = batch), ``get_state()`` and
``set_state(state)``, and a state path.  If the state file exists, the run continues
from it (params, optimiser state, step, data RNG state); the state is written every
``checkpoint_every`` steps, when a time limit or ``stop_at`` stops the run, and at the end.
Randomness inside a step must derive from ``step`` (e.g. ``jax.random.fold_in(key, step)``)
so that a resumed run draws what the uninterrupted one would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ref.training.checkpoint import load_state, save_state
from ref.training.parallel import data_mesh, describe, replicate, shard_batch
from ref.training.progress import Progress


def run(*, step_fn: Callable, params, opt_state, data, steps: int, state_path, meta: dict | None = None,
        log_every: int = 25, checkpoint_every: int = 250, time_limit_s: float | None = None,
        stop_at: int | None = None, log_path=None, echo=print, devices=None) -> dict:
    """Train to ``steps`` (or until ``stop_at`` / ``time_limit_s``); returns
    {"params", "opt_state", "step", "history", "seconds", "resumed_from", "finished"}."""
    state_path = Path(state_path)
    start = 0
    if state_path.exists():
        params, opt_state, start, saved, _ = load_state(state_path, params, opt_state)
        data.set_state(saved["data"])
        echo(f"resuming from {state_path} at step {start}")
    mesh = data_mesh(devices)
    echo(f"data parallel: {describe(mesh)}")
    params, opt_state = replicate(params, mesh), replicate(opt_state, mesh)
    prog = Progress(steps, start)
    logf = open(log_path, "a") if log_path else None
    hist, acc, n_acc = [], {}, 0
    t0 = time.time()
    step = start

    def save(s):
        save_state(state_path, params, opt_state, s, {"data": data.get_state(), **(meta or {})})

    try:
        while step < steps:
            batch = shard_batch(data.next(), mesh)
            params, opt_state, metrics = step_fn(params, opt_state, batch, step)
            step += 1
            for k, v in metrics.items():
                acc[k] = acc.get(k, 0.0) + float(v)
            n_acc += 1
            if step % log_every == 0 or step == steps:
                line, rec = prog.line(step, {k: v / n_acc for k, v in acc.items()})
                acc, n_acc = {}, 0
                hist.append(rec)
                echo(line)
                if logf:
                    logf.write(json.dumps(rec) + "\n")
                    logf.flush()
            over = (time_limit_s is not None and time.time() - t0 > time_limit_s) or (
                stop_at is not None and step >= stop_at)
            if step % checkpoint_every == 0 or step == steps or over:
                save(step)
            if over:
                echo(f"stopped at step {step} of {steps}; run the same command again to continue")
                break
    finally:
        if logf:
            logf.close()
    return {"params": params, "opt_state": opt_state, "step": step, "history": hist,
            "seconds": time.time() - t0, "resumed_from": start, "finished": step >= steps}


class ArrayStream:
    """Wrap a ``CropStream``-like object (``batch(n)``, ``get_state``, ``set_state``) with
    a fixed batch size and a per-batch transform ``fn(uint8 crops, rng) -> pytree``; ``rng``
    is a second numpy PCG64 generator (e.g. for masks) whose state is saved too."""

    def __init__(self, crops, batch: int, fn: Callable | None = None, seed: int = 0):
        self.crops, self.batch, self.fn = crops, batch, fn
        self.rng = np.random.Generator(np.random.PCG64([seed, 1]))

    def next(self):
        x = self.crops.batch(self.batch)
        return self.fn(x, self.rng) if self.fn else x

    def get_state(self) -> dict:
        return {"crops": self.crops.get_state(), "rng": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self.crops.set_state(state["crops"])
        self.rng.bit_generator.state = state["rng"]
