"""The photographs codecref trains and evaluates on (DESIGN "Data and weights").

Only images that ship inside scikit-image / scikit-learn (the optional ``train`` extra)
are used; nothing is downloaded at run time.

* train: skimage.data astronaut, chelsea, coffee, rocket, immunohistochemistry;
  sklearn ``load_sample_images()`` china, flower.
* eval (never trained on): skimage.data stereo_motorcycle (left and right views),
  hubble_deep_field; grayscale camera, moon.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError

TRAIN_NAMES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "china", "flower")
EVAL_RGB = ("motorcycle_left", "motorcycle_right", "hubble_deep_field")
EVAL_GRAY = ("camera", "moon")
EVAL_NAMES = EVAL_RGB + EVAL_GRAY
ALIASES = {"hubble": "hubble_deep_field"}


def _skimage():
    try:
        import skimage.data as d
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise InputError("training/evaluation images need the 'train' extra: pip install codecref[train]") from exc
    return d


def load_image(name: str) -> np.ndarray:
    """uint8 (H, W, C) photograph by name (C = 3, or 1 for camera/moon)."""
    name = ALIASES.get(name, name)
    if name not in TRAIN_NAMES + EVAL_NAMES:
        raise InputError(f"unknown image {name!r} (training: {', '.join(TRAIN_NAMES)}; "
                         f"evaluation: {', '.join(EVAL_NAMES)})")
    if name in ("china", "flower"):
        try:
            from sklearn.datasets import load_sample_images
        except ImportError as exc:  # pragma: no cover
            raise InputError("needs scikit-learn (pip install codecref[train])") from exc
        imgs = load_sample_images()
        idx = [f.rsplit("/", 1)[-1].split(".")[0] for f in imgs.filenames].index(name)
        return np.ascontiguousarray(imgs.images[idx])
    d = _skimage()
    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = d.stereo_motorcycle()
        return np.ascontiguousarray(left if name == "motorcycle_left" else right)
    img = np.asarray(getattr(d, name)())
    if img.ndim == 2:
        img = img[..., None]
    return np.ascontiguousarray(img[..., :3].astype(np.uint8))


def eval_image(name: str) -> np.ndarray:
    """An evaluation image (refuses training images, so a report can never use one)."""
    if ALIASES.get(name, name) not in EVAL_NAMES:
        raise InputError(f"not an evaluation image: {name!r} (choose from {', '.join(EVAL_NAMES)})")
    return load_image(name)


def training_images() -> dict[str, np.ndarray]:
    """The seven training photographs, uint8 (H, W, 3), by name."""
    return {n: load_image(n) for n in TRAIN_NAMES}
