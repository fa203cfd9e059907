"""moc CLI plug-in, analyses (quick) and benchmark (no peer, small image)."""

import numpy as np
import pytest
from click.testing import CliRunner

from ref.cli import cli
from ref.data.imageio import write_png


@pytest.mark.eq("moc.C14", "moc.C10")
def test_cli_encode_decode(tmp_path):
    img = (np.add.outer(np.arange(170), np.arange(181)) % 256).astype(np.uint8)[..., None].repeat(3, 2)
    src, enc, dec = tmp_path / "a.png", tmp_path / "a.moc", tmp_path / "b.png"
    write_png(src, img)
    r = CliRunner().invoke(cli, ["encode", "--system", "moc", "--model", "linear_rgb_16x", "--lossless", "ans",
                                 str(src), str(enc)])
    assert r.exit_code == 0, r.output
    assert "bpp" in r.output and "PSNR" in r.output and "MS-SSIM" in r.output and "multiplier" in r.output
    r = CliRunner().invoke(cli, ["decode", str(enc), str(dec)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["encode", "--system", "moc", "--model", "nope", str(src), str(enc)])
    assert r.exit_code != 0 and "unknown moc model" in (r.output + str(r.exception))


@pytest.mark.eq("moc.C17")
def test_resample_baseline_against_box_average_and_pillow_bicubic():
    """21 x 30 at k = 2: pad symmetrically to 24 x 32, average 4 x 4 boxes (rounded), upsample
    each channel with Pillow's bicubic and crop -- computed here; the small image survives the
    lossless WebP bytes (decoded with Pillow); a constant image comes back exactly."""
    import io

    from PIL import Image

    from ref.moc.analyses import resample_baseline

    img = np.random.default_rng(0).integers(0, 256, (21, 30, 3), dtype=np.uint8)
    rec, nb = resample_baseline(img, 2)
    p = np.pad(img, ((0, 3), (0, 2), (0, 0)), mode="symmetric").astype(np.float64)
    small = np.clip(np.rint(p.reshape(6, 4, 8, 4, 3).mean(axis=(1, 3))), 0, 255).astype(np.uint8)
    up = np.stack([np.asarray(Image.fromarray(small[:, :, c]).resize((32, 24), Image.BICUBIC))
                   for c in range(3)], axis=2)
    assert np.array_equal(rec, up[:21, :30])
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, format="WEBP", lossless=True)
    assert abs(nb - len(buf.getvalue())) <= 64          # same image, same lossless codec
    flat = np.full((21, 30, 3), 77, np.uint8)
    assert np.array_equal(resample_baseline(flat, 2)[0], flat)


@pytest.mark.eq("moc.C16")
@pytest.mark.slow
def test_shipped_pca_matches_training_fit():
    """The shipped PCA file is what fit_training_pca gives (needs the train extra)."""
    pytest.importorskip("skimage")
    from ref.moc.linear import fit_training_pca, pca_basis

    mu, V, sd = pca_basis(1, 3)
    mu2, V2, sd2 = fit_training_pca(1, 3)
    assert np.allclose(mu, mu2, atol=1e-12) and np.allclose(sd, sd2, rtol=1e-6)
    # near-degenerate eigenvalues make single eigenvectors ill-defined: compare the subspace
    P, P2 = V[:, :16] @ V[:, :16].T, V2[:, :16] @ V2[:, :16].T
    assert np.abs(P - P2).max() < 1e-3


@pytest.mark.eq("moc.C16")
def test_fit_pca_orthonormal_sorted():
    from ref.moc.linear import fit_pca

    a = np.random.default_rng(0).standard_normal((500, 6)) * np.array([5, 4, 3, 2, 1, 0.5])
    mu, V, sd = fit_pca(a, 3)
    assert np.allclose(V.T @ V, np.eye(3), atol=1e-12) and np.all(np.diff(sd) < 0)
    # peer: NumPy's SVD of the centred data; same directions up to sign, sd = s / sqrt(n - 1)
    c = a - a.mean(axis=0)
    _, s, vt = np.linalg.svd(c, full_matrices=False)
    np.testing.assert_allclose(np.abs(V.T @ vt[:3].T), np.eye(3), atol=1e-9)
    np.testing.assert_allclose(sd, s[:3] / np.sqrt(len(a) - 1), rtol=1e-10)
    np.testing.assert_allclose(mu, a.mean(axis=0), atol=1e-15)
    # sign convention: the largest-magnitude entry of every column is positive
    assert np.all(V[np.argmax(np.abs(V), axis=0), range(3)] > 0)


def test_bench_runs_without_peer():
    from ref.moc.bench import render, run_bench

    res = run_bench(64, 96, repeat=1, peer=False)
    rows = render(res)
    assert res["ours_wpt_ms"] > 0 and res["pywt_wpt_ms"] > 0
    # the ratio printed is pywt time / codecref time (not the inverse), one decimal
    assert rows[0][-1] == f"{res['pywt_wpt_ms'] / res['ours_wpt_ms']:.1f}x"
    assert rows[0][1] == f"{res['ours_wpt_ms']:.1f}" and rows[0][3] == f"{res['pywt_wpt_ms']:.1f}"
    assert rows[1][-1] == "peer not run"


@pytest.mark.slow
def test_analyses_quick(tmp_path):
    from ref.moc import analyses

    rows = analyses.run("reduction", outdir=str(tmp_path), quick=True, use_models=False)
    assert {r["kind"] for r in rows} == {"resample", "linear (PCA)"}
    assert (tmp_path / "moc_reduction.png").is_file()
