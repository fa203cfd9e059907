"""Fig. 3 of paper 001: differential-entropy evolution along the three 2-stage 4-level policies
(``codecref analyze hcf entropy``; spec/hcf-analyses.md [hcf.analysis_entropy]).

For a source level s and d = s - 3, the policies are Π(s, d; 2) = [1,0,0,1], [0,1,0,1],
[0,0,1,1] (the paper's Fig. 2a / Fig. 3).  Along a policy π the stages are, for k = s .. d:

    ỹ^k                       the unquantised latent entering level k (ỹ^s = g_a^s(x));
    ŷ^k = Q^k(ỹ^k)            where π_k = 1 (hcf.C21, the base codec's transmission);
    ỹ^{k-1} = T_k^{π_k}(ỹ^k)  (hcf.8)

and each stage's latents of all images are pooled (one sample per latent position, d = M_k,
[core.C21]) into one Kozachenko-Leonenko estimate ([core.kl_entropy]) in bits, k_nn = 4,
Euclidean norm; quantised stages are dithered by U(-1/2, 1/2) ([core.C22], seed 0).  The
entropy increase of a quantisation is  Δ_k = H(ŷ^k + u) - H(ỹ^k)  (Fig. 3's arrows).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import click
import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements
from ref.hcf.analysis_common import PointCoder, common_options, load_images, load_setup, write_table
from ref.hcf.policy import check_levels, policy_space

__all__ = ["KNN_K", "KNN_NORM", "DITHER_SEED", "fig3_policies", "entropy_stages", "stage_entropies",
           "evaluate", "write_outputs", "run", "entropy_command"]

#: [hcf.analysis_entropy] estimator settings
KNN_K = 4
KNN_NORM = "euclidean"
DITHER_SEED = 0
#: Fig. 3 of the paper: H(ŷ^d) - H(ỹ^d) at the final quantisation, bits (MLIC++, Kodak)
PAPER_FINAL_INCREASE = {(1, 0, 0, 1): 94.1, (0, 1, 0, 1): 96.1, (0, 0, 1, 1): 99.3}


@implements("hcf.analysis_entropy")
def fig3_policies(s: int, levels: int = 4) -> list[tuple[int, ...]]:
    """The 2-stage policies of a ``levels``-level cascade from s: Π(s, s - levels + 1; 2) in the
    order of [hcf.policy_space] (for levels = 4: [1,0,0,1], [0,1,0,1], [0,0,1,1])."""
    d = s - levels + 1
    check_levels(s, d)
    if levels < 2:
        raise InputError(f"a 2-stage cascade needs at least 2 levels, got {levels}")
    return policy_space(s, d, 2)


@implements("hcf.analysis_entropy")
def entropy_stages(pi: Sequence[int], s: int, y_s, modules: Mapping[int, Mapping[str, dict]], transmit: Callable,
                   phi_fn: Callable | None = None) -> list[tuple[int, bool, np.ndarray]]:
    """The latents along policy π from s to d = s - len(π) + 1, in cascade order:
    [(k, False, ỹ^k), and (k, True, ŷ^k) where π_k = 1] for k = s .. d.

    y_s: float32 (1, h, w, M_s) = g_a^s(x); modules: {k: {"inter", "intra"}} for k = s .. d+1;
    transmit: (k, y) -> ŷ^k ([hcf.C21], e.g. ref.hcf.cascade.coded_transmit).  The step
    ỹ^{k-1} = T_k^{π_k}(ỹ^k) is ref.hcf.cascade.level_process (hcf.8); ŷ^k is the value that
    process transmitted.  Latents are float32 numpy arrays.
    """
    from ref.hcf.cascade import level_process
    from ref.hcf.policy import check_policy
    from ref.hcf.transform import phi_jit

    d = s - len(pi) + 1
    pi = check_policy(pi, s, d)
    phi_fn = phi_fn or phi_jit
    sent: dict = {}

    def tr(k, y):
        sent[k] = np.asarray(transmit(k, y), np.float32)
        return sent[k]

    out, y = [], y_s
    for k in range(s, d - 1, -1):
        out.append((k, False, np.asarray(y, np.float32)))
        if k == d:
            out.append((k, True, tr(k, y)))
            break
        if k not in modules:
            raise InputError(f"no transform modules phi_{{{k}->{k - 1}}}")
        y = level_process(pi[s - k], modules[k], y, k, tr, phi_fn)
        if pi[s - k]:
            out.append((k, True, sent[k]))
    return out


@implements("hcf.analysis_entropy")
def stage_entropies(stages: Sequence[Sequence[tuple[int, bool, np.ndarray]]], *, k: int = KNN_K,
                    norm: str = KNN_NORM, dither_seed: int = DITHER_SEED, **knn_options) -> list[dict]:
    """Pooled KL entropies of the stages of one policy over several images.

    stages: per image, the list of :func:`entropy_stages` (same stage sequence for every image).
    Stage j's samples are the rows of latent_samples(latent) ([core.C21]) of every image,
    concatenated in image order; a quantised stage is dithered ([core.C22], ``dither_seed``).
    Returns per stage {level, quantised, n, dim, h_bits, increase_bits}; increase_bits =
    h(ŷ^k) - h(ỹ^k) on a quantised stage, NaN on the others.
    """
    from ref.core.kl_entropy import kl_entropy, latent_samples

    if not stages:
        raise InputError("no images")
    keys = [(lv, q) for lv, q, _ in stages[0]]
    for st in stages[1:]:
        if [(lv, q) for lv, q, _ in st] != keys:
            raise InputError("every image must have the same stage sequence")
    rows, before = [], {}
    for j, (lv, q) in enumerate(keys):
        x = np.concatenate([latent_samples(st[j][2]) for st in stages], axis=0).astype(np.float64)
        h = kl_entropy(x, k=k, norm=norm, unit="bits", dither_seed=dither_seed if q else None, **knn_options)
        if not q:
            before[lv] = h
        rows.append({"level": lv, "quantised": q, "n": int(x.shape[0]), "dim": int(x.shape[1]), "h_bits": h,
                     "increase_bits": h - before[lv] if q else float("nan")})
    return rows


def evaluate(images: Mapping[str, np.ndarray], *, s: int, models: Mapping[int, object], modules: Mapping[int, dict],
             levels: int = 4, echo: Callable = lambda m: None, **knn_options) -> list[dict]:
    """Table rows {policy, level, stage, quantised, n, dim, h_bits, increase_bits} for every
    policy of :func:`fig3_policies` (entropies pooled over ``images``)."""
    from ref.hcf.cascade import coded_transmit

    transmit = coded_transmit(models)
    per_pol: dict = {pi: [] for pi in fig3_policies(s, levels)}
    t0 = time.time()
    for name, img in images.items():
        y_s = PointCoder(img, models).y_s(s)
        for pi in per_pol:
            per_pol[pi].append(entropy_stages(pi, s, y_s, modules, transmit))
        echo(f"{name}: latents done ({time.time() - t0:.0f} s)")
    rows = []
    for pi, stages in per_pol.items():
        tag = "[" + ",".join(map(str, pi)) + "]"
        for r in stage_entropies(stages, **knn_options):
            rows.append({"policy": tag, "stage": ("ŷ" if r["quantised"] else "ỹ") + f"^{r['level']}", **r})
        echo(f"{tag}: entropies done ({time.time() - t0:.0f} s)")
    return rows


COLUMNS = (("policy", "π", 0), ("stage", "stage", 0), ("level", "k", 0), ("quantised", "quantised", 0),
           ("h_bits", "h (bits)", 2), ("increase_bits", "Δh after Q (bits)", 2), ("n", "N", 0), ("dim", "dim", 0))


def write_outputs(rows: Sequence[dict], out: Path, title: str) -> tuple[list[Path], str]:
    """entropy.csv, entropy.md (with the final-quantisation increases next to the paper's) and
    entropy.png (h per stage, stars at quantised stages) under ``out``."""
    finals = []
    for tag in dict.fromkeys(r["policy"] for r in rows):
        q = [r for r in rows if r["policy"] == tag and r["quantised"]]
        pi = tuple(int(c) for c in tag.strip("[]").split(","))
        paper = PAPER_FINAL_INCREASE.get(pi)
        finals.append(f"- {tag}: Δh at the final quantisation (level {q[-1]['level']}) = "
                      f"{q[-1]['increase_bits']:.2f} bits" + (f" (paper, MLIC++ on Kodak: {paper} bits)" if paper else ""))
    notes = ["Entropy increase at the final quantisation:"] + finals
    paths, text = write_table(rows, COLUMNS, out, "entropy", title, notes)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, tag in enumerate(dict.fromkeys(r["policy"] for r in rows)):
        rs = [r for r in rows if r["policy"] == tag]
        xs = [-(r["level"]) + (0.35 if r["quantised"] else 0.0) for r in rs]
        line, = ax.plot(xs, [r["h_bits"] for r in rs], marker="o", ms=3, label=f"π = {tag}")
        qs = [(x, r) for x, r in zip(xs, rs) if r["quantised"]]
        ax.scatter([x for x, _ in qs], [r["h_bits"] for _, r in qs], marker="*", s=140, color=line.get_color(), zorder=3)
        x, r = qs[-1]
        ax.annotate(f"↑{r['increase_bits']:.1f}", (x, r["h_bits"]), textcoords="offset points", xytext=(6, 4 - 11 * i),
                    fontsize=8, color=line.get_color())
    lv = sorted({r["level"] for r in rows}, reverse=True)
    ax.set_xticks([-v for v in lv], [f"level {v}" for v in lv])
    ax.set_ylabel("differential entropy (bits, KL estimate)")
    ax.set_title("Entropy along the 2-stage policies (* quantisation)", fontsize=10)
    ax.legend(fontsize=8)
    fig.text(0.01, 0.005, title[:150], fontsize=6)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(Path(out) / "entropy.png", dpi=110)
    plt.close(fig)
    return paths + [Path(out) / "entropy.png"], text


def run(out: Path, *, s: int = 6, limit: int | None = None, cascade_path: Path | None = None,
        image_files: Sequence[str] = (), echo: Callable = print) -> tuple[list[Path], str]:
    d = s - 3
    setup = load_setup(range(d, s + 1), range(s, d, -1), cascade_path)
    images, desc = load_images(limit, image_files)
    echo(setup.label)
    rows = evaluate(images, s=s, models=setup.models, modules=setup.modules, echo=echo)
    return write_outputs(rows, out, f"HCF differential entropy along Π({s}, {d}; 2), {desc}; {setup.label}")


@click.command("entropy", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", "s", type=int, default=6, show_default=True, help="source level s (d = s - 3)")
@common_options
def entropy_command(s, out, limit, cascade_path, image_files):
    """Fig. 3: KL differential entropy of the latents at every level of the three 2-stage
    4-level policies; writes OUT/entropy.{csv,md,png} and prints the table."""
    paths, text = run(Path(out), s=s, limit=limit, cascade_path=Path(cascade_path) if cascade_path else None,
                      image_files=image_files, echo=lambda m: click.echo(m, err=True))
    click.echo(text)
    for p in paths:
        click.echo(f"-> {p}")
