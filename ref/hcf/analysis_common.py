"""Shared plumbing of the HCF paper analyses (``codecref analyze hcf policies|entropy|drf|cross``;
paper 001 Tab. 1, Fig. 3, Tab. 2, Tab. 4; spec/hcf-analyses.md).

* :func:`load_setup`: the shipped base levels (ref/weights/hcf_q<k>.safetensors) and a cascade
  checkpoint (ref.hcf.cascade_checkpoint), checked against each other, with a label that says
  whether the modules are trained (:func:`cascade_label`);
* :func:`load_images`: the evaluation split (ref.hcf.evaluate.eval_set) or given image files;
* :class:`PointCoder`: one RD point of a latent at a level -- the level's real container
  (ref.hcf.policy_table.level_container) and the decoded image -- with g_a^s cached per image;
* :func:`write_table`: csv + md of a list of row dicts;
* :func:`random_cascade`: randomly initialised modules saved as a cascade checkpoint, labelled
  untrained (development and tests before trained modules exist).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable, Mapping, NamedTuple, Sequence

import click
import numpy as np

from ref.core.errors import InputError

__all__ = ["Setup", "load_setup", "cascade_label", "load_images", "PointCoder", "CascadeCache", "write_table", "fmt",
           "random_cascade", "common_options"]

#: Key of the training record that marks modules as not trained (written by :func:`random_cascade`).
UNTRAINED_KEY = "untrained"


class Setup(NamedTuple):
    """models: {level: HcfModel}; modules: {k: {"inter", "intra"}}; label: one line saying what
    the cascade modules are (trained or not, which file)."""

    models: dict
    modules: dict
    label: str


def cascade_label(train: Mapping, path) -> str:
    """'UNTRAINED cascade modules (...)' when the checkpoint's training record is empty or marked
    untrained, else 'cascade modules <file>' with the record's step count if it has one."""
    name = Path(path).name
    if not train or train.get(UNTRAINED_KEY):
        why = train.get(UNTRAINED_KEY) if train and isinstance(train.get(UNTRAINED_KEY), str) else "no training record"
        return f"UNTRAINED cascade modules ({name}: {why}) -- numbers say nothing about HCF"
    mods = train.get("modules")              # ref.hcf.cascade_train.export: {"phi<k>_<kind>": {"step": ...}}
    if isinstance(mods, dict) and mods:
        st = [m["step"] for m in mods.values() if isinstance(m, dict) and isinstance(m.get("step"), int)]
        if st and max(st) == 0:
            return f"UNTRAINED cascade modules ({name}: 0 training steps) -- numbers say nothing about HCF"
        if st:
            return f"cascade modules {name} ({len(mods)} modules, {min(st)}-{max(st)} training steps each)"
    steps = train.get("steps", train.get("steps_per_module"))
    return f"cascade modules {name}" + (f" (training record: {steps} steps)" if steps is not None else "")


def load_setup(levels: Sequence[int], cascade_levels: Sequence[int], cascade_path: Path | None,
               what: str = "nothing to analyse") -> Setup:
    """Base models for ``levels`` and cascade modules φ_{k->k-1} for every k in ``cascade_levels``.

    InputError (one line) if a base checkpoint or the cascade checkpoint is missing, if the
    modules were trained against other base checkpoints (the ``model`` identities recorded by
    ref.hcf.cascade_checkpoint.save), or if a needed module is absent.
    """
    from ref.hcf import cascade_checkpoint as CC
    from ref.hcf.checkpoint import checkpoint_path
    from ref.hcf.codec import get_model

    missing = [k for k in levels if not checkpoint_path(k).is_file()]
    if missing:
        raise InputError(f"no trained base-codec checkpoint for levels {missing} "
                         f"({checkpoint_path(missing[0]).parent}); {what}")
    path = Path(cascade_path or CC.DEFAULT_PATH)
    if not CC.exists(path):
        raise InputError(f"no cascade checkpoint ({path}): the transform modules are not trained yet "
                         f"(codecref train hcf-cascade); {what} (--cascade PATH to use another)")
    ck = CC.load(path)
    models = {k: get_model(k) for k in levels}
    for k, ident in ck.base_models.items():
        if k in models and models[k].model_id != ident:
            raise InputError(f"cascade modules {path.name} were trained against base model {ident!r} at level {k}; "
                             f"the shipped level-{k} checkpoint is {models[k].model_id!r}")
    lacking = [k for k in cascade_levels if k not in ck.modules]
    if lacking:
        raise InputError(f"cascade checkpoint {path.name} lacks the modules phi_{{k->k-1}} for k = {lacking}")
    return Setup(models, ck.modules, cascade_label(ck.train, path))


def load_images(limit: int | None, image_files: Sequence[str] = ()) -> tuple[dict, str]:
    """({name: uint8 (H, W, C)}, one-line description): the given files, else the evaluation
    split (ref.hcf.evaluate.eval_set; corpus evaluation photographs, short side 768)."""
    from ref.data.imageio import read_image

    if image_files:
        files = list(image_files)[:limit] if limit else list(image_files)
        return {Path(f).stem: read_image(f) for f in files}, "images " + ", ".join(Path(f).name for f in files)
    from ref.data.datasets import eval_image
    from ref.hcf.evaluate import eval_set

    names, desc = eval_set(limit)
    return {n: eval_image(n) for n in names}, desc


class PointCoder:
    """RD points of one image: ``y_s(s)`` = g_a^s(x) (cached), ``code(y, k)`` = the level-k
    container of an unquantised level-k latent and its decoded image.

    img: uint8 (H, W, C); models: {level: HcfModel-like}.  Metrics: :meth:`metrics`.
    """

    def __init__(self, img: np.ndarray, models: Mapping[int, object]):
        self.img = img
        self.models = models
        self._ys: dict = {}

    def y_s(self, s: int):
        """g_a^s(x) of the padded image (hcf.1, hcf.C3, hcf.C4): float32 (1, H_p/16, W_p/16, M_s)."""
        if s not in self._ys:
            import jax.numpy as jnp

            from ref.hcf.codec import _encoder_nets, pad_image, to_network

            self._ys[s] = _encoder_nets(self.models[s].params, jnp.asarray(to_network(pad_image(self.img))))[0]
        return self._ys[s]

    def code(self, y, k: int) -> tuple[bytes, np.ndarray]:
        """(level-k container bytes, decoded uint8 image) of latent ``y`` (1, h, w, M_k): Q^k, E^k
        as the base codec writes them (hcf.C21, hcf.3), x̂ = g_s^k(ŷ^k) (hcf.5, hcf.C4)."""
        import jax.numpy as jnp

        from ref.hcf.codec import _decoder_net, to_uint8
        from ref.hcf.policy_table import level_container

        H, W, C = self.img.shape
        data, y_hat = level_container(y, k, self.models[k], H, W, C)
        return data, to_uint8(_decoder_net(self.models[k].params, jnp.asarray(y_hat)), H, W, C)

    def metrics(self, data: bytes, rec: np.ndarray) -> dict:
        """{bpp, psnr, ms_ssim_db} of a reconstruction ([hcf.C22]: container bpp of the original
        H x W, PSNR of 8-bit images, MS-SSIM in dB; NaN if the image is too small for MS-SSIM)."""
        from ref.core.metrics import ms_ssim, psnr
        from ref.hcf.rqsi import ms_ssim_db

        H, W = self.img.shape[:2]
        try:
            m = ms_ssim_db(ms_ssim(self.img, rec))
        except InputError:
            m = math.nan
        return {"bpp": 8 * len(data) / (H * W), "psnr": float(psnr(self.img, rec)), "ms_ssim_db": m}


class CascadeCache:
    """F^π_{s->k}(ỹ^s) of eq. 9 memoised by policy prefix, for evaluating many policies that
    share their first levels: ``latent(prefix)`` with prefix = (π_s, ..., π_{k+1}) is ỹ^k,
    computed as T_{k+1}^{π_{k+1}}(latent(prefix[:-1])) (ref.hcf.cascade.level_process, hcf.8);
    ``latent(pi[:-1])`` equals ref.hcf.cascade.cascade_transform(pi, s, d, ...).

    y_s: (1, h, w, M_s) = g_a^s(x); modules: {k: {"inter", "intra"}}; transmit: hcf.C21.
    """

    def __init__(self, y_s, s: int, modules: Mapping[int, Mapping[str, dict]], transmit: Callable,
                 phi_fn: Callable | None = None):
        self.s, self.modules, self.transmit = s, modules, transmit
        self.phi_fn = phi_fn
        self._memo: dict = {(): y_s}

    def latent(self, prefix: Sequence[int]):
        from ref.hcf.cascade import level_process
        from ref.hcf.transform import phi_jit

        prefix = tuple(int(v) for v in prefix)
        if prefix not in self._memo:
            k = self.s - len(prefix) + 1                   # the level whose process the last entry selects
            if k not in self.modules:
                raise InputError(f"no transform modules phi_{{{k}->{k - 1}}}")
            prev = self.latent(prefix[:-1])
            self._memo[prefix] = level_process(prefix[-1], self.modules[k], prev, k, self.transmit,
                                               self.phi_fn or phi_jit)
        return self._memo[prefix]


def fmt(v, digits: int = 3) -> str:
    """Table cell: floats with ``digits`` decimals ('nan' kept), bools as 'yes'/'', else str."""
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def write_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, int]], out: Path, stem: str,
                title: str, notes: Sequence[str] = ()) -> tuple[list[Path], str]:
    """Write OUT/stem.csv (full precision) and OUT/stem.md; returns ([paths], markdown text).

    columns: (key, header, decimals) per column; notes: lines printed under the table.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{stem}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([c[0] for c in columns])
        for r in rows:
            w.writerow([r.get(c[0], "") for c in columns])
    lines = [f"# {title}", "", "| " + " | ".join(c[1] for c in columns) + " |",
             "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c[0], ""), c[2]) for c in columns) + " |")
    if notes:
        lines += [""] + list(notes)
    text = "\n".join(lines) + "\n"
    (out / f"{stem}.md").write_text(text)
    return [out / f"{stem}.csv", out / f"{stem}.md"], text


def random_cascade(path: Path, s: int = 6, d: int = 1, seed: int = 0, models: Mapping[int, object] | None = None
                   ) -> Path:
    """Save randomly initialised φ pairs for k = s .. d+1 (ref.hcf.transform.init_cascade_modules,
    widths of ``models`` or of the shipped levels) as a cascade checkpoint at ``path``, with
    the base identities of those models and a training record marking them UNTRAINED."""
    import jax

    from ref.hcf import cascade_checkpoint as CC
    from ref.hcf.transform import init_cascade_modules

    if models is None:
        from ref.hcf.codec import get_model

        models = {k: get_model(k) for k in range(d, s + 1)}
    mods = init_cascade_modules(jax.random.key(seed), {k: int(models[k].cfg.M) for k in range(d, s + 1)}, s, d)
    mods = jax.tree_util.tree_map(np.asarray, mods)
    return CC.save(mods, {k: models[k].model_id for k in range(d, s + 1)},
                   {UNTRAINED_KEY: f"random initialisation, seed {seed}"}, path)


def common_options(fn: Callable) -> Callable:
    """--out DIR, --limit N, --cascade PATH, --image FILE (repeatable) for every analysis command."""
    fn = click.option("--image", "image_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
                      help="analyse these image files instead of the evaluation split (repeatable)")(fn)
    fn = click.option("--cascade", "cascade_path", type=click.Path(dir_okay=False), default=None,
                      help="cascade checkpoint (default ref/weights/hcf_cascade.safetensors)")(fn)
    fn = click.option("--limit", type=int, default=None, help="first N evaluation images only")(fn)
    fn = click.option("--out", "out", type=click.Path(file_okay=False), required=True,
                      help="directory for the csv, md and png")(fn)
    return fn
