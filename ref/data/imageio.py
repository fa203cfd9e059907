"""Image files in and out (Pillow), with validation and clear errors.

Images inside codecref are ``numpy.uint8`` arrays of shape (H, W, C), C in {1, 3}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ref.core.errors import InputError

MAX_PIXELS = 1 << 28  # refuse absurd sizes instead of exhausting memory


def read_image(path: str | Path) -> np.ndarray:
    """Read an 8-bit grayscale or RGB image as uint8 (H, W, C).

    Palette images are expanded to RGB; alpha channels and 16-bit/float images are
    refused with a clear message rather than silently altered.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
                mode = im.mode
            if mode in ("RGBA", "LA", "PA"):
                alpha = np.asarray(im.getchannel("A"))
                if alpha.min() < 255:
                    raise InputError(f"{path}: image has transparency (mode {mode}); codecref codes opaque images only")
                im = im.convert("RGB" if mode != "LA" else "L")
                mode = im.mode
            if mode == "1":
                im = im.convert("L")
                mode = "L"
            if mode not in ("L", "RGB"):
                raise InputError(f"{path}: unsupported image mode {mode} (need 8-bit grayscale or RGB)")
            arr = np.asarray(im, dtype=np.uint8)
    except UnidentifiedImageError as exc:
        raise InputError(f"{path}: not a readable image file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot decode image ({exc})") from exc
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return check_image(arr, str(path))


def check_image(img: np.ndarray, what: str = "image") -> np.ndarray:
    """Validate an in-memory image: uint8, (H, W, C) with C in {1, 3}, non-empty."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise InputError(f"{what}: expected uint8 pixels, got {img.dtype}")
    if img.ndim != 3 or img.shape[2] not in (1, 3):
        raise InputError(f"{what}: expected shape (H, W, 1|3), got {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise InputError(f"{what}: empty image {img.shape}")
    if img.size > MAX_PIXELS:
        raise InputError(f"{what}: too large ({img.shape})")
    return img


def write_png(path: str | Path, img: np.ndarray) -> None:
    """Write uint8 (H, W, 1|3) as PNG."""
    from PIL import Image

    img = check_image(img)
    Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(Path(path), format="PNG")


def bundled_image_path() -> Path:
    """Path of the real photograph shipped with the package for ``codecref demo``."""
    return Path(__file__).resolve().parent / "demo.png"
