"""Shared runner of the ``<system>.rejects.*`` golden vectors (crafted non-conforming streams).

A rejects vector stores crafted containers as inputs; its one output is the exit status a
decoder reports for each input, in sorted name order, under the error contract of
spec/bitstream.md [bits.C3]: 3 for a non-conforming stream, 0 for a silent decode, and 70 for
any exception that is not a :class:`~ref.core.errors.CodecrefError` (a bug).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ref.core.errors import CodecrefError


def exit_codes(decode: Callable[[bytes], object], inputs: dict[str, bytes]) -> dict[str, np.ndarray]:
    """``{"exit_code": uint8 (n,)}``: ``decode``'s exit status for each input, sorted by name."""
    codes = []
    for name in sorted(inputs):
        try:
            decode(inputs[name])
            codes.append(0)
        except CodecrefError as exc:
            codes.append(exc.exit_code)
        except Exception:  # noqa: BLE001 - a bug: what the CLI reports as 70
            codes.append(70)
    return {"exit_code": np.array(codes, dtype=np.uint8)}
