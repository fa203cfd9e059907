"""Exceptions raised by codecref.

Every error a user can cause (bad input file, corrupted bitstream, wrong
option) is a :class:`CodecrefError`; the CLI prints its message as one line on
stderr and exits non-zero.  Anything else escaping to the CLI is a bug.
"""


class CodecrefError(Exception):
    """Base class of all user-facing errors (clear one-line message)."""

    exit_code = 2


class BitstreamError(CodecrefError):
    """A container or entropy-coded stream is truncated, corrupted or unsupported."""

    exit_code = 3


class InputError(CodecrefError):
    """Invalid user input: wrong shape, dtype, NaN, unsupported image, bad option."""

    exit_code = 2


class GoldenError(CodecrefError):
    """Golden-vector files are missing, altered (SHA-256 mismatch) or malformed."""

    exit_code = 4
