"""Which systems exist and how their ``ref/<system>/cli.py`` plug-ins are found.

Shared by the command line (``ref/cli/``) and the demo (``ref/app/demo.py``), so that
neither imports the other: imports run one way, CLI -> app -> systems -> core.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ref.core.errors import InputError

SYSTEMS = ("easz", "moc", "hcf", "ecf")


def system_cli(name: str) -> ModuleType | None:
    """The system's CLI module, or None if that system is not implemented yet."""
    try:
        return importlib.import_module(f"ref.{name}.cli")
    except ModuleNotFoundError as exc:
        if exc.name in (f"ref.{name}", f"ref.{name}.cli"):
            return None
        raise


def require(name: str, attr: str, fallback_module: str | None = None):
    """``ref.<name>.cli.<attr>`` (or ``ref.<name>.<fallback_module>.<attr>``)."""
    if name not in SYSTEMS:
        raise InputError(f"unknown system {name!r} (choose from {', '.join(SYSTEMS)})")
    mod = system_cli(name)
    if mod is not None and hasattr(mod, attr):
        return getattr(mod, attr)
    if mod is not None and fallback_module:
        try:
            other = importlib.import_module(f"ref.{name}.{fallback_module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ref.{name}.{fallback_module}":
                raise
        else:
            if hasattr(other, attr):
                return getattr(other, attr)
    raise InputError(f"system {name!r} does not provide this command yet")
