"""``codecref train hcf-cascade``: training of the cascade (paper 001, Sec. 3.3, eqs. 11-13).

Phase 1, transform modules (eqs. 11, 12).  For k = s down to d + 1, first phi^intra_{k->k-1},
then phi^inter_{k->k-1}; one module at a time, every base-codec network and every module
trained before it frozen (only the current module's parameters reach the optimiser):

    L = mean((phi(y_in) - g_a^{k-1}(x))^2),   y_in = y~^k (intra) or Q^k(y~^k) (inter)
    y~^k = F^pi_{s->k}(g_a^s(x)) with pi drawn per crop ([hcf.train_policy], :func:`training_latent`)

Phase 2, fine-tuning (eq. 13, ``--finetune``): for k = s down to d, g_s^k and level k's
hyperprior (h_a, h_s, the z prior) on the cascade's latents y~^k (same policy draw), with
L_RD^k of ref.hcf.cascade_loss.finetune_loss; g_a^s, every module and every other level frozen
(a level fine-tuned earlier in the run is used as fine-tuned).  Its checkpoints stay in the run
directory (``hcf_q<k>_finetuned.safetensors`` with ``--export``); they are not shipped.

Every stage is one ``ref.training.loop.run`` with its own state file under the run directory
(``phi<k>_<kind>/state.safetensors``, ``finetune_q<k>/state.safetensors``) and its own crop
stream (``ref.data.crops.CropStream``, training split only); a stopped process (time limit,
kill) continues where it stopped when the same command runs again: finished stages are
skipped, the interrupted one resumes from its last state.  The run records the identity
(``model``) of every base level it uses and refuses to continue on other base weights.

Optimiser (informative, the shipped modules are defined by their weights): Adam (0.9, 0.999),
global-norm clip 1.0, learning rate ramped linearly from lr/10 to lr over ``warmup`` steps;
module init ``init_phi(fold_in(key(seed), 10 k + {intra: 0, inter: 1}))`` (ref.hcf.transform);
policy draws ``bernoulli(fold_in(key(seed + 7), step), 1/2)``; crops ``CropStream(crop,
seed + 10 k + {0, 1})`` (fine-tuning: ``seed + 100 + k``).

``--export`` writes ``ref/weights/hcf_cascade.safetensors`` (ref.hcf.cascade_checkpoint.save)
with the base-model identities of levels d..s and the training record.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Mapping

import click
import numpy as np

from ref.core import runtime as _runtime

_runtime.configure_jax()

import jax  # noqa: E402
import jax.numpy as jnp

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.hcf.transform import PROCESS_TYPES
from ref.hcf.transform import phi as _phi

F32 = jnp.float32
RUNS = Path(os.environ.get("CODECREF_RUNS", "/work/runs")) / "hcf-cascade"
KIND_INDEX = {"intra": 0, "inter": 1}

__all__ = ["training_latent", "module_order", "train_modules", "finetune", "export", "evaluate_module",
           "eval_crops", "rd_versus_direct", "train_command"]


# --------------------------------------------------------------------------- the pinned choice
@implements("hcf.train_policy")
def training_latent(bits, y_s, s: int, k: int, modules: Mapping[int, Mapping[str, dict]], transmit: Callable,
                    phi_fn: Callable = _phi):
    """y~^k = F^{pi(b)}_{s->k}(y_s[b]) for every crop b, each with its own policy prefix
    ([hcf.train_policy]; eq. 9 per crop):

        y <- y_s;  for j = s .. k+1:  y[b] <- pi_j(b) ? phi^inter_j(Q^j(y))[b] : phi^intra_j(y)[b]

    bits: int/bool (B, s - k), bits[b, s - j] = pi_j of crop b (1: inter-node process, eq. 6;
    0: intra, eq. 7).  y_s: (B, h, w, M_s) float32 = g_a^s(x).  modules: {j: {"inter", "intra"}}
    for j = s .. k+1 (frozen).  transmit: (j, y) -> y_hat^j (ref.hcf.cascade.training_transmit
    in training).  Returns (B, h, w, M_k) float32 (y_s when k = s).  Both processes are
    evaluated on the whole batch and the crop's own one is kept (jit-able, one graph for all
    policies).
    """
    if not s >= k:
        raise InputError(f"need s >= k, got s={s}, k={k}")
    if tuple(bits.shape[1:]) != (s - k,):
        raise InputError(f"policy bits must be (B, {s - k}), got {tuple(bits.shape)}")
    y = y_s
    for j in range(s, k, -1):
        inter = phi_fn(modules[j]["inter"], transmit(j, y))
        intra = phi_fn(modules[j]["intra"], y)
        y = jnp.where(jnp.asarray(bits[:, s - j], bool)[:, None, None, None], inter, intra)
    return y


def draw_policy_bits(seed: int, step, batch: int, n: int):
    """Policy prefixes of one training step: bernoulli(fold_in(key(seed + 7), step), 1/2) of
    shape (batch, n), int32 ([hcf.train_policy]: each pi_j of each crop 0 or 1 with
    probability 1/2, independently)."""
    return jax.random.bernoulli(jax.random.fold_in(jax.random.key(seed + 7), step), 0.5, (batch, n)).astype(jnp.int32)


def module_order(s: int, d: int) -> list[tuple[int, str]]:
    """Training order of phase 1: [(s, "intra"), (s, "inter"), (s-1, "intra"), ..., (d+1, "inter")]."""
    if not (isinstance(s, int) and isinstance(d, int) and 6 >= s > d >= 1):
        raise InputError(f"need 6 >= s > d >= 1, got s={s!r}, d={d!r}")
    return [(k, kind) for k in range(s, d, -1) for kind in ("intra", "inter")]


# --------------------------------------------------------------------------- helpers
def make_optimizer(lr: float, warmup: int):
    import optax

    sched = optax.linear_schedule(lr / 10, lr, max(warmup, 1))
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(sched, b1=0.9, b2=0.999))


def init_module(seed: int, k: int, kind: str, widths: Mapping[int, int]) -> dict:
    from ref.hcf.transform import init_phi

    key = jax.random.fold_in(jax.random.key(seed), 10 * k + KIND_INDEX[kind])
    return init_phi(key, widths[k], widths[k - 1])


def _stage_dir(run_dir: Path, k: int, kind: str) -> Path:
    return Path(run_dir) / f"phi{k}_{kind}"


def _read_meta(state_path: Path) -> tuple[int, dict]:
    from safetensors import safe_open

    try:
        with safe_open(str(state_path), "numpy") as f:
            st = json.loads((f.metadata() or {})["state"])
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{state_path}: not a readable training state ({exc})") from None
    return int(st["step"]), st["meta"]


def _f32_tree(tree):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, F32), tree)


def load_module(run_dir: Path, k: int, kind: str, widths: Mapping[int, int], lr: float = 1e-3,
                warmup: int = 1) -> tuple[dict, int, dict]:
    """(phi params, step, meta) of a module's training state in ``run_dir``."""
    from ref.training.checkpoint import load_state

    path = _stage_dir(run_dir, k, kind) / "state.safetensors"
    if not path.is_file():
        raise InputError(f"{path}: module phi_{{{k}->{k - 1}}}^{kind} has no training state")
    like = init_module(0, k, kind, widths)
    params, _, step, meta, _ = load_state(path, like, make_optimizer(lr, warmup).init(like))
    return _f32_tree(params), step, meta


def _base_ids(levels: Mapping[int, object], s: int, d: int) -> dict[str, str]:
    return {str(j): levels[j].model_id for j in range(d, s + 1)}


def _check_base(meta: dict, ids: dict[str, str], where) -> None:
    old = meta.get("base_models")
    if old is not None and old != ids:
        diff = [f"level {j}: run {old.get(j)!r}, now {ids.get(j)!r}" for j in sorted(set(old) | set(ids))
                if old.get(j) != ids.get(j)]
        raise InputError(f"{where} was trained against other base-codec weights ({'; '.join(diff)}); "
                         "start a new --run-dir")


def shipped_levels(s: int, d: int) -> dict[int, object]:
    """{level: HcfModel} of the shipped base checkpoints d..s (ref.hcf.checkpoint.load)."""
    from ref.hcf.checkpoint import load

    return {j: load(j) for j in range(d, s + 1)}


# --------------------------------------------------------------------------- phase 1: modules
def make_module_step(k: int, kind: str, s: int, optimizer, seed: int, frozen: dict, batch: int):
    """Jitted step for ref.training.loop.run: (phi params, opt state, uint8 crops (B, S, S, 3),
    step) -> (params, opt state, {"loss"}).  frozen: {"g_a_s", "g_a_t", "hyper": {j: ...},
    "modules": {j: pair}} (passed as an argument, never differentiated)."""
    import optax

    from ref.hcf.cascade import training_transmit
    from ref.hcf.cascade_loss import distillation_loss, module_input
    from ref.hcf.model import analysis

    @jax.jit
    def _step(p, st, crops, i, fz):
        x = crops.astype(F32) / 255.0
        tr = training_transmit(fz["hyper"])
        bits = draw_policy_bits(seed, i, crops.shape[0], s - k)
        y_k = training_latent(bits, analysis({"g_a": fz["g_a_s"]}, x), s, k, fz["modules"], tr)
        y_in = jax.lax.stop_gradient(module_input(kind, y_k, k, tr))
        target = jax.lax.stop_gradient(analysis({"g_a": fz["g_a_t"]}, x))
        loss, g = jax.value_and_grad(distillation_loss)(p, y_in, target)
        upd, st = optimizer.update(g, st, p)
        return optax.apply_updates(p, upd), st, {"loss": loss}

    return lambda p, st, crops, i: _step(p, st, crops, i, frozen)


def _frozen_for(levels, modules, s: int, k: int) -> dict:
    return {"g_a_s": _f32_tree(levels[s].params["g_a"]), "g_a_t": _f32_tree(levels[k - 1].params["g_a"]),
            "hyper": {j: _f32_tree(levels[j].params["hyper"]) for j in range(s, k - 1, -1)},
            "modules": {j: modules[j] for j in range(s, k, -1)}}


def train_modules(*, s: int = 6, d: int = 1, steps_per_module: int = 200, run_dir: Path | None = None,
                  levels: Mapping[int, object] | None = None, seed: int = 0, lr: float = 1e-3, warmup: int = 20,
                  batch: int = 8, crop: int = 256, max_seconds: float | None = None, stop_after: int | None = None,
                  checkpoint_every: int = 50, log_every: int = 10, sources=None, eval_images=None,
                  command: str = "", echo: Callable = print) -> dict:
    """Phase 1 (eqs. 11, 12): train or resume every module of :func:`module_order` to
    ``steps_per_module`` steps.

    levels: {level: HcfModel-like (.params, .model_id)} for d..s (default: the shipped ones).
    run_dir: stage states and logs (default /work/runs/hcf-cascade).  max_seconds: wall-clock
    budget of this call (the running stage saves and stops; the next call continues).
    stop_after: stop the running stage at this step (tests: simulate a kill after a save).
    sources: CropStream sources override (tests).  eval_images: uint8 (n, S, S, 3) held-out
    crops; when given, each finished module gets eval.json (:func:`evaluate_module`).
    Returns {"modules": {k: {kind: params}} trained so far, "finished": bool, "steps": {...}}.
    """
    from ref.data.crops import CropStream
    from ref.training.loop import ArrayStream, run

    run_dir = Path(run_dir) if run_dir else RUNS
    run_dir.mkdir(parents=True, exist_ok=True)
    levels = levels if levels is not None else shipped_levels(s, d)
    widths = {j: int(levels[j].params["g_a"]["conv3"]["w"].shape[3]) for j in range(d, s + 1)}
    ids = _base_ids(levels, s, d)
    t_end = None if max_seconds is None else time.time() + max_seconds
    modules: dict[int, dict] = {}
    steps: dict[str, int] = {}
    optimizer = make_optimizer(lr, warmup)
    prev_crops = None
    for k, kind in module_order(s, d):
        sdir = _stage_dir(run_dir, k, kind)
        state = sdir / "state.safetensors"
        tag = f"phi{k}_{kind}"
        if state.is_file():
            step0, meta0 = _read_meta(state)
            _check_base(meta0, ids, state)
            if step0 >= steps_per_module:
                p, _, _ = load_module(run_dir, k, kind, widths, lr, warmup)
                modules.setdefault(k, {})[kind] = p
                steps[tag] = step0
                if eval_images is not None and not (sdir / "eval.json").is_file():
                    _write_eval(sdir, levels, modules, s, k, kind, widths, seed, eval_images, echo)
                continue
        remaining = None if t_end is None else t_end - time.time()
        if remaining is not None and remaining <= 0:
            echo(f"{tag}: time budget spent; run the same command again to continue")
            return {"modules": modules, "finished": False, "steps": steps}
        sdir.mkdir(parents=True, exist_ok=True)
        params = init_module(seed, k, kind, widths)
        meta = {"system": "hcf-cascade", "stage": "module", "k": k, "kind": kind, "s": s, "d": d, "seed": seed,
                "lr": lr, "warmup": warmup, "batch": batch, "crop": crop, "steps": steps_per_module,
                "base_models": ids, "command": command}
        crops = CropStream(crop, seed + 10 * k + KIND_INDEX[kind], sources=sources, cache_mb=640)
        if prev_crops is not None:  # same photographs: keep the decoded images (the draws are the stream's own)
            crops.cache, crops.cache_bytes = prev_crops.cache, prev_crops.cache_bytes
        prev_crops = crops
        step_fn = make_module_step(k, kind, s, optimizer, seed, _frozen_for(levels, modules, s, k), batch)
        echo(f"{tag}: phi_{{{k}->{k - 1}}}^{kind} ({widths[k]} -> {widths[k - 1]} channels), "
             f"{len(crops.sources)} training photos, target {steps_per_module} steps")
        r = run(step_fn=step_fn, params=params, opt_state=optimizer.init(params), data=ArrayStream(crops, batch),
                steps=steps_per_module, state_path=state, meta=meta, log_every=log_every,
                checkpoint_every=checkpoint_every, time_limit_s=remaining, stop_at=stop_after,
                log_path=sdir / "log.jsonl", echo=lambda m, tag=tag: echo(f"{tag}: {m}"))
        steps[tag] = r["step"]
        if not r["finished"]:
            return {"modules": modules, "finished": False, "steps": steps}
        modules.setdefault(k, {})[kind] = _f32_tree(jax.device_get(r["params"]))
        if eval_images is not None:
            _write_eval(sdir, levels, modules, s, k, kind, widths, seed, eval_images, echo)
    return {"modules": modules, "finished": True, "steps": steps}


# --------------------------------------------------------------------------- evaluation
def eval_crops(n: int = 8, size: int = 256) -> np.ndarray:
    """Held-out crops: the centre size x size crop of each of the first ``n`` evaluation
    images (ref.hcf.evaluate.eval_set; never a training image).  uint8 (n', size, size, 3)."""
    from ref.data.datasets import eval_image
    from ref.hcf.evaluate import eval_set

    names, _ = eval_set()
    out = []
    for name in names:
        img = eval_image(name)
        if img.ndim == 2:
            img = img[..., None]
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        h, w = img.shape[:2]
        if min(h, w) < size:
            continue
        y, x = (h - size) // 2, (w - size) // 2
        out.append(img[y:y + size, x:x + size, :3])
        if len(out) == n:
            break
    if not out:
        raise InputError(f"no evaluation image is at least {size} px on its short side")
    return np.stack(out).astype(np.uint8)


def evaluate_module(phi_params: dict, kind: str, k: int, s: int, levels, modules, images: np.ndarray,
                    chunk: int = 4) -> dict:
    """Distillation MSE of one module on held-out crops, for the two pure policy prefixes
    (all intra: pi_j = 0, all inter: pi_j = 1 for j = s..k+1) with the coded transmission
    (ref.hcf.cascade.coded_transmit, what a node does):

        mse = mean((phi(y_in) - g_a^{k-1}(x))^2);  identity = mean((y_in - g_a^{k-1}(x))^2)
        (when M_k = M_{k-1});  var = mean((g_a^{k-1}(x) - its channel means)^2)

    images: uint8 (n, S, S, 3).  Returns {"intra_chain": {...}, "inter_chain": {...}, "var"}."""
    from ref.hcf.cascade import cascade_transform, coded_transmit
    from ref.hcf.model import analysis
    from ref.hcf.transform import phi_jit

    tr = coded_transmit(levels)
    ga = jax.jit(analysis)
    res: dict = {}
    targets = []
    for name, bit in (("intra_chain", 0), ("inter_chain", 1)):
        pi = (bit,) * (s - k) + (1,)
        se = se_id = 0.0
        count = 0
        for i in range(images.shape[0]):
            x = jnp.asarray(images[i:i + 1].astype(np.float32) / 255.0)
            y_k = cascade_transform(pi, s, k, modules, ga(levels[s].params, x), tr, phi_jit)
            y_in = np.asarray(tr(k, y_k) if kind == "inter" else y_k, np.float32)
            t = np.asarray(ga(levels[k - 1].params, x), np.float64)
            if bit == 0:
                targets.append(t)
            out = np.asarray(phi_jit(phi_params, jnp.asarray(y_in)), np.float64)
            se += float(np.sum((out - t) ** 2))
            if y_in.shape[-1] == t.shape[-1]:
                se_id += float(np.sum((y_in.astype(np.float64) - t) ** 2))
            count += t.size
        res[name] = {"mse": se / count, "identity_mse": se_id / count if se_id else None}
    t = np.concatenate(targets)
    res["var"] = float(np.mean((t - t.mean(axis=(0, 1, 2))) ** 2))
    return res


def _write_eval(sdir: Path, levels, modules, s, k, kind, widths, seed, images, echo) -> None:
    before = evaluate_module(init_module(seed, k, kind, widths), kind, k, s, levels, modules, images)
    after = evaluate_module(modules[k][kind], kind, k, s, levels, modules, images)
    rec = {"k": k, "kind": kind, "crops": int(images.shape[0]), "crop": int(images.shape[1]),
           "before": before, "after": after}
    (sdir / "eval.json").write_text(json.dumps(rec, indent=1) + "\n")
    echo(f"phi{k}_{kind}: held-out MSE intra-chain {before['intra_chain']['mse']:.4g} -> "
         f"{after['intra_chain']['mse']:.4g}, inter-chain {before['inter_chain']['mse']:.4g} -> "
         f"{after['inter_chain']['mse']:.4g} (target variance {after['var']:.4g})")


def rd_versus_direct(images: Mapping[str, np.ndarray], paths, levels, modules) -> list[dict]:
    """RD of cascades vs direct coding on whole images: for each (s, d, pi) of ``paths`` the
    level-d container of F^pi_{s->d}(g_a^s(x)) (ref.hcf.policy_table.level_container: real
    entropy-coded bytes) and its decoded PSNR; plus direct coding at d (ref.hcf.codec).
    Returns rows {image, path, policy, bpp, psnr}."""
    from ref.core.metrics import psnr
    from ref.hcf.cascade import cascade_transform, coded_transmit
    from ref.hcf.codec import decode_bytes, encode_image, pad_image, to_network, to_uint8
    from ref.hcf.model import analysis, synthesis
    from ref.hcf.policy_table import level_container
    from ref.hcf.transform import phi_jit

    tr = coded_transmit(levels)
    ga, gs = jax.jit(analysis), jax.jit(synthesis)
    rows = []
    for name, img in images.items():
        H, W, C = img.shape
        x = jnp.asarray(to_network(pad_image(img)))
        for s, d, pi in paths:
            y_d = cascade_transform(pi, s, d, modules, ga(levels[s].params, x), tr, phi_jit)
            data, y_hat = level_container(y_d, d, levels[d], H, W, C)
            rec = to_uint8(gs(levels[d].params, jnp.asarray(y_hat)), H, W, C)
            rows.append({"image": name, "path": f"{s}->{d}", "policy": "".join(map(str, pi)),
                         "bpp": 8 * len(data) / (H * W), "psnr": float(psnr(img, rec))})
        for d in sorted({d for _, d, _ in paths} | {s for s, _, _ in paths}):
            data = encode_image(img, d, levels[d])
            rows.append({"image": name, "path": f"direct {d}", "policy": "", "bpp": 8 * len(data) / (H * W),
                         "psnr": float(psnr(img, decode_bytes(data, levels[d])))})
    return rows


# --------------------------------------------------------------------------- phase 2: fine-tuning
def make_finetune_step(k: int, s: int, lam: float, optimizer, seed: int, frozen: dict):
    """Jitted step of eq. 13 at level k: trainable {"g_s", "hyper"} of level k; frozen g_a^s,
    modules s..k+1 and the hyperpriors of levels s..k+1 (transmissions)."""
    import optax

    from ref.hcf.cascade import training_transmit
    from ref.hcf.cascade_loss import finetune_loss
    from ref.hcf.model import analysis

    @jax.jit
    def _step(p, st, crops, i, fz):
        x = crops.astype(F32) / 255.0
        tr = training_transmit(fz["hyper"])
        bits = draw_policy_bits(seed, i, crops.shape[0], s - k)
        y_k = jax.lax.stop_gradient(
            training_latent(bits, analysis({"g_a": fz["g_a_s"]}, x), s, k, fz["modules"], tr))
        key = jax.random.fold_in(jax.random.key(seed + 1), i)
        (loss, (mse, bpp)), g = jax.value_and_grad(
            lambda q: (lambda r: (r[0], (r[1], r[2])))(finetune_loss(q, lam, x, y_k, key)), has_aux=True)(p)
        upd, st = optimizer.update(g, st, p)
        return optax.apply_updates(p, upd), st, {"loss": loss, "psnr": -10 * jnp.log10(mse), "bpp": bpp}

    return lambda p, st, crops, i: _step(p, st, crops, i, frozen)


def finetune(*, s: int = 6, d: int = 1, steps_per_level: int = 200, run_dir: Path | None = None,
             levels: Mapping[int, object] | None = None, modules: Mapping[int, dict] | None = None,
             lams: Mapping[int, float] | None = None, seed: int = 0, lr: float = 1e-4, warmup: int = 20,
             batch: int = 8, crop: int = 256, max_seconds: float | None = None, stop_after: int | None = None,
             checkpoint_every: int = 50, log_every: int = 10, sources=None, command: str = "",
             echo: Callable = print) -> dict:
    """Phase 2 (eq. 13): fine-tune g_s^k and level k's hyperprior for k = s .. d on the
    cascade's latents, every stage resumable (run_dir/finetune_q<k>/state.safetensors).

    modules: the trained modules (default: phase 1's states in run_dir).  lams: {k: lambda_k}
    (default hcf.C2).  Returns {"levels": {k: fine-tuned {"g_s", "hyper"}}, "finished": bool}.
    """
    from ref.data.crops import CropStream
    from ref.hcf.config import LAMBDAS
    from ref.training.checkpoint import load_state
    from ref.training.loop import ArrayStream, run

    run_dir = Path(run_dir) if run_dir else RUNS
    levels = levels if levels is not None else shipped_levels(s, d)
    widths = {j: int(levels[j].params["g_a"]["conv3"]["w"].shape[3]) for j in range(d, s + 1)}
    if modules is None:
        modules = {k: {kind: load_module(run_dir, k, kind, widths)[0] for kind in PROCESS_TYPES}
                   for k in range(s, d, -1)}
    lams = lams or LAMBDAS
    ids = _base_ids(levels, s, d)
    t_end = None if max_seconds is None else time.time() + max_seconds
    optimizer = make_optimizer(lr, warmup)
    tuned: dict[int, dict] = {}
    hyper = {j: _f32_tree(levels[j].params["hyper"]) for j in range(d, s + 1)}
    for k in range(s, d - 1, -1):
        sdir = Path(run_dir) / f"finetune_q{k}"
        state = sdir / "state.safetensors"
        params = _f32_tree({"g_s": levels[k].params["g_s"], "hyper": levels[k].params["hyper"]})
        if state.is_file():
            step0, meta0 = _read_meta(state)
            _check_base(meta0, ids, state)
            if step0 >= steps_per_level:
                p, _, _, _, _ = load_state(state, params, optimizer.init(params))
                tuned[k] = _f32_tree(p)
                hyper[k] = tuned[k]["hyper"]
                continue
        remaining = None if t_end is None else t_end - time.time()
        if remaining is not None and remaining <= 0:
            echo(f"finetune_q{k}: time budget spent; run the same command again to continue")
            return {"levels": tuned, "finished": False}
        sdir.mkdir(parents=True, exist_ok=True)
        frozen = {"g_a_s": _f32_tree(levels[s].params["g_a"]), "hyper": {j: hyper[j] for j in range(s, k, -1)},
                  "modules": {j: modules[j] for j in range(s, k, -1)}}
        meta = {"system": "hcf-cascade", "stage": "finetune", "k": k, "s": s, "d": d, "seed": seed, "lr": lr,
                "warmup": warmup, "batch": batch, "crop": crop, "steps": steps_per_level, "lam": lams[k],
                "base_models": ids, "command": command}
        crops = CropStream(crop, seed + 100 + k, sources=sources, cache_mb=384)
        echo(f"finetune_q{k}: g_s^{k} + hyperprior on cascade latents, lambda {lams[k]}, target {steps_per_level} steps")
        r = run(step_fn=make_finetune_step(k, s, lams[k], optimizer, seed, frozen), params=params,
                opt_state=optimizer.init(params), data=ArrayStream(crops, batch), steps=steps_per_level,
                state_path=state, meta=meta, log_every=log_every, checkpoint_every=checkpoint_every,
                time_limit_s=remaining, stop_at=stop_after, log_path=sdir / "log.jsonl",
                echo=lambda m, k=k: echo(f"finetune_q{k}: {m}"))
        if not r["finished"]:
            return {"levels": tuned, "finished": False}
        tuned[k] = _f32_tree(jax.device_get(r["params"]))
        hyper[k] = tuned[k]["hyper"]
    return {"levels": tuned, "finished": True}


# --------------------------------------------------------------------------- export
def export(run_dir: Path | None = None, *, s: int = 6, d: int = 1, levels=None, out: Path | None = None,
           command: str = "") -> Path:
    """Write the cascade checkpoint (ref.hcf.cascade_checkpoint.save, default
    ref/weights/hcf_cascade.safetensors) from the finished module states of ``run_dir``.
    Refuses (InputError) an unfinished module or base weights other than the run's."""
    from ref.hcf import cascade_checkpoint as CC

    run_dir = Path(run_dir) if run_dir else RUNS
    levels = levels if levels is not None else shipped_levels(s, d)
    widths = {j: int(levels[j].params["g_a"]["conv3"]["w"].shape[3]) for j in range(d, s + 1)}
    ids = _base_ids(levels, s, d)
    modules: dict = {}
    record: dict = {"s": s, "d": d, "command": command, "modules": {}}
    for k, kind in module_order(s, d):
        p, step, meta = load_module(run_dir, k, kind, widths)
        _check_base(meta, ids, _stage_dir(run_dir, k, kind))
        if step < meta.get("steps", 0):
            raise InputError(f"phi{k}_{kind} stopped at step {step} of {meta['steps']}; finish training first")
        modules.setdefault(k, {})[kind] = jax.tree_util.tree_map(np.asarray, p)
        ev = _stage_dir(run_dir, k, kind) / "eval.json"
        record["modules"][f"phi{k}_{kind}"] = {
            "step": step, **{key: meta.get(key) for key in ("seed", "lr", "warmup", "batch", "crop", "command")},
            **({"eval": json.loads(ev.read_text())} if ev.is_file() else {})}
    return CC.save(modules, {int(j): v for j, v in ids.items()}, record, out)


def export_finetuned(run_dir: Path, tuned: Mapping[int, dict], levels, command: str = "") -> list[Path]:
    """Full base checkpoints of the fine-tuned levels into the RUN DIRECTORY
    (hcf_q<k>_finetuned.safetensors; ref.hcf.checkpoint.export), never ref/weights."""
    from ref.hcf.checkpoint import export as export_level

    out = []
    for k, p in tuned.items():
        full = {**levels[k].params, "g_s": p["g_s"], "hyper": p["hyper"]}
        out.append(export_level(k, full, {"finetuned_from": levels[k].model_id, "stage": "eq. 13",
                                          "command": command}, Path(run_dir) / f"hcf_q{k}_finetuned.safetensors"))
    return out


# --------------------------------------------------------------------------- command
@click.command("hcf-cascade", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--s", "s", type=int, default=6, show_default=True, help="source level s (first module k = s)")
@click.option("--d", "d", type=int, default=1, show_default=True, help="lowest target level d (last module k = d+1)")
@click.option("--steps-per-module", type=int, default=200, show_default=True,
              help="Adam steps of each module (and of each level with --finetune)")
@click.option("--max-minutes", type=float, default=0.0, help="stop (and save) after this many minutes; 0 = no limit")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="stage states, logs, eval.json (default /work/runs/hcf-cascade)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lr", type=float, default=None, help="peak learning rate (default 1e-3 modules, 1e-4 fine-tuning)")
@click.option("--batch", type=int, default=8, show_default=True)
@click.option("--crop", type=int, default=256, show_default=True)
@click.option("--eval-crops", "n_eval", type=int, default=8, show_default=True,
              help="held-out crops (centre 256^2 of the first N evaluation photos) for each module's eval.json; 0 = none")
@click.option("--finetune", is_flag=True, help="phase 2 (eq. 13) instead of phase 1; output stays in the run dir")
@click.option("--export", "do_export", is_flag=True,
              help="do not train: write ref/weights/hcf_cascade.safetensors (with --finetune: "
                   "run-dir/hcf_q<k>_finetuned.safetensors)")
@click.option("--eval-only", is_flag=True,
              help="do not train: write eval.json (held-out distillation MSE before/after) of every finished module")
@click.option("--rd-images", type=int, default=0,
              help="do not train: RD of 6->5 and 6->3 cascades vs direct coding on the first N evaluation photos "
                   "(the run's modules), written to run-dir/rd.json")
def train_command(s, d, steps_per_module, max_minutes, run_dir, seed, lr, batch, crop, n_eval, finetune,
                  do_export, eval_only, rd_images):
    """Train the cascade's transform modules (eqs. 11-12) from k = s down to d+1, one module at a
    time with everything before it frozen, or fine-tune (eq. 13) with --finetune; resumable."""
    run_dir = Path(run_dir) if run_dir else RUNS
    cmd = (f"codecref train hcf-cascade --s {s} --d {d} --steps-per-module {steps_per_module} --seed {seed} "
           f"--batch {batch} --crop {crop}" + (f" --lr {lr:g}" if lr else "") + (" --finetune" if finetune else ""))
    limit = 60 * max_minutes if max_minutes else None
    if eval_only:
        levels = shipped_levels(s, d)
        widths = {j: int(levels[j].params["g_a"]["conv3"]["w"].shape[3]) for j in range(d, s + 1)}
        images = eval_crops(n_eval or 8)
        modules: dict = {}
        for k, kind in module_order(s, d):
            p, _, meta = load_module(run_dir, k, kind, widths)
            _check_base(meta, _base_ids(levels, s, d), _stage_dir(run_dir, k, kind))
            modules.setdefault(k, {})[kind] = p
            _write_eval(_stage_dir(run_dir, k, kind), levels, modules, s, k, kind, widths, meta.get("seed", seed),
                        images, click.echo)
        return
    if rd_images:
        from ref.data.datasets import eval_image
        from ref.hcf.evaluate import eval_set

        levels = shipped_levels(s, d)
        widths = {j: int(levels[j].params["g_a"]["conv3"]["w"].shape[3]) for j in range(d, s + 1)}
        modules = {k: {kind: load_module(run_dir, k, kind, widths)[0] for kind in PROCESS_TYPES}
                   for k in range(s, d, -1)}
        names, desc = eval_set(rd_images)
        paths = [(s, s - 1, (1, 1)), (s, s - 1, (0, 1))]
        if s - 3 >= d:
            paths += [(s, s - 3, (1, 0, 0, 1)), (s, s - 3, (0, 0, 0, 1)), (s, s - 3, (1, 1, 1, 1))]
        rows = rd_versus_direct({n: eval_image(n) for n in names}, paths, levels, modules)
        (run_dir / "rd.json").write_text(json.dumps({"eval_set": desc, "rows": rows}, indent=1) + "\n")
        for r in rows:
            click.echo(f"{r['image']:>28} {r['path']:>9} {r['policy']:>5} {r['bpp']:.4f} bpp {r['psnr']:.3f} dB")
        return
    if finetune:
        if do_export:
            levels = shipped_levels(s, d)
            r = finetune(s=s, d=d, steps_per_level=steps_per_module, run_dir=run_dir, levels=levels,
                         max_seconds=0.0, echo=lambda m: None)
            if not r["finished"]:
                raise InputError("fine-tuning is not finished; run without --export first")
            for p in export_finetuned(run_dir, r["levels"], levels, cmd):
                click.echo(f"wrote {p}")
            return
        r = finetune(s=s, d=d, steps_per_level=steps_per_module, run_dir=run_dir, seed=seed, lr=lr or 1e-4,
                     batch=batch, crop=crop, max_seconds=limit, command=cmd, echo=lambda m: click.echo(m))
        click.echo(json.dumps({"finished": r["finished"], "levels": sorted(r["levels"])}))
        return
    if do_export:
        path = export(run_dir, s=s, d=d, command=cmd)
        click.echo(f"wrote {path} ({path.stat().st_size} bytes)")
        return
    images = eval_crops(n_eval) if n_eval else None
    r = train_modules(s=s, d=d, steps_per_module=steps_per_module, run_dir=run_dir, seed=seed, lr=lr or 1e-3,
                      batch=batch, crop=crop, max_seconds=limit, eval_images=images, command=cmd,
                      echo=lambda m: click.echo(m))
    click.echo(json.dumps({"finished": r["finished"], "steps": r["steps"]}))
