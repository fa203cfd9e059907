"""Easz analyses and the edge-cost benchmark (smoke tests on small crops; full runs are slow)."""

from __future__ import annotations

import pytest

from ref.core.errors import InputError

from ref.easz import analyses as A


def test_eval_images_are_evaluation_only():
    for name in A.EVAL_RGB + A.EVAL_GRAY:
        img = A.eval_image(name)
        assert img.ndim == 3 and img.shape[2] in (1, 3)
    with pytest.raises(InputError):  # a user-facing error: analyses never run on training images
        A.eval_image("astronaut")


@pytest.mark.eq("easz.random_mask", "easz.row_sampler")
def test_masks_analysis_small(tmp_path):
    cols, rows, notes = A.analysis_masks(images=("motorcycle_left",), subs=(4,), ratios=(0.25, 0.5), seeds=(0,),
                                         crop=128, use_model=False)
    assert len(rows) == 4 and rows[0][6] == "-"
    by = {(r[1], r[3]): r for r in rows}
    assert by[(0.5, "sampler")][5] < by[(0.5, "random")][5]          # spread erasures reconstruct better
    paths = A.write_outputs("masks", cols, rows, notes, tmp_path, A.plot_masks)
    assert all((tmp_path / p.split("/")[-1]).exists() for p in paths)


def test_sr_and_jpeg_analyses_small(tmp_path):
    cols, rows, notes = A.analysis_sr(images=("camera",), crop=192, use_model=False)
    assert {r[1].split(",")[0] for r in rows} >= {"Easz 2x-SR pattern (b=1", "bicubic upsampling of x[:"}
    cols, rows, notes = A.analysis_jpeg(images=("hubble",), qualities=(50,), crop=192, use_model=False)
    assert rows[1][4] <= rows[0][4]                                   # matched bpp: never above JPEG
    assert any("no-reference" in n for n in notes)


def test_edge_cost_reports_ratio():
    img = A.kodak_size(A.eval_image("motorcycle_right"))
    assert img.shape == (512, 768, 3)
    from ref.easz.codec import EaszParams

    r = A.edge_cost(img, EaszParams(n=32, b=4, T=2), repeats=3)
    assert r["jpeg_s"] > 0 and 0 < r["ratio"] < 10


def test_bench_command_runs(capsys):
    from ref.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "easz", "--repeats", "2", "--sub", "4"])
    assert exc.value.code == 0
    assert "5% target" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.eq("easz.random_mask", "easz.row_sampler")
def test_full_masks_analysis_sampler_beats_random_reconstruction():
    """Full-size evaluation images, 3 seeds: the proposed sampler's erasures reconstruct with lower
    MSE than the random baseline's at every erase ratio and sub-patch size (interp)."""
    cols, rows, notes = A.analysis_masks(use_model=False)
    by = {(r[0], r[2], r[3]): r for r in rows}
    for (b, tg, kind), r in by.items():
        if kind == "sampler":
            assert r[5] < by[(b, tg, "random")][5], (b, tg)
