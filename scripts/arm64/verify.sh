#!/usr/bin/env bash
# Run `python -m ref golden verify` with the 64-bit ARM (aarch64) Python of the
# root built by scripts/arm64/setup_root.sh, under qemu user-mode emulation
# (no chroot: the arm64 interpreter is started by qemu-aarch64-static -L ROOT).
#
#   scripts/arm64/verify.sh [ARGS...]       python -m ref golden verify ARGS...
#   scripts/arm64/verify.sh --python-check  smoke test: platform, versions, constriction
#   scripts/arm64/verify.sh --python ARGS.. run the arm64 python with ARGS (debugging)
#
# Exits with the exit code of the Python process.  Environment:
#   CODECREF_ARM_ROOT  arm64 root (default /work/arm64-root)
#   QEMU_CPU           emulated CPU model (default neoverse-n1)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROOT="${CODECREF_ARM_ROOT:-/work/arm64-root}"
PY="$ROOT/usr/bin/python3.11"
SITE="$ROOT/opt/venv/lib/python3.11/site-packages"
QEMU="$(command -v qemu-aarch64-static || true)"

if [ -z "$QEMU" ] || [ ! -x "$PY" ] || [ ! -e "$ROOT/opt/venv/.codecref-complete" ]; then
  echo "arm64 root not ready (ROOT=$ROOT, qemu-aarch64-static=${QEMU:-missing})." >&2
  echo "Build it first:  sudo scripts/arm64/setup_root.sh" >&2
  exit 2
fi

export QEMU_CPU="${QEMU_CPU:-neoverse-n1}"
export OPENBLAS_CORETYPE=ARMV8
# XLA_FLAGS must be set before jax is imported; fast math off (see platforms notes).
export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_cpu_enable_fast_math=false"
export PYTHONPATH="$REPO:$SITE"
export PYTHONNOUSERSITE=1
export PYTHONUNBUFFERED=1          # progress shows up at once in a captured log
# rich sizes its tables to 80 columns when stdout is not a terminal, which cuts
# vector ids; give captured logs room for the full table.
[ -t 1 ] || export COLUMNS="${COLUMNS:-200}"
# Nothing of the host's Python/loader setup may leak into the emulated process.
unset PYTHONHOME PYTHONSTARTUP VIRTUAL_ENV LD_LIBRARY_PATH LD_PRELOAD

arm_python() { "$QEMU" -L "$ROOT" "$PY" "$@"; }

cd "$REPO"

case "${1:-}" in
  --python-check)
    arm_python - <<'PYEOF'
import os, platform, sys, time
t0 = time.time()
print("platform.machine():", platform.machine())
print("python:", sys.version.split()[0], sys.executable)
print("QEMU_CPU:", os.environ.get("QEMU_CPU"), " XLA_FLAGS:", os.environ.get("XLA_FLAGS"))
import numpy as np
print("numpy:", np.__version__)
import jax, jaxlib
import jax.numpy as jnp
print("jax:", jax.__version__, " jaxlib:", jaxlib.__version__, " devices:", jax.devices())
x = jax.jit(lambda v: jnp.tanh(v) @ v.T)(jnp.arange(16.0, dtype=jnp.float32).reshape(4, 4) / 16)
print("jax jit smoke test: sum =", float(x.sum()))
from importlib import import_module
from importlib.metadata import version
for dist, mod in (("scipy", "scipy"), ("PyWavelets", "pywt"), ("ml_dtypes", "ml_dtypes"),
                  ("opt_einsum", "opt_einsum"), ("safetensors", "safetensors"), ("pillow", "PIL"),
                  ("click", "click"), ("rich", "rich"), ("flax", "flax"), ("optax", "optax"),
                  ("matplotlib", "matplotlib")):
    try:
        import_module(mod)
        print(f"{dist}: {version(dist)}")
    except Exception as e:  # report, keep going
        print(f"{dist}: IMPORT FAILED: {type(e).__name__}: {e}")
try:
    import constriction
    print("constriction: importable", getattr(constriction, "__version__", ""))
except ImportError as e:
    print("constriction: not importable (expected on aarch64; NumPy mirror coder is used):", e)
print(f"python-check done in {time.time() - t0:.1f}s")
PYEOF
    exit $?
    ;;
  --python)
    shift
    exec "$QEMU" -L "$ROOT" "$PY" "$@"
    ;;
esac

if [ ! -e "$REPO/ref/__main__.py" ]; then
  echo "$REPO/ref/__main__.py not found: nothing to verify yet" >&2
  exit 2
fi
arm_python -c 'import platform, sys; print("arm64 verify: platform.machine() =", platform.machine(), "| python", sys.version.split()[0])'
echo "arm64 verify: QEMU_CPU=$QEMU_CPU OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE XLA_FLAGS=$XLA_FLAGS"
echo "arm64 verify: python -m ref golden verify $*"
T0=$(date +%s)
set +e
arm_python -m ref golden verify "$@"
rc=$?
set -e
echo "arm64 verify: exit code $rc after $(( $(date +%s) - T0 ))s"
exit "$rc"
