"""Numerical environment: flags that must be set before JAX is imported.

Facts behind these settings (measured, ../shared/notes/platforms.md):

* ``--xla_cpu_enable_fast_math=true`` changes log1p and random.normal -> keep false.
* GPUs default to TF32 matmuls -> ``jax_default_matmul_precision = "highest"``.
* ``jax_threefry_partitionable`` changed its default once -> pin it (True).
* ``jax_enable_x64`` is off by default (float64 silently becomes float32).  codecref
  turns it on so that float64 reference paths (e.g. the wavelet packet transform,
  checked against PyWavelets to 1e-12) really run in float64.  Code that wants
  float32 (networks) says so explicitly.
"""

from __future__ import annotations

import os
import platform
import sys

_JAX_ENV = {
    "JAX_ENABLE_X64": "True",
    "JAX_DEFAULT_MATMUL_PRECISION": "highest",
    "JAX_THREEFRY_PARTITIONABLE": "True",
}
_XLA_FLAGS = ("--xla_cpu_enable_fast_math=false", "--xla_gpu_deterministic_ops=true")


def configure_environment() -> None:
    """Set XLA flags (if JAX is not imported yet). Idempotent."""
    flags = os.environ.get("XLA_FLAGS", "")
    for flag in _XLA_FLAGS:
        key = flag.split("=")[0]
        if key not in flags:
            flags = (flags + " " + flag).strip()
    if "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = flags
        # JAX reads these when its config is first created, i.e. at import.
        os.environ.update(_JAX_ENV)
    else:
        configure_jax()


def configure_jax() -> None:
    """Apply codecref's JAX configuration (safe to call repeatedly)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    jax.config.update("jax_threefry_partitionable", True)


def jax():
    """Import JAX with codecref's configuration applied and return the module."""
    import jax as _jax

    configure_jax()
    return _jax


def coder_backend() -> str:
    """The coder ``backend="auto"`` resolves to here (honours ``CODECREF_CODER``)."""
    from ref.core.ans import resolve_backend

    name = resolve_backend("auto")
    return "numpy-mirror" if name == "mirror" else name


def describe() -> dict[str, str]:
    """Platform facts recorded with golden vectors and printed by ``golden verify``."""
    import numpy as np

    info = {
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "coder": coder_backend(),
        "cpus": str(os.cpu_count()),
    }
    try:
        j = jax()
        info["jax"] = j.__version__
        info["jax_backend"] = j.default_backend()
        info["jax_devices"] = ",".join(sorted({d.device_kind for d in j.devices()}))
        info["x64"] = str(bool(j.config.jax_enable_x64))
    except Exception as exc:  # pragma: no cover - jax missing on a port
        info["jax"] = f"unavailable ({exc.__class__.__name__})"
    return info
