#!/usr/bin/env bash
# Build a 64-bit ARM (aarch64) Debian bookworm root with Python 3.11 and the
# project's runtime wheels, for running `python -m ref golden verify` under
# qemu user-mode emulation on an x86-64 host.  Idempotent: every step is
# skipped when its result is already there.  Must run as root.
#
#   ROOT  = ${CODECREF_ARM_ROOT:-/work/arm64-root}   (keep it OUTSIDE the repo)
#   venv  = ROOT/opt/venv          wheels = ROOT/opt/arm64-wheels
#
# See scripts/arm64/README.md for timings and disk use.
set -euo pipefail

ROOT="${CODECREF_ARM_ROOT:-/work/arm64-root}"
SUITE="${CODECREF_ARM_SUITE:-bookworm}"
MIRROR="${CODECREF_ARM_MIRROR:-http://deb.debian.org/debian}"
WHEELS="$ROOT/opt/arm64-wheels"
VENV_IN_ROOT=/opt/venv
NICE=(nice -n 10)
# Runtime dependencies of the project (constriction is left out on purpose: it
# has no aarch64 wheel and the project falls back to its NumPy ANS coder).
# matplotlib is in pyproject's dependencies too, so it is installed as well.
PKGS=(numpy scipy "jax==0.10.2" "jaxlib==0.10.2" ml_dtypes opt_einsum pywavelets
      safetensors pillow click rich flax optax matplotlib)
PLATFORM_ARGS=(--only-binary=:all:
  --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64
  --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64
  --python-version 3.11 --implementation cp --abi cp311)

log() { printf '[setup_root %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
step_start() { STEP_T0=$(date +%s); log "$*"; }
step_end() { log "done in $(( $(date +%s) - STEP_T0 ))s"; }

[ "$(id -u)" = 0 ] || { echo "setup_root.sh must run as root" >&2; exit 1; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case "$(realpath -m "$ROOT")/" in
  "$REPO"/*)
    echo "CODECREF_ARM_ROOT=$ROOT is inside the repository; put it elsewhere" >&2; exit 1;;
esac

# --- 1. host tools --------------------------------------------------------
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null \
   || ! dpkg -s binfmt-support >/dev/null 2>&1; then
  step_start "apt-get install qemu-user-static binfmt-support debootstrap (host)"
  export DEBIAN_FRONTEND=noninteractive
  "${NICE[@]}" apt-get update -q
  "${NICE[@]}" apt-get install -y -q qemu-user-static binfmt-support debootstrap
  step_end
fi
# binfmt_misc registration is what lets `chroot ROOT ...` run arm64 binaries.
if [ -d /proc/sys/fs/binfmt_misc ] && [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
  command -v systemctl >/dev/null && systemctl restart binfmt-support 2>/dev/null || true
  update-binfmts --import qemu-aarch64 2>/dev/null || true
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  echo "qemu-aarch64 is not registered in binfmt_misc; chroot into the arm64 root cannot work" >&2
  exit 1
fi

# --- helpers for chroot ---------------------------------------------------
MOUNTED=()
mount_chroot() {
  mountpoint -q "$ROOT/proc" || { mount -t proc proc "$ROOT/proc"; MOUNTED+=("$ROOT/proc"); }
  mountpoint -q "$ROOT/dev"  || { mount --bind /dev "$ROOT/dev"; MOUNTED+=("$ROOT/dev"); }
  if [ -d /dev/pts ] && ! mountpoint -q "$ROOT/dev/pts"; then
    mount --bind /dev/pts "$ROOT/dev/pts" 2>/dev/null && MOUNTED+=("$ROOT/dev/pts") || true
  fi
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}
umount_chroot() {
  local i
  for (( i=${#MOUNTED[@]}-1; i>=0; i-- )); do umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" || true; done
  MOUNTED=()
}
trap umount_chroot EXIT
in_root() { "${NICE[@]}" chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

# --- 2. debootstrap, first (foreign) stage ---------------------------------
# (python3.11-venv is NOT in --include: debootstrap cannot resolve its
# dependency alternatives and the second stage then fails; apt installs it in 4.)
if [ ! -x "$ROOT/usr/bin/python3.11" ] && [ ! -e "$ROOT/debootstrap/debootstrap" ]; then
  step_start "debootstrap --foreign --arch=arm64 $SUITE $ROOT (first stage)"
  mkdir -p "$ROOT"
  "${NICE[@]}" debootstrap --arch=arm64 --foreign --variant=minbase \
      --include=python3.11,ca-certificates \
      "$SUITE" "$ROOT" "$MIRROR"
  step_end
fi

# --- 3. debootstrap, second stage (runs arm64 binaries through binfmt) -------
if [ -e "$ROOT/debootstrap/debootstrap" ]; then
  step_start "debootstrap --second-stage inside $ROOT (emulated)"
  cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/" 2>/dev/null || true
  "${NICE[@]}" chroot "$ROOT" /debootstrap/debootstrap --second-stage
  step_end
fi

# --- 4. python3.11 + venv module in the root ---------------------------------
if [ ! -x "$ROOT/usr/bin/python3.11" ] || [ ! -e "$ROOT/usr/lib/python3.11/ensurepip/__init__.py" ]; then
  step_start "apt-get install python3.11 python3.11-venv (inside root, emulated)"
  mount_chroot
  in_root apt-get update -q
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3.11 python3.11-venv ca-certificates
  in_root apt-get clean
  umount_chroot
  step_end
fi

# --- 5. aarch64 wheels, downloaded on the host ---------------------------------
HOST_PY="${CODECREF_HOST_PYTHON:-}"
if [ -z "$HOST_PY" ]; then
  for c in "$REPO/.venv/bin/python" python3; do
    if "$c" -m pip --version >/dev/null 2>&1; then HOST_PY="$c"; break; fi
  done
fi
[ -n "$HOST_PY" ] || { echo "no host python with pip found (set CODECREF_HOST_PYTHON)" >&2; exit 1; }
# Pin every package to the version installed on the host (the project venv), so
# that x86-64 and arm64 runs compare the same package versions.  Packages the
# host does not have stay unpinned (newest aarch64/cp311 wheel).
mapfile -t SPECS < <("$HOST_PY" - "${PKGS[@]}" <<'PYEOF'
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name = spec.split("==")[0]
    try:
        print(f"{name}=={version(name)}")
    except PackageNotFoundError:
        print(spec)
PYEOF
)
WANT="$(printf '%s\n' "${SPECS[@]}")"
if [ ! -e "$WHEELS/.complete" ] || [ "$(cat "$WHEELS/.complete")" != "$WANT" ]; then
  step_start "pip download aarch64/cp311 wheels into $WHEELS (host: $HOST_PY): ${SPECS[*]}"
  rm -rf "$WHEELS"; mkdir -p "$WHEELS"
  # Full dependency resolution for the target platform.  If some (pure-Python)
  # dependency only ships an sdist, fall back to downloading the packages one
  # by one, each with its dependencies if possible, else with --no-deps.
  if ! "${NICE[@]}" "$HOST_PY" -m pip download -q --disable-pip-version-check \
        "${PLATFORM_ARGS[@]}" -d "$WHEELS" "${SPECS[@]}" 2> >(grep -v "is ignored: it is neither" >&2); then
    log "full resolution failed; retrying package by package"
    for p in "${SPECS[@]}"; do
      "${NICE[@]}" "$HOST_PY" -m pip download -q --disable-pip-version-check \
          "${PLATFORM_ARGS[@]}" -d "$WHEELS" "$p" \
        || "${NICE[@]}" "$HOST_PY" -m pip download -q --disable-pip-version-check \
          "${PLATFORM_ARGS[@]}" --no-deps -d "$WHEELS" "$p"
    done
  fi
  printf '%s\n' "$WANT" > "$WHEELS/.complete"
  step_end
fi

# --- 6. venv inside the root, offline install -------------------------------
WHEEL_SET="$(cd "$WHEELS" && ls -1 *.whl | sort)"
if [ ! -e "$ROOT$VENV_IN_ROOT/.codecref-complete" ] \
   || [ "$(cat "$ROOT$VENV_IN_ROOT/.codecref-complete")" != "$WHEEL_SET" ]; then
  step_start "python3.11 -m venv $VENV_IN_ROOT + offline pip install (inside root, emulated)"
  rm -rf "$ROOT$VENV_IN_ROOT"   # a changed wheel set gets a fresh venv
  mount_chroot
  in_root /usr/bin/python3.11 -m venv "$VENV_IN_ROOT"
  # --no-deps + every downloaded wheel: the set was resolved on the host, and
  # this also installs packages whose full resolution could not be satisfied.
  mapfile -t WHL_IN_ROOT < <(printf '/opt/arm64-wheels/%s\n' $WHEEL_SET)
  in_root "$VENV_IN_ROOT/bin/python" -m pip install -q --disable-pip-version-check \
      --no-index --find-links /opt/arm64-wheels --no-deps "${WHL_IN_ROOT[@]}"
  in_root "$VENV_IN_ROOT/bin/python" -m pip check || log "pip check reported problems (see above)"
  in_root "$VENV_IN_ROOT/bin/python" -m pip list --format=freeze > "$ROOT$VENV_IN_ROOT/pip-freeze.txt"
  umount_chroot
  printf '%s\n' "$WHEEL_SET" > "$ROOT$VENV_IN_ROOT/.codecref-complete"
  step_end
fi

log "arm64 root ready at $ROOT ($(du -sh "$ROOT" 2>/dev/null | cut -f1)); total ${SECONDS}s this run"
