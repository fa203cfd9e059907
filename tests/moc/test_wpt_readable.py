"""The fast WPT (ref.moc.wpt.wpt_forward / wpt_inverse) equals its readable twin
(wpt_forward_np / wpt_inverse_np, built node by node from the moc.wpt_level equation)."""

from __future__ import annotations

import numpy as np
import pytest
import pywt

import jax.numpy as jnp

from ref.moc.wpt import wpt_forward, wpt_forward_np, wpt_inverse, wpt_inverse_np

RNG = np.random.default_rng(7)


@pytest.mark.eq("moc.wpt", "moc.C3")
@pytest.mark.parametrize("shape,J,axes", [((32, 48, 3), 3, (0, 1)), ((64, 2), 3, (0,)), ((8, 16, 12, 1), 2, (0, 1, 2))])
def test_fast_forward_equals_readable_twin(shape, J, axes):
    x = RNG.standard_normal(shape)
    fast = np.asarray(wpt_forward(jnp.asarray(x), "bior4.4", J, axes))
    slow = wpt_forward_np(x, "bior4.4", J, axes)
    assert fast.shape == slow.shape
    assert np.abs(fast - slow).max() <= 1e-12


@pytest.mark.eq("moc.wpt", "moc.C3")
def test_readable_twin_is_pywt_natural_order():
    """Independent of the fast path: the twin's leaves are pywt's WaveletPacket2D natural order."""
    x = RNG.standard_normal((16, 32, 1))
    wp = pywt.WaveletPacket2D(x[..., 0], "bior4.4", mode="periodization", maxlevel=2)
    ref = np.stack([n.data for n in wp.get_level(2, "natural")], -1)
    assert np.abs(wpt_forward_np(x, "bior4.4", 2) - ref).max() <= 1e-12


@pytest.mark.eq("moc.wpt_inverse", "moc.C3")
@pytest.mark.parametrize("shape,J,axes", [((32, 48, 3), 3, (0, 1)), ((8, 16, 12, 1), 2, (0, 1, 2))])
def test_fast_inverse_equals_readable_twin(shape, J, axes):
    x = RNG.standard_normal(shape)
    z = wpt_forward_np(x, "bior4.4", J, axes)
    fast = np.asarray(wpt_inverse(jnp.asarray(z), "bior4.4", J, axes))
    slow = wpt_inverse_np(z, "bior4.4", J, axes)
    assert np.abs(fast - slow).max() <= 1e-12
    assert np.abs(slow - x).max() <= 1e-9          # and it is an inverse (bior4.4 tables: ~1e-11)
