"""Streaming random training crops from the training split (spec/data.md, core.train_crops).

One stream serves every system: :class:`CropStream` draws crops from the corpus' training
photographs plus the seven bundled ones (never an evaluation image) with a seeded,
resumable numpy PCG64 generator.

Per crop, in this order (all draws from the stream's generator):

1. image i with probability area_i / sum(area) (areas after step 0);
2. top-left corner y ~ U{0..H_i-S}, x ~ U{0..W_i-S};
3. left-right flip with probability 1/2 (``random() < 0.5``), then up-down flip likewise.

Step 0, once per image: a photograph whose short side is >= ``halve_min_side`` (1400) is
downscaled by 2 (Pillow ``Image.reduce(2)``: mean of each 2x2 block, size rounded up),
which removes most of the wallpapers' JPEG artefacts; images smaller than the crop are
left out.

Decoded images are kept as uint8 in an LRU cache bounded by ``cache_mb`` (the whole
training split after step 0 is 213 MP = 638 MB as uint8); crops are returned as uint8.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

HALVE_MIN_SIDE = 1400


@implements("core.train_crops")
def halve(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> (ceil(H/2), ceil(W/2), 3): Pillow Image.reduce(2) (rounded mean of each 2x2
    block; a last odd row/column is averaged over the pixels it has)."""
    from PIL import Image

    return np.asarray(Image.fromarray(img).reduce(2))


def prepared_size(h: int, w: int, halve_min_side: int = HALVE_MIN_SIDE) -> tuple[int, int]:
    """(H, W) of an image after step 0."""
    return ((h + 1) // 2, (w + 1) // 2) if halve_min_side and min(h, w) >= halve_min_side else (h, w)


@implements("core.train_crops")
class CropStream:
    """Seeded, resumable stream of random training crops.

    Args:
      crop: crop side S (pixels).
      seed: seed of the numpy PCG64 generator.
      root: corpus directory (default $CODECREF_CORPUS or <repo>/corpus); without a corpus
        only the bundled photographs are used.
      bundled: also draw from the seven bundled training photographs.
      halve_min_side: short side from which an image is downscaled by 2 (0 = never).
      flips: random left-right / up-down flips.
      cache_mb: bound of the decoded-image cache (uint8 bytes).
      sources: override: list of (name, (H, W) as stored, loader() -> uint8 (H, W, 3)) (tests).
    """

    def __init__(self, crop: int, seed: int, *, root=None, bundled: bool = True,
                 halve_min_side: int = HALVE_MIN_SIDE, flips: bool = True, cache_mb: float = 768,
                 sources: list[tuple[str, tuple[int, int], Callable[[], np.ndarray]]] | None = None):
        if crop < 1:
            raise InputError(f"crop side must be >= 1, got {crop}")
        self.crop, self.flips, self.halve_min_side = crop, flips, halve_min_side
        if sources is None:
            sources = training_sources(root, bundled)
        self.sources = [(n, prepared_size(*hw, halve_min_side), f) for n, hw, f in sources
                        if min(prepared_size(*hw, halve_min_side)) >= crop]
        if not self.sources:
            raise InputError(f"no training image is at least {crop} px on its short side")
        area = np.array([h * w for _, (h, w), _ in self.sources], np.float64)
        self.p = area / area.sum()
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.cache_bytes, self.cache_limit = 0, int(cache_mb * 2**20)

    @property
    def names(self) -> list[str]:
        return [n for n, _, _ in self.sources]

    def image(self, i: int) -> np.ndarray:
        """Image i after step 0, uint8 (H, W, 3) (through the LRU cache)."""
        if i in self.cache:
            self.cache.move_to_end(i)
            return self.cache[i]
        name, hw, load = self.sources[i]
        img = load()
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise InputError(f"training image {name}: expected uint8 (H, W, 3), got {img.dtype} {img.shape}")
        if prepared_size(*img.shape[:2], self.halve_min_side) != img.shape[:2]:
            img = halve(img)
        if img.shape[:2] != hw:
            raise InputError(f"training image {name}: size {img.shape[:2]} differs from the manifest's {hw}")
        self.cache[i] = img
        self.cache_bytes += img.nbytes
        while self.cache_bytes > self.cache_limit and len(self.cache) > 1:
            _, old = self.cache.popitem(last=False)
            self.cache_bytes -= old.nbytes
        return img

    def batch(self, n: int) -> np.ndarray:
        """``n`` crops, uint8 (n, S, S, 3)."""
        s = self.crop
        out = np.empty((n, s, s, 3), np.uint8)
        for b in range(n):
            i = int(self.rng.choice(len(self.sources), p=self.p))
            h, w = self.sources[i][1]
            y = int(self.rng.integers(0, h - s + 1))
            x = int(self.rng.integers(0, w - s + 1))
            c = self.image(i)[y:y + s, x:x + s]
            if self.flips:
                if self.rng.random() < 0.5:
                    c = c[:, ::-1]
                if self.rng.random() < 0.5:
                    c = c[::-1]
            out[b] = c
        return out

    def get_state(self) -> dict:
        """JSON-serialisable generator state (resume with :meth:`set_state`)."""
        return {"bit_generator": self.rng.bit_generator.state, "images": len(self.sources)}

    def set_state(self, state: dict) -> None:
        if state.get("images") != len(self.sources):
            raise InputError(f"crop-stream state is for {state.get('images')} training images, this stream has "
                             f"{len(self.sources)} (was the corpus fetched or removed since?)")
        self.rng.bit_generator.state = state["bit_generator"]


def training_sources(root=None, bundled: bool = True) -> list:
    """(name, (H, W), loader) of every training photograph: the corpus' training split, then
    (``bundled``) the seven bundled ones."""
    from ref.data import datasets as D
    from ref.data.corpus import read_manifest, default_dir
    from pathlib import Path

    out = []
    root = Path(root) if root is not None else default_dir()
    m = read_manifest(root)
    if m is not None:
        for f in m["files"]:
            if f["split"] == "train":
                p = root / "train" / f["file"]
                out.append((Path(f["file"]).stem, (f["height"], f["width"]), lambda p=p: D.decode_photo(p)))
    if bundled:
        for name, img in D.training_images().items():
            out.append((name, img.shape[:2], lambda img=img: img))
    return out
