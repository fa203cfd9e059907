#!/usr/bin/env bash
# Cross-platform coding check, x86-64 host <-> aarch64 (qemu, root of setup_root.sh):
# every stream is encoded on both platforms and each stream is decoded on both; the decoded
# latent y_hat (and for core z_hat and the integer indices) must be bit-identical.
#
#   scripts/arm64/cross_decode.sh [DIR]            core hyperprior path, integer h_s (seeded model)
#   scripts/arm64/cross_decode.sh --hcf K [DIR]    HCF level K (needs ref/weights/hcf_qK.safetensors),
#                                                  on a 128x192 centre crop of ref/data/demo.png
#
# DIR (default /tmp/codecref-cross) holds the model, streams and decodes; the verdict is the
# last step (scripts/arm64/cross_decode.py compare), whose exit code this script returns
# (0: all latents bit-identical, 1: a mismatch).  The emulated steps run under nice -n 10.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
HOST_PY="${CODECREF_HOST_PYTHON:-$REPO/.venv/bin/python}"
LEVEL=""
if [ "${1:-}" = "--hcf" ]; then LEVEL="$2"; shift 2; fi
DIR="$(realpath -m "${1:-/tmp/codecref-cross}")"
mkdir -p "$DIR"
X="$REPO/scripts/arm64/cross_decode.py"

host() { (cd "$REPO" && "$HOST_PY" "$@"); }
arm() { nice -n 10 "$HERE/verify.sh" --python "$@"; }
arch_host="$("$HOST_PY" -c 'import platform; print(platform.machine())')"
arch_arm="$(arm -c 'import platform; print(platform.machine())')"
[ "$arch_host" != "$arch_arm" ] || { echo "host and emulated python report the same machine ($arch_host)" >&2; exit 2; }
T0=$(date +%s)
tick() { echo "[cross_decode $(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*"; }

if [ -z "$LEVEL" ]; then
  rm -f "$DIR"/core_enc-*
  tick "make-core (host, once)";              host "$X" make-core "$DIR"
  tick "encode on $arch_host";                host "$X" encode-core "$DIR" "$DIR/core_enc-$arch_host.cref"
  tick "encode on $arch_arm";                 arm  "$X" encode-core "$DIR" "$DIR/core_enc-$arch_arm.cref"
  for enc in "$arch_host" "$arch_arm"; do
    tick "decode the $enc stream on $arch_host"; host "$X" decode-core "$DIR" "$DIR/core_enc-$enc.cref" "$DIR/core_enc-${enc}_dec-$arch_host.npz"
    tick "decode the $enc stream on $arch_arm";  arm  "$X" decode-core "$DIR" "$DIR/core_enc-$enc.cref" "$DIR/core_enc-${enc}_dec-$arch_arm.npz"
  done
else
  [ -e "$REPO/ref/weights/hcf_q$LEVEL.safetensors" ] || { echo "no ref/weights/hcf_q$LEVEL.safetensors" >&2; exit 2; }
  rm -f "$DIR"/hcf_enc-*
  IMG="$DIR/hcf_input.png"
  tick "test image";                          host "$X" crop "$REPO/ref/data/demo.png" "$IMG" 128 192
  tick "encode on $arch_host";                host -m ref encode --system hcf -q "$LEVEL" "$IMG" "$DIR/hcf_enc-$arch_host.cref"
  tick "encode on $arch_arm";                 arm  -m ref encode --system hcf -q "$LEVEL" "$IMG" "$DIR/hcf_enc-$arch_arm.cref"
  for enc in "$arch_host" "$arch_arm"; do
    tick "decode the $enc stream on $arch_host"; host "$X" decode-hcf "$DIR/hcf_enc-$enc.cref" "$DIR/hcf_enc-${enc}_dec-$arch_host.npz"
    tick "decode the $enc stream on $arch_arm";  arm  "$X" decode-hcf "$DIR/hcf_enc-$enc.cref" "$DIR/hcf_enc-${enc}_dec-$arch_arm.npz"
  done
  cmp -s "$DIR/hcf_enc-$arch_host.cref" "$DIR/hcf_enc-$arch_arm.cref" \
    && tick "hcf streams of the two encoders: byte-identical" \
    || tick "hcf streams of the two encoders differ (expected: g_a is float; the decoders must still agree)"
fi
tick "compare"
set +e
host "$X" compare "$DIR" "$([ -z "$LEVEL" ] && echo core || echo hcf)"
rc=$?
set -e
tick "done, exit $rc"
exit "$rc"
