"""Policy comparison (paper 001, Tab. 1 and its supplementary form): for every target level d
and every policy π of Π(s, d; n_q), the mean bpp, PSNR, MS-SSIM (dB) and the RQSI
η^PSNR, η^MS-SSIM over the evaluation images (spec/hcf-cascade.md hcf.14, hcf.C22).

For an image (padded, hcf.C3) and a policy π from s to d:

    ỹ^d  = F^π_{s->d}(g_a^s(x))                         (ref.hcf.cascade.cascade_transform;
                                                         intermediate transmissions hcf.C21)
    B    = the level-d container of ỹ^d                 (z, ŷ coded as hcf.3 with level d's
                                                         model; header as ref.hcf.codec)
    bpp  = 8 |B| / (H W);  x̂ = g_s^d(ŷ^d) -> uint8 (hcf.C4);  PSNR, MS-SSIM dB (hcf.C22)

η(π) at d uses the means of π_* = [0..0,1] and π^* = [1..1] decoded at d + 1 (hcf.15).

Needs trained base checkpoints (ref/weights/hcf_q<k>.safetensors) and a cascade checkpoint
(ref/hcf/cascade_checkpoint.py); without them :func:`run` raises one InputError saying
which is missing.  The command is ``codecref analyze hcf policies`` (ref.hcf.analysis_policies).  :func:`evaluate_policies` takes models and modules as arguments (tests
run it on tiny random models).
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ref.core.errors import InputError
from ref.hcf.policy import edge_policy, late_policy, max_policy, min_policy, policy_space
from ref.hcf.rqsi import ms_ssim_db, rqsi

__all__ = ["level_container", "evaluate_policies", "summarize", "write_outputs", "run"]


def level_container(y, level: int, model, height: int, width: int, channels: int) -> tuple[bytes, np.ndarray]:
    """(container bytes, ŷ) of an unquantised level-``level`` latent ``y`` (1, h, w, M):
    z = h_a(y), ẑ, integer indices (hcf.C5), sections (hcf.3), header (hcf.C6) -- the stream
    ref.hcf.codec.encode_image writes from g_a's output, here from a cascade's output."""
    import jax.numpy as jnp

    from ref.core import container as ctr
    from ref.core import hyperprior as HP
    from ref.core.intnet import int_conditional_indices

    y = np.asarray(y, np.float32)
    z_hat = HP.quantize_z(HP.hyper_analysis(model.params["hyper"], jnp.asarray(y)))
    idx = int_conditional_indices(model.p_int, z_hat)
    sections, y_hat = HP.encode_hyperprior(y, z_hat, model.z_tables, model.z_offsets, lambda _z: idx,
                                           radius=model.cfg.radius)
    header = {"level": level, "model": model.model_id, "height": height, "width": width, "channels": channels}
    return ctr.pack("hcf", header, [(k, sections[k]) for k in HP.SECTIONS]), y_hat


def _targets(s: int, d_values: Sequence[int]) -> list[tuple[int, tuple[int, ...]]]:
    """(d, π) pairs to evaluate: every policy to each d, plus π_*, π^* decoded at d + 1."""
    out: list = []
    for d in d_values:
        for n_q in range(1, s - d + 2):
            out += [(d, pi) for pi in policy_space(s, d, n_q)]
        if d < s:
            out += [(d + 1, min_policy(s, d + 1)), (d + 1, max_policy(s, d + 1))]
    seen, uniq = set(), []
    for t in out:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    return uniq


def evaluate_policies(images: Mapping[str, np.ndarray], *, s: int, models: Mapping[int, object],
                      modules: Mapping[int, dict], d_values: Sequence[int], echo: Callable = lambda m: None
                      ) -> list[dict]:
    """Per-image rows {image, d, policy, bpp, psnr, ms_ssim_db} for every target (see module doc).

    images: {name: uint8 (H, W, C)}; models: {level: HcfModel-like}; modules: {k: {"inter",
    "intra"}} for k = s .. min(d_values) + 1.
    """
    import jax
    import jax.numpy as jnp

    from ref.core.metrics import ms_ssim, psnr
    from ref.hcf.analysis_common import CascadeCache
    from ref.hcf.cascade import coded_transmit
    from ref.hcf.policy import check_policy
    from ref.hcf.codec import pad_image, to_network, to_uint8
    from ref.hcf.model import analysis, synthesis
    from ref.hcf.transform import phi_jit

    for d in d_values:
        if not 1 <= d <= s:
            raise InputError(f"target level {d} outside 1..{s}")
    need = set(range(min(d_values), s + 1))
    if not need <= set(models):
        raise InputError(f"base-codec models missing for levels {sorted(need - set(models))}")
    ga, gs = jax.jit(analysis), jax.jit(synthesis)
    transmit = coded_transmit(models)
    rows = []
    t0 = time.time()
    for name, img in images.items():
        H, W, C = img.shape
        y_s = ga(models[s].params, jnp.asarray(to_network(pad_image(img))))
        cache = CascadeCache(y_s, s, modules, transmit, phi_jit)    # shared prefixes computed once
        for d, pi in _targets(s, d_values):
            check_policy(pi, s, d)
            y_d = cache.latent(pi[:-1])                             # = cascade_transform(pi, s, d, ...)
            data, y_hat = level_container(y_d, d, models[d], H, W, C)
            rec = to_uint8(gs(models[d].params, jnp.asarray(y_hat)), H, W, C)
            try:
                m = ms_ssim_db(ms_ssim(img, rec))
            except InputError:
                m = math.nan                          # image too small for 5 MS-SSIM scales
            rows.append({"image": name, "d": d, "policy": "".join(map(str, pi)), "n_q": sum(pi),
                         "bpp": 8 * len(data) / (H * W), "psnr": float(psnr(img, rec)), "ms_ssim_db": m})
        echo(f"{name}: {len(rows)} rows ({time.time() - t0:.0f} s)")
    return rows


def summarize(rows: Sequence[dict], s: int, d_values: Sequence[int]) -> list[dict]:
    """Table rows: per (d, π) the means over images and η^PSNR, η^MS-SSIM (hcf.14, hcf.C22),
    with flags for π^edge / π^late; ordered by n_q, d, then the order of Π (hcf.policy_space)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["d"], r["policy"]), []).append(r)
    mean = {k: {m: float(np.mean([r[m] for r in v])) for m in ("bpp", "psnr", "ms_ssim_db")}
            for k, v in groups.items()}
    table = []
    for d in d_values:
        for n_q in range(1, s - d + 2):
            for pi in policy_space(s, d, n_q):
                tag = "".join(map(str, pi))
                p = mean[(d, tag)]
                row = {"n_q": n_q, "d": d, "policy": "[" + ",".join(tag) + "]", **p,
                       "edge": pi == edge_policy(s, d, n_q), "late": pi == late_policy(s, d, n_q),
                       "eta_psnr": math.nan, "eta_ms_ssim": math.nan, "images": len(groups[(d, tag)])}
                if d < s:
                    lo = mean[(d + 1, "".join(map(str, min_policy(s, d + 1))))]
                    hi = mean[(d + 1, "".join(map(str, max_policy(s, d + 1))))]
                    row["eta_psnr"] = rqsi((p["psnr"], p["bpp"]), (lo["psnr"], lo["bpp"]), (hi["psnr"], hi["bpp"]))
                    if all(math.isfinite(v["ms_ssim_db"]) for v in (p, lo, hi)):
                        row["eta_ms_ssim"] = rqsi((p["ms_ssim_db"], p["bpp"]), (lo["ms_ssim_db"], lo["bpp"]),
                                                  (hi["ms_ssim_db"], hi["bpp"]))
                table.append(row)
    return sorted(table, key=lambda r: (r["n_q"], r["d"]))


COLUMNS = ("n_q", "d", "policy", "bpp", "psnr", "ms_ssim_db", "eta_psnr", "eta_ms_ssim", "edge", "late", "images")


def write_outputs(table: Sequence[dict], out: Path, title: str) -> list[Path]:
    """policy_table.csv, policy_table.md and policy_table.png (PSNR vs bpp per d) under ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "policy_table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in table:
            w.writerow({k: r[k] for k in COLUMNS})
    lines = [f"# {title}", "", "| n_q | d | π | bpp | PSNR (dB) | MS-SSIM (dB) | η^PSNR | η^MS-SSIM | |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        mark = "edge" if r["edge"] else ("late" if r["late"] else "")
        if r["edge"] and r["late"]:
            mark = "edge = late"
        lines.append(f"| {r['n_q']} | {r['d']} | {r['policy']} | {r['bpp']:.4f} | {r['psnr']:.3f} | "
                     f"{r['ms_ssim_db']:.3f} | {r['eta_psnr']:.3f} | {r['eta_ms_ssim']:.3f} | {mark} |")
    (out / "policy_table.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = sorted({r["d"] for r in table})
    fig, axes = plt.subplots(1, len(ds), figsize=(4 * len(ds), 3.6), squeeze=False)
    for ax, d in zip(axes[0], ds):
        rs = [r for r in table if r["d"] == d]
        ax.scatter([r["bpp"] for r in rs], [r["psnr"] for r in rs], c=[r["n_q"] for r in rs], cmap="viridis", s=18)
        for r in rs:
            if r["edge"] or r["late"]:
                ax.scatter([r["bpp"]], [r["psnr"]], marker="*" if r["edge"] else "x", s=90, c="red")
        ax.set_title(f"d = {d} (* edge, x late)")
        ax.set_xlabel("bpp")
        ax.set_ylabel("PSNR (dB)")
    fig.tight_layout()
    fig.savefig(out / "policy_table.png", dpi=110)
    plt.close(fig)
    return [out / "policy_table.csv", out / "policy_table.md", out / "policy_table.png"]


def run(out: Path, *, s: int = 6, d_values: Sequence[int] = (1, 2, 3, 4, 5), limit: int | None = None,
        cascade_path: Path | None = None, echo: Callable = print) -> list[Path]:
    """Tab. 1 on the evaluation split with the shipped base levels and cascade modules: the
    command ``codecref analyze hcf policies`` (ref.hcf.analysis_policies.run); returns the paths."""
    from ref.hcf.analysis_policies import run as _run

    return _run(Path(out), s=s, d_values=d_values, limit=limit, cascade_path=cascade_path, echo=echo)[0]
