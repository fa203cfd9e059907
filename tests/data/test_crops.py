"""The training crop stream: crops are real windows of the images, seeded, resumable,
large images halved, cache bounded."""

import numpy as np
import pytest

from ref.core.errors import InputError
from ref.data.crops import CropStream, halve, prepared_size


def _coord_image(h, w, tag):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([y % 256, x % 256, np.full_like(y, tag)], axis=2).astype(np.uint8)


def _sources():
    imgs = {"a": _coord_image(40, 60, 1), "b": _coord_image(50, 30, 2), "tiny": _coord_image(8, 8, 3)}
    return [(n, im.shape[:2], lambda im=im: im) for n, im in imgs.items()], imgs


@pytest.mark.eq("core.train_crops")
def test_crops_are_windows_of_the_sources_with_flips():
    src, imgs = _sources()
    s = CropStream(16, seed=5, sources=src, halve_min_side=0)
    assert s.names == ["a", "b"]  # the 8x8 image is smaller than the crop
    seen_flip = False
    for c in s.batch(64):
        im = imgs["a" if c[0, 0, 2] == 1 else "b"]
        y, x = int(c[:, :, 0].min()), int(c[:, :, 1].min())
        win = im[y:y + 16, x:x + 16]
        ok = [np.array_equal(c, v) for v in (win, win[:, ::-1], win[::-1], win[::-1, ::-1])]
        assert any(ok)
        seen_flip |= not ok[0]
    assert seen_flip


def test_area_weighted_choice():
    src, _ = _sources()
    s = CropStream(16, seed=0, sources=src, halve_min_side=0)
    tags = s.batch(2000)[:, 0, 0, 2]
    # areas 2400 : 1500 -> p(a) = 0.615
    assert abs(np.mean(tags == 1) - 2400 / 3900) < 0.04


def test_state_resumes_the_same_stream():
    src, _ = _sources()
    s1 = CropStream(16, seed=9, sources=src, halve_min_side=0)
    s1.batch(7)
    st = s1.get_state()
    want = s1.batch(5)
    s2 = CropStream(16, seed=123, sources=src, halve_min_side=0)
    assert not np.array_equal(s2.batch(5), want)
    s2.set_state(st)
    assert np.array_equal(s2.batch(5), want)
    with pytest.raises(InputError, match="training images"):
        CropStream(16, seed=0, sources=src[:1], halve_min_side=0).set_state(st)


@pytest.mark.eq("core.train_crops")
def test_large_images_are_halved_and_cache_is_bounded():
    img = np.arange(30 * 41 * 3, dtype=np.uint32).reshape(30, 41, 3).astype(np.uint8)
    h = halve(img)
    assert h.shape == (15, 21, 3) and prepared_size(30, 41, 30) == (15, 21)
    ref = np.rint(img[:2, :2].astype(np.float64).mean(axis=(0, 1)) + 1e-9)
    assert np.array_equal(h[0, 0], ref.astype(np.uint8))
    assert np.array_equal(h[0, 20], np.rint(img[:2, 40].astype(np.float64).mean(0) + 1e-9).astype(np.uint8))
    src = [(f"i{k}", (64, 64), lambda k=k: np.full((64, 64, 3), k, np.uint8)) for k in range(6)]
    s = CropStream(8, seed=0, sources=src, halve_min_side=64, cache_mb=2 * 32 * 32 * 3 / 2**20)
    assert s.sources[0][1] == (32, 32)
    s.batch(50)
    assert len(s.cache) <= 2 and s.cache_bytes <= 2 * 32 * 32 * 3
