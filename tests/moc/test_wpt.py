"""moc wavelet packet transform: equality with PyWavelets, inverse, N-D, errors."""

import numpy as np
import pytest
import pywt

import ref.moc  # noqa: F401  (x64)
import jax.numpy as jnp

from ref.moc.wpt import (leaf_order, leaf_paths, level_analysis_np, level_synthesis_np, wavelet_filters,
                         wpt_forward, wpt_inverse)

RNG = np.random.default_rng(1234)


def _pywt2d(x, J, wavelet="bior4.4"):
    out = []
    for c in range(x.shape[-1]):
        wp = pywt.WaveletPacket2D(x[..., c], wavelet, mode="periodization", maxlevel=J)
        out += [n.data for n in wp.get_level(J, "natural")]
    return np.stack(out, -1)


@pytest.mark.eq("moc.wpt", "moc.C1", "moc.C2", "moc.C3")
@pytest.mark.parametrize("J", [1, 3, 4])
def test_wpt_2d_equals_pywt_waveletpacket2d(J):
    x = RNG.standard_normal((32, 48, 3))
    y = np.asarray(wpt_forward(jnp.asarray(x), "bior4.4", J))
    ref = _pywt2d(x, J)
    assert y.shape == (32 >> J, 48 >> J, 3 * 4**J)
    assert np.abs(y - ref).max() <= 1e-12


@pytest.mark.eq("moc.wpt", "moc.C3")
@pytest.mark.parametrize("wavelet", ["haar", "db4", "bior2.2"])
def test_wpt_other_wavelets_equal_pywt(wavelet):
    x = RNG.standard_normal((16, 24, 1))
    assert np.abs(np.asarray(wpt_forward(jnp.asarray(x), wavelet, 2)) - _pywt2d(x, 2, wavelet)).max() <= 1e-12


@pytest.mark.eq("moc.wpt", "moc.C3")
@pytest.mark.parametrize("J", [1, 3, 5])
def test_wpt_1d_equals_pywt_waveletpacket(J):
    x = RNG.standard_normal((64, 2))
    y = np.asarray(wpt_forward(jnp.asarray(x), "bior4.4", J, (0,)))
    for c in range(2):
        wp = pywt.WaveletPacket(x[:, c], "bior4.4", mode="periodization", maxlevel=J)
        ref = np.stack([n.data for n in wp.get_level(J, "natural")], -1)
        assert np.abs(y[:, c * 2**J:(c + 1) * 2**J] - ref).max() <= 1e-12
    assert leaf_paths(J, 1, "1d") == [n.path for n in wp.get_level(J, "natural")]


@pytest.mark.eq("moc.wpt", "moc.C3")
def test_wpt_3d_equals_pywt_waveletpacketnd_by_path():
    x = RNG.standard_normal((8, 16, 12, 1))
    J = 2
    y = np.asarray(wpt_forward(jnp.asarray(x), "bior4.4", J, (0, 1, 2)))
    wp = pywt.WaveletPacketND(x[..., 0], "bior4.4", mode="periodization", maxlevel=J)
    ref = np.stack([wp[p].data for p in leaf_paths(J, 3, "nd")], -1)
    assert np.abs(y - ref).max() <= 1e-12


@pytest.mark.eq("moc.C3")
def test_leaf_paths_2d_are_pywt_natural_order():
    wp = pywt.WaveletPacket2D(np.zeros((8, 8)), "bior4.4", mode="periodization", maxlevel=2)
    assert leaf_paths(2, 2, "2d") == [n.path for n in wp.get_level(2, "natural")]
    assert leaf_order(1, 2) == ((0, 1), (0, 0))


@pytest.mark.eq("moc.wpt_level")
@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4", "sym4", "bior2.2", "bior4.4"])
def test_level_identity_equals_pywt_dwt_idwt(wavelet):
    x = RNG.standard_normal((3, 40))
    a, d = level_analysis_np(x, wavelet)
    ra, rd = pywt.dwt(x, wavelet, mode="periodization")
    assert np.abs(a - ra).max() <= 1e-14 and np.abs(d - rd).max() <= 1e-14
    assert np.abs(level_synthesis_np(a, d, wavelet) - pywt.idwt(a, d, wavelet, mode="periodization")).max() <= 1e-14
    assert len(wavelet_filters(wavelet)[0]) % 2 == 0


@pytest.mark.eq("moc.wpt_inverse", "moc.C4")
def test_inverse_equals_pywt_reconstruct_and_refined_roundtrip():
    J = 3
    x = RNG.standard_normal((16, 24, 2))
    y = wpt_forward(jnp.asarray(x), "bior4.4", J)
    xi = np.asarray(wpt_inverse(y, "bior4.4", J))
    for c in range(2):
        wp = pywt.WaveletPacket2D(None, "bior4.4", mode="periodization", maxlevel=J)
        for i, p in enumerate(leaf_paths(J, 2, "2d")):
            wp[p] = np.asarray(y)[..., c * 4**J + i]
        assert np.abs(xi[..., c] - wp.reconstruct(update=False)).max() <= 1e-12
    assert np.abs(xi - x).max() <= 1e-10  # pywt's own bior4.4 round trip is ~2e-11
    xr = np.asarray(wpt_inverse(y, "bior4.4", J, refine=1))
    assert np.abs(xr - x).max() <= 1e-12


@pytest.mark.eq("moc.wpt_inverse")
def test_inverse_nd_and_batch_axes():
    x = RNG.standard_normal((2, 8, 16, 4, 3))
    for axes in [(1,), (1, 2, 3)]:
        y = wpt_forward(jnp.asarray(x), "bior4.4", 2, axes)
        xr = np.asarray(wpt_inverse(y, "bior4.4", 2, axes, refine=1))
        assert np.abs(xr - x).max() <= 1e-12


@pytest.mark.eq("moc.wpt")
def test_float32_path_and_energy():
    x = RNG.standard_normal((64, 64, 3)).astype(np.float32)
    y = wpt_forward(jnp.asarray(x), "bior4.4", 3)
    assert y.dtype == jnp.float32
    assert np.abs(np.asarray(y, np.float64) - _pywt2d(x.astype(np.float64), 3)).max() < 1e-4
    yh = wpt_forward(jnp.asarray(x), "haar", 3)
    assert np.isclose(float(jnp.sum(yh.astype(jnp.float64) ** 2)), float(np.sum(x.astype(np.float64) ** 2)), rtol=1e-5)


@pytest.mark.eq("moc.wpt")
def test_wpt_rejects_bad_shapes():
    with pytest.raises(ValueError, match="multiple of 2"):
        wpt_forward(jnp.zeros((12, 16, 3)), "bior4.4", 3)
    with pytest.raises(ValueError, match="channel axis"):
        wpt_forward(jnp.zeros((16, 16, 3)), "bior4.4", 1, (0, 2))
