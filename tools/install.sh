#!/usr/bin/env bash
# Install slimselfsup and its OpenMMLab stack into the active Python environment.
#
# Usage: bash tools/install.sh [--lite]
#   --lite  install mmcv-lite instead of building mmcv with its compiled ops. Pretraining,
#           evaluation and every non-detection tool work with it; mmdet models do not.
#
# Why this script exists (see requirements/mminstall.txt):
#   * mmcv 2.1.0 (the newest mmdet 3.3.0 accepts) has no wheel for torch 2.14, and its sdist
#     forces -std=c++17 while torch 2.14's ATen headers need C++20. We patch that flag and build
#     the wheel once (about 19 min on 2 cores), then keep it in a cache folder keyed by the torch
#     version so later installs take seconds.
#   * mmengine needs pkg_resources, which setuptools 82+ dropped.
#
# Environment:
#   PYTHON            interpreter to install into (default: python3)
#   SLIMSELFSUP_CACHE cache folder for built wheels (default: ~/.cache/slimselfsup)
#   MAX_JOBS          parallel compile jobs for the mmcv build (default: number of cores)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
CACHE="${SLIMSELFSUP_CACHE:-$HOME/.cache/slimselfsup}"
MMCV_VERSION=2.1.0
LITE=0
for arg in "$@"; do
  case "$arg" in
    --lite) LITE=1 ;;
    *) echo "install.sh: unknown argument '$arg' (expected: --lite)" >&2; exit 2 ;;
  esac
done

pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }
log() { echo "[install] $*"; }

log "build tools (setuptools<82 keeps pkg_resources for mmengine)"
pip_install "setuptools>=77.0.3,<82" wheel

log "runtime requirements"
pip_install -r "$ROOT/requirements/runtime.txt"

mmcv_state() {
  # Prints 'full', 'lite' or 'none' for the installed mmcv 2.1.0.
  "$PY" - <<'EOF'
import importlib.metadata as md
def has(name):
    try:
        return md.version(name) == '2.1.0'
    except md.PackageNotFoundError:
        return False
print('full' if has('mmcv') else 'lite' if has('mmcv-lite') else 'none')
EOF
}

build_mmcv_wheel() {
  # Builds mmcv 2.1.0 with ops against the installed torch into $1.
  local out="$1" tmp
  tmp="$(mktemp -d)"
  log "building mmcv $MMCV_VERSION with ops (one time per machine and torch version; ~19 min on 2 cores)"
  "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
    --no-build-isolation "mmcv==$MMCV_VERSION" -d "$tmp"
  tar -xzf "$tmp/mmcv-$MMCV_VERSION.tar.gz" -C "$tmp"
  local src="$tmp/mmcv-$MMCV_VERSION"
  # torch >= 2.6 headers need C++20; mmcv's setup.py hard-codes C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q 'std=c++20' "$src/setup.py" || { echo "install.sh: could not patch mmcv's C++ standard flag" >&2; exit 1; }
  (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "$PY" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation . -w "$tmp/dist")
  mkdir -p "$out"
  # Move into place only once complete, so an interrupted build never leaves a broken cache entry.
  mv "$tmp"/dist/mmcv-*.whl "$out/"
  rm -rf "$tmp"
}

state="$(mmcv_state)"
if [ "$LITE" = 1 ]; then
  if [ "$state" != lite ]; then
    [ "$state" = full ] && "$PY" -m pip uninstall -y -q mmcv
    log "mmcv-lite $MMCV_VERSION"
    pip_install "mmcv-lite==$MMCV_VERSION"
  fi
else
  if [ "$state" != full ] || ! "$PY" -c "import mmcv.ops" >/dev/null 2>&1; then
    torch_ver="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
    wheel_dir="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$torch_ver-$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
    if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
      build_mmcv_wheel "$wheel_dir"
    else
      log "reusing cached mmcv wheel from $wheel_dir"
    fi
    [ "$state" = lite ] && "$PY" -m pip uninstall -y -q mmcv-lite
    pip_install --no-deps --force-reinstall "$wheel_dir"/mmcv-*.whl
  fi
fi

log "OpenMMLab packages"
# None of these lists mmcv in install_requires, so pip never tries to build a second mmcv.
pip_install "mmengine==0.10.7" "mmpretrain==1.2.0" "mmdet==3.3.0"

log "test requirements"
pip_install -r "$ROOT/requirements/tests.txt"

log "slimselfsup (editable)"
pip_install --no-deps --no-build-isolation -e "$ROOT"

"$PY" -c "import slimselfsup; print('[install] slimselfsup', slimselfsup.__version__, 'is ready')"
