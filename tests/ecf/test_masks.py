"""Coding groups, anchor parity, segment generator and EGR packing against hand-worked cases
and CompressAI 1.2.8's checkerboard slices."""

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.ecf.egr import egr_pack, egr_unpack
from ref.ecf.masks import checkerboard_parity, group_map, group_masks, group_of, context_mask
from ref.ecf.segments import repeat_hyperprior, segment, unsegment


@pytest.mark.eq("ecf.C1")
def test_anchor_parity_by_hand():
    assert checkerboard_parity(3, 4).tolist() == [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]


@pytest.mark.eq("ecf.groups")
def test_group_map_sfo_cfo_by_hand():
    # N_cs = 3, a 2 x 2 grid: anchors at (0,0), (1,1)
    sfo = group_map(3, 2, 2, "sfo")
    assert sfo[:, 0, 0].tolist() == [0, 2, 4] and sfo[:, 0, 1].tolist() == [1, 3, 5]
    cfo = group_map(3, 2, 2, "cfo")
    assert cfo[:, 1, 1].tolist() == [0, 1, 2] and cfo[:, 1, 0].tolist() == [3, 4, 5]
    for order in ("sfo", "cfo"):
        m = group_masks(3, 4, 6, order)
        assert m.sum(0).min() == 1 and m.sum(0).max() == 1        # a partition
        assert all(m[g].sum() == 12 for g in range(6))           # each group = half a segment
        i, pi = group_of(np.arange(6), 3, order)
        for g in range(6):
            assert m[g, i[g]].sum() == 12 and (checkerboard_parity(4, 6)[m[g, i[g]]] == pi[g]).all()


@pytest.mark.eq("ecf.C3")
def test_context_mask_includes_diagonal_block():
    m = context_mask(np.array([0, 0, 1]), np.array([0, 1, 1]))
    assert m.tolist() == [[True, False, False], [True, False, False], [True, True, True]]


@pytest.mark.eq("ecf.segments")
def test_segment_by_hand_and_round_trip():
    y = np.arange(2 * 2 * 3 * 6).reshape(2, 2, 3, 6)
    s = segment(y, 3)
    assert s.shape == (2, 3, 2, 3, 2)
    assert s[1, 2, 0, 1].tolist() == y[1, 0, 1, 4:6].tolist()
    assert np.array_equal(unsegment(s), y)
    with pytest.raises(InputError):
        segment(y, 4)


@pytest.mark.eq("ecf.C4")
def test_hyperprior_repeated_not_segmented():
    psi = np.random.default_rng(0).normal(size=(1, 2, 2, 5))
    rep = repeat_hyperprior(psi, 4)
    assert rep.shape == (1, 4, 2, 2, 5) and all(np.array_equal(rep[:, i], psi) for i in range(4))


def _compressai_unembed(y):
    """CompressAI 1.2.8 CheckerboardLatentCodec(anchor_parity="even") packing, restated:
    y_[0, ..., 0::2, :] = y[..., 0::2, 0::2]; y_[0, ..., 1::2, :] = y[..., 1::2, 1::2];
    y_[1, ..., 0::2, :] = y[..., 0::2, 1::2]; y_[1, ..., 1::2, :] = y[..., 1::2, 0::2]."""
    H, W = y.shape[-2:]
    out = np.zeros((2,) + y.shape[:-1] + (W // 2,), y.dtype)
    out[0, ..., 0::2, :] = y[..., 0::2, 0::2]
    out[0, ..., 1::2, :] = y[..., 1::2, 1::2]
    out[1, ..., 0::2, :] = y[..., 0::2, 1::2]
    out[1, ..., 1::2, :] = y[..., 1::2, 0::2]
    return out


@pytest.mark.eq("ecf.egr")
def test_egr_pack_equals_compressai_checkerboard_packing():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(1, 3, 6, 8, 2))                  # (B, N_cs, H, W, d)
    for order in ("sfo", "cfo"):
        r = egr_pack(s, order)
        for t in range(6):
            i, pi = (int(v) for v in group_of(t, 3, order))
            ref = _compressai_unembed(np.moveaxis(s[0, i], -1, 0))[pi]   # (d, H, W/2)
            assert np.array_equal(np.moveaxis(r[0, t], -1, 0), ref)
        assert np.array_equal(egr_unpack(r, 3, order), s)
    part = egr_unpack(egr_pack(s, "sfo")[:, :5], 3, "sfo")   # last group missing -> zeros there
    assert np.array_equal(part[0, 2][checkerboard_parity(6, 8) == 1], np.zeros((24, 2)))
