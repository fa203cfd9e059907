"""Tab. 1 of paper 001 and its supplementary form: every policy of Π(s, d; n_q) with bpp, PSNR,
MS-SSIM (dB), η^PSNR and η^MS-SSIM (``codecref analyze hcf policies``; spec/hcf-cascade.md
hcf.14, hcf.15, hcf.C22, hcf.16, hcf.C24).

The per-policy computation is ref.hcf.policy_table (evaluate_policies, summarize,
write_outputs: policy_table.{csv,md,png}); this module adds the Tab. 1 form -- π^edge against
its late counterpart π^late for every (n_q, d) where they differ -- as
policy_edge_vs_late.{csv,md}, with the count of pairs where the edge policy has the lower η
(the issue's target and the paper's "edge quantisation principle").
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import click

from ref.hcf.analysis_common import common_options, load_images, load_setup, write_table

__all__ = ["edge_vs_late", "run", "policies_command"]

#: paper Tab. 1 (MLIC++, Kodak): (n_q, d, π) -> (bpp, PSNR, MS-SSIM dB, η^PSNR, η^MS-SSIM)
PAPER_TAB1 = {(2, 2, "[1,0,0,0,1]"): (0.1674, 30.264, 13.129, 11.054, 13.573),
              (2, 2, "[0,0,0,1,1]"): (0.1674, 29.768, 12.761, 17.115, 18.070),
              (4, 1, "[1,1,1,0,0,1]"): (0.0981, 28.524, 11.249, 19.057, 22.361),
              (4, 1, "[0,0,1,1,1,1]"): (0.0951, 27.929, 10.819, 27.419, 28.010)}


def edge_vs_late(table: Sequence[dict]) -> list[dict]:
    """Rows of Tab. 1's form from ref.hcf.policy_table.summarize rows: per (n_q, d) where
    π^edge != π^late, both policies' bpp, PSNR, η^PSNR, η^MS-SSIM and whether the edge
    policy's η is lower (NaN η compares as not lower)."""
    out = []
    for (n_q, d) in dict.fromkeys((r["n_q"], r["d"]) for r in table):
        sel = [r for r in table if (r["n_q"], r["d"]) == (n_q, d)]
        e = next((r for r in sel if r["edge"]), None)
        lt = next((r for r in sel if r["late"]), None)
        if e is None or lt is None or e is lt:
            continue
        out.append({"n_q": n_q, "d": d, "edge": e["policy"], "late": lt["policy"],
                    "edge_bpp": e["bpp"], "late_bpp": lt["bpp"], "edge_psnr": e["psnr"], "late_psnr": lt["psnr"],
                    "edge_eta_psnr": e["eta_psnr"], "late_eta_psnr": lt["eta_psnr"],
                    "edge_eta_ms_ssim": e["eta_ms_ssim"], "late_eta_ms_ssim": lt["eta_ms_ssim"],
                    "edge_lower_eta_psnr": bool(e["eta_psnr"] < lt["eta_psnr"]),
                    "edge_lower_eta_ms_ssim": bool(e["eta_ms_ssim"] < lt["eta_ms_ssim"])})
    return out


COLUMNS = (("n_q", "n_q", 0), ("d", "d", 0), ("edge", "π^edge", 0), ("late", "π^late", 0),
           ("edge_bpp", "bpp edge", 4), ("late_bpp", "bpp late", 4), ("edge_psnr", "PSNR edge", 3),
           ("late_psnr", "PSNR late", 3), ("edge_eta_psnr", "η^PSNR edge", 3), ("late_eta_psnr", "η^PSNR late", 3),
           ("edge_eta_ms_ssim", "η^MS-SSIM edge", 3), ("late_eta_ms_ssim", "η^MS-SSIM late", 3),
           ("edge_lower_eta_psnr", "edge lower η^PSNR", 0), ("edge_lower_eta_ms_ssim", "edge lower η^MS-SSIM", 0))


def run(out: Path, *, s: int = 6, d_values: Sequence[int] = (1, 2, 3, 4, 5), limit: int | None = None,
        cascade_path: Path | None = None, image_files: Sequence[str] = (), echo: Callable = print,
        ) -> tuple[list[Path], str]:
    """Tab. 1 on the evaluation split (or ``image_files``): policy_table.{csv,md,png} and
    policy_edge_vs_late.{csv,md} under ``out``; returns (paths, markdown of both tables)."""
    from ref.hcf.policy_table import evaluate_policies, summarize, write_outputs

    setup = load_setup(range(min(d_values), s + 1), range(s, min(d_values), -1), cascade_path,
                       what="nothing to tabulate")
    images, desc = load_images(limit, image_files)
    echo(setup.label)
    rows = evaluate_policies(images, s=s, models=setup.models, modules=setup.modules, d_values=d_values, echo=echo)
    table = summarize(rows, s, d_values)
    title = f"HCF policy comparison, s = {s}, {desc}; {setup.label}"
    paths = write_outputs(table, out, title)
    evl = edge_vs_late(table)
    n = len(evl)
    notes = [f"π^edge has the lower η^PSNR in {sum(r['edge_lower_eta_psnr'] for r in evl)} of {n} (n_q, d) pairs, "
             f"the lower η^MS-SSIM in {sum(r['edge_lower_eta_ms_ssim'] for r in evl)} of {n}.",
             "Paper Tab. 1 (MLIC++, Kodak; bpp, PSNR, MS-SSIM dB, η^PSNR, η^MS-SSIM): " +
             "; ".join(f"n_q={k[0]} d={k[1]} {k[2]}: {v}" for k, v in PAPER_TAB1.items())]
    p2, text2 = write_table(evl, COLUMNS, out, "policy_edge_vs_late", "Edge vs late: " + title, notes)
    return paths + p2, (Path(out) / "policy_table.md").read_text() + "\n" + text2


@click.command("policies", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--source", "s", type=int, default=6, show_default=True, help="source level s")
@click.option("--target", "d_values", type=int, multiple=True, help="target level d (repeat); default 1..s-1")
@common_options
def policies_command(s, d_values, out, limit, cascade_path, image_files):
    """Tab. 1 (and its supplementary form): every policy of Π(s, d; n_q) with bpp, PSNR,
    MS-SSIM (dB), η^PSNR, η^MS-SSIM; writes OUT/policy_table.{csv,md,png} and
    OUT/policy_edge_vs_late.{csv,md}; prints both tables."""
    paths, text = run(Path(out), s=s, d_values=tuple(d_values) or tuple(range(1, s)), limit=limit,
                      cascade_path=Path(cascade_path) if cascade_path else None, image_files=image_files,
                      echo=lambda m: click.echo(m, err=True))
    click.echo(text)
    for p in paths:
        click.echo(f"-> {p}")
