"""The photographs codecref trains and evaluates on: one data policy for every system
(spec/data.md, docs/data.md).

* train: the 169 photographs of the corpus' training split (``codecref data fetch``,
  :mod:`ref.data.corpus`) plus the seven bundled photographs: skimage.data astronaut,
  chelsea, coffee, rocket, immunohistochemistry; sklearn ``load_sample_images()`` china,
  flower.
* eval (never trained on): the 19 photographs of the corpus' evaluation split, each
  downscaled to a short side of 768 (:func:`eval_downscale`), plus skimage.data
  stereo_motorcycle (left and right views), hubble_deep_field; grayscale camera, moon.

Without a corpus everything still works on the bundled images (training says how to
fetch the corpus).  :func:`eval_image` refuses every training image, bundled or corpus.
"""

from __future__ import annotations

import numpy as np

from ref.core.errors import InputError
from ref.core.registry import implements

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


def eval_image(name: str, root=None) -> np.ndarray:
    """An evaluation image, uint8 (H, W, C); refuses training images (bundled or corpus), so a
    report can never use one.  Corpus evaluation photographs come downscaled
    (:func:`eval_downscale`, short side 768)."""
    if ALIASES.get(name, name) in EVAL_NAMES:
        return load_image(name)
    ev = _corpus("eval", root)
    if name in ev:
        return eval_downscale(decode_photo(ev[name]))
    if name in TRAIN_NAMES or name in _corpus("train", root):
        raise InputError(f"not an evaluation image: {name!r} is a training image")
    raise InputError(f"not an evaluation image: {name!r} (choose from {', '.join(eval_names(root))})")


def training_images() -> dict[str, np.ndarray]:
    """The seven bundled training photographs, uint8 (H, W, 3), by name."""
    return {n: load_image(n) for n in TRAIN_NAMES}


# --------------------------------------------------------------------------- corpus
EVAL_SHORT_SIDE = 768


@implements("core.eval_downscale")
def eval_size(width: int, height: int, short: int = EVAL_SHORT_SIDE) -> tuple[int, int]:
    """Size (width, height) of an evaluation photograph after :func:`eval_downscale`:
    unchanged if min(w, h) <= short, else the short side becomes ``short`` and the long
    side L becomes floor(L * short / S + 1/2) (S the short side; integer arithmetic:
    (2 L short + S) // (2 S))."""
    s = min(width, height)
    if s <= short:
        return width, height
    scale = lambda L: (2 * L * short + s) // (2 * s)  # noqa: E731
    return (short, scale(height)) if width == s else (scale(width), short)


@implements("core.eval_downscale")
def eval_downscale(img: np.ndarray, short: int = EVAL_SHORT_SIDE) -> np.ndarray:
    """uint8 (H, W, C) -> uint8 (H', W', C), (W', H') = eval_size(W, H): Pillow
    ``Image.resize(size, Image.Resampling.LANCZOS, reducing_gap=None)`` (Lanczos a = 3 over
    the whole input, 8-bit fixed-point arithmetic), each channel separately for C = 1."""
    from PIL import Image

    h, w = img.shape[:2]
    size = eval_size(w, h, short)
    if size == (w, h):
        return img
    planes = [img] if img.shape[2] == 3 else [img[:, :, c] for c in range(img.shape[2])]
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(p)).resize(size, Image.Resampling.LANCZOS,
                                                                       reducing_gap=None)) for p in planes]
    return np.ascontiguousarray(out[0] if img.shape[2] == 3 else np.stack(out, axis=2))


def decode_photo(path) -> np.ndarray:
    """A corpus file (JPEG / WebP / PNG) as uint8 (H, W, 3) RGB (an alpha channel is dropped)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def _corpus(split: str, root=None) -> dict[str, "object"]:
    from ref.data.corpus import corpus_files

    return {p.stem: p for p in corpus_files(split, root)}


def corpus_train_paths(root=None) -> dict[str, "object"]:
    """{name: path} of the corpus' training photographs ({} without a corpus)."""
    return _corpus("train", root)


def eval_names(root=None) -> tuple[str, ...]:
    """Every evaluation image: the corpus' evaluation split (if fetched), then EVAL_NAMES."""
    return tuple(_corpus("eval", root)) + EVAL_NAMES


def corpus_eval_names(root=None) -> tuple[str, ...]:
    """The corpus' evaluation photographs (empty without a corpus)."""
    return tuple(_corpus("eval", root))


def corpus_hint() -> str:
    """One line saying where the corpus is expected and how to fetch it."""
    from ref.data.corpus import FETCH_HINT, default_dir

    return f"no photo corpus at {default_dir()}: training uses the 7 bundled photographs only; {FETCH_HINT}"
