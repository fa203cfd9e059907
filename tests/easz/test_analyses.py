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


def test_edge_cost_arithmetic_on_a_fake_clock(monkeypatch):
    """Each timed step advances a fake clock by a known amount (mask 2, squeeze 3, JPEG 40
    units; the third repeat's squeeze 1 unit): best-of = (2, 1, 40), so ratio = (2 + 1) / 40,
    squeeze-only 1 / 40, median ratio (2 + 3) / 40; and the timed squeeze is the real one."""
    import types

    from PIL import Image

    from ref.easz.codec import EaszParams

    now = [0.0]
    monkeypatch.setattr(A, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    real_make_mask, real_squeeze = A.make_mask, A.squeeze
    squeezed = []

    def make_mask(p):
        now[0] += 2.0
        return real_make_mask(p)

    def squeeze(x, plan):
        now[0] += 1.0 if len(squeezed) == 2 else 3.0
        squeezed.append(real_squeeze(x, plan))
        return squeezed[-1]

    def save(self, fp, format=None, **kw):  # noqa: A002
        now[0] += 40.0

    monkeypatch.setattr(A, "make_mask", make_mask)
    monkeypatch.setattr(A, "squeeze", squeeze)
    monkeypatch.setattr(Image.Image, "save", save)
    img = A.kodak_size(A.eval_image("motorcycle_right"))
    assert img.shape == (512, 768, 3)
    r = A.edge_cost(img, EaszParams(n=32, b=4, T=2), repeats=3)
    assert (r["mask_s"], r["squeeze_s"], r["jpeg_s"]) == (2.0, 1.0, 40.0)
    assert r["ratio"] == 3 / 40 and r["ratio_squeeze_only"] == 1 / 40 and r["ratio_median"] == 5 / 40
    assert len(squeezed) == 3 and squeezed[0].shape == (512, 576, 3)      # 768 * 6/8 columns kept


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
