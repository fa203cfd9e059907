"""Resource limits of codecref's decoders and image reader (spec/bitstream.md [bits.C3]).

Every decoder checks the image size its header declares against one cap *before* it
allocates anything sized by that header, so that decoding memory is bounded by a stated
function of the declared sizes (docs/reliability.md gives each system's measured bytes
per pixel).  The same cap bounds the images ``read_image`` accepts for encoding.

    max_pixels = $CODECREF_MAX_PIXELS  if set (a positive integer; "0" is refused)
               = DEFAULT_MAX_PIXELS    otherwise (2**24 = 16,777,216 pixels: 4096 x 4096)

``codecref decode --max-pixels N`` sets the variable for one run.  A declared size over
the cap is a non-conforming stream for this decoder (BitstreamError, exit 3) and, for an
input image, a bad input (InputError, exit 2); both messages name the variable to raise.
"""

from __future__ import annotations

import os

from ref.core.errors import BitstreamError, InputError
from ref.core.registry import implements

__all__ = ["DEFAULT_MAX_PIXELS", "ENV_MAX_PIXELS", "max_pixels", "check_declared_pixels",
           "check_input_pixels"]

DEFAULT_MAX_PIXELS = 1 << 24
ENV_MAX_PIXELS = "CODECREF_MAX_PIXELS"
HARD_MAX_PIXELS = 1 << 40  # a value above this is surely a typo: refuse it
#: Largest container file ``codecref decode`` / ``inspect`` reads (1 GiB): the bytes are read
#: into memory before parsing, so this bounds that part of the decoder's memory.
MAX_FILE_BYTES = 1 << 30


def max_pixels() -> int:
    """The pixel cap in force (H * W, channels not counted): $CODECREF_MAX_PIXELS or 2**24."""
    raw = os.environ.get(ENV_MAX_PIXELS, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"${ENV_MAX_PIXELS}={raw!r} is not an integer") from None
    if not 1 <= value <= HARD_MAX_PIXELS:
        raise InputError(f"${ENV_MAX_PIXELS}={value} outside [1, 2**40]")
    return value


def _raise_hint() -> str:
    return f"raise the cap with --max-pixels or ${ENV_MAX_PIXELS} (now {max_pixels()})"


@implements("bits.C3")
def check_declared_pixels(height: int, width: int, what: str) -> int:
    """Decoder side: declared ``height`` x ``width`` (ints, already range-checked >= 1)
    -> H * W; BitstreamError (exit 3) when over :func:`max_pixels`."""
    n = int(height) * int(width)
    cap = max_pixels()
    if n > cap:
        raise BitstreamError(f"bitstream: {what} declares {width}x{height} = {n} pixels, over this "
                             f"decoder's cap of {cap} ({_raise_hint()})")
    return n


@implements("bits.C3")
def check_input_pixels(height: int, width: int, what: str) -> int:
    """Encoder side: an input image of ``height`` x ``width`` -> H * W; InputError (exit 2)
    when over :func:`max_pixels`."""
    n = int(height) * int(width)
    cap = max_pixels()
    if n > cap:
        raise InputError(f"{what}: {width}x{height} = {n} pixels is over the cap of {cap} pixels "
                         f"(raise it with ${ENV_MAX_PIXELS})")
    return n
