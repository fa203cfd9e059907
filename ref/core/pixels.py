"""The pixel convention of the learned codecs (HCF [hcf.C3]/[hcf.C4], ecf [ecf.bits_image]):
edge-replication padding, uint8 -> network input, network output -> uint8.  Each system
states the convention under its own spec ID and calls these functions."""

from __future__ import annotations

import numpy as np

__all__ = ["pad_edge", "to_network", "to_uint8"]


def pad_edge(img: np.ndarray, multiple: int) -> np.ndarray:
    """uint8 (H, W, C) -> (H_p, W_p, C), H_p = multiple * ceil(H / multiple) (likewise W_p):
    rows/columns beyond the image repeat the last row/column (edge replication)."""
    H, W = img.shape[:2]
    return np.pad(img, ((0, (-H) % multiple), (0, (-W) % multiple), (0, 0)), mode="edge")


def to_network(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 1|3) -> float32 (1, H, W, 3) = u8 / 255 (grey repeated on three channels)."""
    x = np.asarray(img, np.float32) / np.float32(255.0)
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    return x[None]


def to_uint8(x_hat, height: int, width: int, channels: int) -> np.ndarray:
    """float (1, H_p, W_p, 3) -> uint8 (H, W, channels): clip(round_half_even(255 x), 0, 255),
    cropped to (H, W); for channels = 1 the mean of the three channels, rounded."""
    u = np.clip(np.rint(np.asarray(x_hat, np.float32)[0, :height, :width] * np.float32(255.0)), 0, 255)
    if channels == 1:
        u = np.rint(u.mean(axis=2, keepdims=True, dtype=np.float32))
    return u.astype(np.uint8)
