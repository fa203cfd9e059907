"""Safe output files: checked before the work, written atomically after it.

Every command that writes a user-named file (``codecref encode``, ``codecref decode``)

1. calls :func:`check_output` *before* it reads or computes anything: the output folder
   must exist and be writable, the output must not be the input (same file after
   following symlinks, or the same inode through a hard link), must not be a folder,
   and its extension must be one the command writes;
2. writes with :func:`atomic_write`: the bytes go to a temporary file in the target
   folder, are flushed and fsync'ed, and the temporary file is renamed over the target
   (``os.replace``, atomic on POSIX and Windows).  A failed write (disk full, killed
   process) leaves the previous file, if any, untouched and no partial file behind.

``-`` (stdin / stdout) is not a path: these checks skip it, and callers that support
streams handle it themselves.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from ref.core.errors import InputError

__all__ = ["check_output", "atomic_write", "same_file"]

STDIO = "-"


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when paths ``a`` and ``b`` name the same existing file (symlinks followed,
    hard links detected by device + inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(outfile: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                 extensions: Iterable[str] | None = None, what: str = "output") -> Path | None:
    """Validate an output path before any work is done; InputError (exit 2) on a problem.

    outfile:    the path the command will write (``-`` = stdout: returns None, no check).
    inputs:     paths the command reads; writing over one of them is refused.
    extensions: allowed lower-case suffixes (e.g. ``(".png",)``); None = any.
    Returns the output as a Path.
    """
    if str(outfile) == STDIO:
        return None
    out = Path(outfile)
    if extensions is not None:
        allowed = tuple(e.lower() for e in extensions)
        if out.suffix.lower() not in allowed:
            raise InputError(f"{out}: {what} must end in {' or '.join(allowed)} "
                             f"(this command writes {allowed[0][1:].upper()} only)")
    for src in inputs:
        if str(src) != STDIO and same_file(src, out):
            raise InputError(f"{out}: {what} is the input file {src}; refusing to overwrite it")
    if out.is_dir():
        raise InputError(f"{out}: {what} is a directory")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: {what} folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{out}: {what} folder {parent} is not writable")
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"{out}: exists and is not writable")
    return out


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder + rename).

    If ``path`` is a symlink, the link's target is replaced (the link itself stays).  The
    new file gets the permissions a plain ``open(path, "wb")`` would (0o666 & ~umask), or
    the existing file's mode.  Raises InputError with the OS reason if the write fails;
    the temporary file is removed and the old ``path`` is left as it was.
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InputError(f"{path}: cannot write ({exc.strerror or exc}); nothing was changed") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
