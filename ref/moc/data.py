"""Training and evaluation photographs for moc (DESIGN "Data and weights").

Only images that ship inside scikit-image / scikit-learn (the optional ``train`` extra) are
used; nothing is downloaded.

* train: skimage.data astronaut, chelsea, coffee, rocket, immunohistochemistry;
  sklearn ``load_sample_images()`` china, flower.
* eval (never trained on): skimage.data stereo_motorcycle (left and right views),
  hubble_deep_field; grayscale camera, moon.
"""

from __future__ import annotations

import numpy as np

from ref.data.datasets import EVAL_GRAY, EVAL_RGB, TRAIN_NAMES, load_image  # noqa: F401

#: rescale factors of the training pyramid (area anti-aliasing by skimage.transform.rescale)
TRAIN_SCALES = (1.0, 0.75, 0.5)


def train_pyramid(names=TRAIN_NAMES, scales=TRAIN_SCALES) -> list[np.ndarray]:
    """Every training image at every scale, float32 (H, W, 3) in [0, 1]."""
    from skimage.transform import rescale

    out = []
    for n in names:
        img = load_image(n).astype(np.float32) / 255.0
        for s in scales:
            if s == 1.0:
                out.append(img)
            else:
                out.append(rescale(img, s, channel_axis=-1, anti_aliasing=True, order=1).astype(np.float32))
    return out


class CropSampler:
    """Random crops (size x size), random horizontal/vertical flips, from a pyramid.

    A crop comes from pyramid image i with probability proportional to its area; the
    offset is uniform; each flip has probability 1/2.  numpy PCG64 seeded by ``seed``.
    """

    def __init__(self, images: list[np.ndarray], size: int, seed: int):
        self.images = [im for im in images if min(im.shape[:2]) >= size]
        if not self.images:
            raise InputError(f"no training image is at least {size} px")
        area = np.array([im.shape[0] * im.shape[1] for im in self.images], np.float64)
        self.p = area / area.sum()
        self.size = size
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def batch(self, n: int) -> np.ndarray:
        s = self.size
        out = np.empty((n, s, s, 3), np.float32)
        for b in range(n):
            im = self.images[self.rng.choice(len(self.images), p=self.p)]
            y = self.rng.integers(0, im.shape[0] - s + 1)
            x = self.rng.integers(0, im.shape[1] - s + 1)
            c = im[y : y + s, x : x + s]
            if self.rng.random() < 0.5:
                c = c[:, ::-1]
            if self.rng.random() < 0.5:
                c = c[::-1]
            out[b] = c
        return out
