"""The strided-copy squeeze / unsqueeze equal their one-line readable twins (easz.squeeze,
easz.unsqueeze), including the 'wrapped' runs that cross a patch boundary."""

from __future__ import annotations

import numpy as np
import pytest

from ref.easz.sampler import SamplerConfig, row_sampler_mask
from ref.easz.squeeze import SqueezePlan, squeeze, squeeze_reference, unsqueeze, unsqueeze_reference

pytestmark = pytest.mark.eq("easz.squeeze", "easz.unsqueeze", "easz.C10")


@pytest.mark.parametrize("n,b,T,seed,dtype", [(32, 4, 2, 0, np.uint8), (16, 2, 3, 5, np.float32),
                                              (8, 1, 4, 1, np.uint8), (32, 8, 1, 3, np.float64)])
def test_fast_paths_equal_readable_twins(n, b, T, seed, dtype):
    g = n // b
    keep = row_sampler_mask(SamplerConfig(g, T), seed)
    keep[0] = 1
    keep[0, 1:T + 1] = 0                       # row 0 keeps its first and last column: a wrapped run
    rng = np.random.default_rng(seed)
    img = (rng.random((2 * n, 3 * n, 3)) * 255).astype(dtype)
    plan = SqueezePlan.build(keep, n, b)
    sq = squeeze(img, plan)
    assert np.array_equal(sq, squeeze_reference(img, keep, n, b))
    assert np.array_equal(unsqueeze(sq, plan, 3 * n), unsqueeze_reference(sq, keep, n, b, 3 * n))


def test_twins_by_hand():
    """n = 4, b = 2 (g = 2), template [[1, 0], [0, 1]]: rows 0-1 keep columns 0-1 of every
    patch, rows 2-3 keep columns 2-3."""
    img = np.arange(4 * 8, dtype=np.uint8).reshape(4, 8, 1)
    keep = np.array([[1, 0], [0, 1]], np.uint8)
    want = np.array([[0, 1, 4, 5], [8, 9, 12, 13], [18, 19, 22, 23], [26, 27, 30, 31]], np.uint8)[..., None]
    assert np.array_equal(squeeze_reference(img, keep, 4, 2), want)
    assert np.array_equal(squeeze(img, SqueezePlan.build(keep, 4, 2)), want)
    back = unsqueeze_reference(want, keep, 4, 2, 8)
    assert back[0, :, 0].tolist() == [0, 1, 0, 0, 4, 5, 0, 0]
