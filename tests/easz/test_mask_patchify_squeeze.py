"""Mask serialisation, two-stage patchify and padding, squeeze/unsqueeze, complexity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref.core.errors import BitstreamError, InputError
from ref.easz.complexity import attention_cost
from ref.easz.mask_io import deserialize_mask, mask_nbytes, serialize_mask
from ref.easz.patchify import (crop, pad_to_multiple, patchify, pixel_keep, subpatchify, unpatchify,
                               unsubpatchify)
from ref.easz.sampler import SamplerConfig, row_sampler_mask, sr2x_mask
from ref.easz.squeeze import SqueezePlan, squeeze, squeeze_reference, unsqueeze


# --------------------------------------------------------------------------- mask_io
@pytest.mark.eq("easz.C9")
def test_mask_serialisation_size_and_bit_order():
    keep = row_sampler_mask(SamplerConfig(32, 16), 1)
    data = serialize_mask(keep)
    assert len(data) == 128 == mask_nbytes(32)
    row = np.array([[1, 1, 0, 1, 1, 1, 0, 1]] + [[1] * 8] * 7, dtype=np.uint8)
    assert serialize_mask(row)[0] == 0xDD                       # MSB first, row-major
    assert np.array_equal(deserialize_mask(data, 32, 16), keep)
    odd = (np.arange(25).reshape(5, 5) % 2).astype(np.uint8)
    d5 = serialize_mask(odd)
    assert len(d5) == 4 and d5[-1] & 0x7F == 0                  # 25 bits, 7 zero padding bits
    assert np.array_equal(deserialize_mask(d5, 5), odd)


@pytest.mark.eq("easz.C9")
def test_mask_deserialisation_errors():
    keep = row_sampler_mask(SamplerConfig(8, 2), 0)
    data = serialize_mask(keep)
    with pytest.raises(BitstreamError, match="bytes"):
        deserialize_mask(data[:-1], 8)
    with pytest.raises(BitstreamError, match="keeps"):
        deserialize_mask(data, 8, T=3)
    with pytest.raises(BitstreamError, match="padding"):
        deserialize_mask(b"\xff" * 4, 5)
    with pytest.raises(InputError):
        serialize_mask(np.full((3, 3), 2))


# --------------------------------------------------------------------------- patchify
@pytest.mark.eq("easz.patchify")
def test_two_stage_patchify_order_and_inverse():
    img = np.arange(8 * 12 * 3, dtype=np.int32).reshape(8, 12, 3)
    p = patchify(img, 4)
    assert p.shape == (6, 4, 4, 3)
    assert np.array_equal(p[1], img[0:4, 4:8]) and np.array_equal(p[3], img[4:8, 0:4])
    t = subpatchify(p, 2)
    assert t.shape == (6, 4, 12)
    assert np.array_equal(t[1, 2], img[2:4, 4:6].reshape(-1))   # patch 1, sub-patch (1, 0)
    assert np.array_equal(unsubpatchify(t, 4, 2, 3), p)
    assert np.array_equal(unpatchify(p, 8, 12), img)
    with pytest.raises(InputError):
        patchify(img[:7], 4)


@pytest.mark.eq("easz.C11")
def test_padding_edge_replicate_and_crop():
    img = np.arange(5 * 7, dtype=np.uint8).reshape(5, 7, 1)
    p = pad_to_multiple(img, 4)
    assert p.shape == (8, 8, 1)
    assert np.array_equal(p[:5, :7], img)
    assert np.all(p[7, :7, 0] == img[4, :, 0]) and np.all(p[:5, 7, 0] == img[:, 6, 0]) and p[7, 7, 0] == img[4, 6, 0]
    assert np.array_equal(crop(p, 5, 7), img)
    assert pad_to_multiple(p, 4) is p


@pytest.mark.eq("easz.C1", "easz.C7")
def test_pixel_keep_tiles_one_template_per_image():
    keep = sr2x_mask(2)                     # [[1,0],[0,1]] on sub-patches
    K = pixel_keep(keep, 4, 2, 8, 12)
    assert K.shape == (8, 12)
    assert K[0:2, 0:2].all() and not K[0:2, 2:4].any() and K[6:8, 10:12].all()
    assert np.array_equal(K[:4, :4], K[4:, 8:])


# --------------------------------------------------------------------------- squeeze
@st.composite
def squeeze_cases(draw):
    b = draw(st.sampled_from([1, 2, 4]))
    g = draw(st.sampled_from([2, 4, 8]))
    n = b * g
    T = draw(st.integers(0, g - 1))
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    c = draw(st.sampled_from([1, 3]))
    dtype = draw(st.sampled_from([np.uint8, np.float32]))
    seed = draw(st.integers(0, 2**32))
    rng = np.random.default_rng(seed)
    img = rng.integers(1, 256, size=(ph * n, pw * n, c)).astype(dtype)
    keep = row_sampler_mask(SamplerConfig(g, T, draw(st.integers(0, 2)), draw(st.integers(-1, 1))), seed)
    return img, keep, n, b


@settings(max_examples=120, deadline=None)
@given(squeeze_cases())
@pytest.mark.eq("easz.squeeze", "easz.unsqueeze", "easz.C10")
def test_property_squeeze_matches_formula_and_unsqueeze_is_identity_on_kept(case):
    img, keep, n, b = case
    plan = SqueezePlan.build(keep, n, b)
    sq = squeeze(img, plan)
    g = n // b
    assert sq.shape == (img.shape[0], img.shape[1] * plan.k // g, img.shape[2]) and sq.dtype == img.dtype
    assert np.array_equal(sq, squeeze_reference(img, keep, n, b))
    u = unsqueeze(sq, plan, img.shape[1])
    K = pixel_keep(keep, n, b, *img.shape[:2])
    assert np.array_equal(u[K], img[K]) and np.all(u[~K] == 0)
    assert np.array_equal(squeeze(u, plan), sq)


@pytest.mark.eq("easz.squeeze", "easz.sr2x")
def test_sr2x_squeeze_is_quincunx_half_width():
    img = np.arange(8 * 16 * 1, dtype=np.uint8).reshape(8, 16, 1)
    sq = squeeze(img, SqueezePlan.build(sr2x_mask(8), 8, 1))
    assert sq.shape == (8, 8, 1)
    assert np.array_equal(sq[0::2], img[0::2, 0::2]) and np.array_equal(sq[1::2], img[1::2, 1::2])


@pytest.mark.eq("easz.C10")
def test_squeeze_errors():
    keep = row_sampler_mask(SamplerConfig(8, 2), 0)
    with pytest.raises(InputError):
        SqueezePlan.build(keep, 32, 2)                 # 8x8 template vs n/b = 16
    bad = keep.copy()
    bad[0, :] = 1
    with pytest.raises(InputError):
        SqueezePlan.build(bad, 32, 4)                  # unequal rows
    plan = SqueezePlan.build(keep, 32, 4)
    with pytest.raises(InputError):
        squeeze(np.zeros((30, 32, 3), np.uint8), plan)
    with pytest.raises(InputError):
        unsqueeze(np.zeros((32, 20, 3), np.uint8), plan, 32)


# --------------------------------------------------------------------------- complexity
@pytest.mark.eq("easz.complexity", "easz.C15")
def test_paper_complexity_example():
    c = attention_cost(256, 256, 32, 4)
    assert c.full_pixel == 4_294_967_296
    assert c.per_patch_pixel == 1_048_576 and c.paper_ratio == 4096    # the paper's numbers
    assert c.two_stage == 256 * 256 * 32**2 // 4**4 == 262_144          # the paper's formula
    assert c.formula_ratio == 16384 and c.stage1 == 4096
    assert attention_cost(256, 256, 32, 1).two_stage == 256 * 256 * 32**2
    with pytest.raises(InputError):
        attention_cost(250, 256, 32, 4)
