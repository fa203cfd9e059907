"""Decode any codecref file: the one path ``codecref decode`` and the fuzz harness share.

    bytes --unpack (bits.C1)--> Container --system's decode_container--> uint8 (H, W, C)

The error contract (spec/bitstream.md [bits.C3]) is applied here:

* a container whose system this build does not decode (unknown ID: caught by ``unpack``;
  a known system with no decoder yet, e.g. ``hcf`` before it lands) is a non-conforming
  stream *for this decoder*: :class:`BitstreamError` (exit 3);
* a decoder must return a uint8 (H, W, 1|3) array of the size its header declares; any
  other return is a bug (AssertionError -> exit 70).
"""

from __future__ import annotations

import numpy as np

from ref.core.container import Container, unpack
from ref.core.errors import BitstreamError, CodecrefError

__all__ = ["decode_bytes", "decode_container", "exit_code"]


def decode_container(container: Container) -> np.ndarray:
    """A parsed container of any system -> uint8 (H, W, C)."""
    from ref.app.systems import system_cli

    if container.system == "core":
        from ref.app.demo import core_decode_container

        img = core_decode_container(container)
    else:
        mod = system_cli(container.system)
        if mod is None or not hasattr(mod, "decode_container"):
            raise BitstreamError(f"bitstream: a {container.system!r} container, but this build of "
                                 f"codecref has no {container.system} decoder yet")
        img = mod.decode_container(container)
    if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
            and img.shape[2] in (1, 3) and img.shape[0] >= 1 and img.shape[1] >= 1):
        raise AssertionError(f"{container.system} decoder returned "
                             f"{getattr(img, 'shape', None)} {getattr(img, 'dtype', type(img))}")
    return img


def decode_bytes(data: bytes) -> tuple[Container, np.ndarray]:
    """Container bytes -> (parsed container, uint8 (H, W, C) image)."""
    container = unpack(data)
    return container, decode_container(container)


def exit_code(exc: BaseException | None) -> int:
    """The CLI exit status of an outcome: 0 success, the CodecrefError's code (2 input,
    3 stream, 4 golden), 70 for anything else (a bug)."""
    if exc is None:
        return 0
    if isinstance(exc, CodecrefError):
        return exc.exit_code
    return 70
