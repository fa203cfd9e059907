"""Image files in and out (Pillow), with validation and clear errors.

Images inside codecref are ``numpy.uint8`` arrays of shape (H, W, C), C in {1, 3}.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ref.core.errors import InputError
from ref.core.limits import check_input_pixels, max_pixels

#: Default pixel cap (H * W) of an input image; the cap in force is
#: ``ref.core.limits.max_pixels()`` ($CODECREF_MAX_PIXELS, default 2**24, [bits.C3]).
MAX_PIXELS = 1 << 24


def read_image(path: str | Path) -> np.ndarray:
    """Read an 8-bit grayscale or RGB image as uint8 (H, W, C).

    Palette images are expanded to RGB; alpha channels and 16-bit/float images are
    refused with a clear message rather than silently altered.  Images with more than one
    frame (animated GIF/PNG/WebP, multi-page TIFF) are refused: codecref codes one still
    image.  The pixel count H * W is checked against ``ref.core.limits.max_pixels()``
    (default 2**24) from the file's header, before any pixel is decoded, so a small file
    that declares a huge image ("decompression bomb") is an InputError, not a memory
    exhaustion.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():  # our own cap (below) replaces Pillow's bomb warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            check_input_pixels(im.height, im.width, str(path))
            frames = getattr(im, "n_frames", 1)
            if frames != 1:
                raise InputError(f"{path}: image has {frames} frames (animated or multi-page); "
                                 "codecref codes one still image: extract the frame you want first")
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
    except Image.DecompressionBombError as exc:
        raise InputError(f"{path}: refused as a decompression bomb ({exc})") from exc
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
    check_input_pixels(img.shape[0], img.shape[1], what)
    return img


def write_png(path: str | Path, img: np.ndarray) -> None:
    """Write uint8 (H, W, 1|3) as PNG, atomically (``ref.data.safe_write``: a temporary
    file in the target folder renamed over ``path`` only once complete)."""
    from ref.data.safe_write import atomic_write

    atomic_write(path, png_bytes(img))


def png_bytes(img: np.ndarray) -> bytes:
    """uint8 (H, W, 1|3) -> PNG file bytes (Pillow, default settings)."""
    import io

    from PIL import Image

    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 3) or 0 in img.shape:
        raise InputError(f"image: expected uint8 (H, W, 1|3), got {img.shape} {img.dtype}")
    buf = io.BytesIO()
    Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(buf, format="PNG")
    return buf.getvalue()


def bundled_image_path() -> Path:
    """Path of the real photograph shipped with the package for ``codecref demo``."""
    return Path(__file__).resolve().parent / "demo.png"
