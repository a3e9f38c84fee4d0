#!/usr/bin/env bash
# Install slimselfsup and its OpenMMLab stack into the active Python environment.
#
# Usage: bash tools/install.sh [--det | --lite]
#   (none)  pretraining, evaluation, conversion and the model zoo, with mmcv-lite: nothing
#           is compiled (about 5 min on a fresh machine, mostly downloading torch). An
#           environment that already has mmcv with its compiled ops keeps it.
#   --det   also detection transfer (and the tests, which cover it): mmdet 3.3.0 and mmcv
#           2.1.0 built with its compiled ops in place of mmcv-lite. The first build takes
#           about 20 min on 2 cores and prints its progress every minute; the wheel is then
#           cached, so later --det installs take seconds.
#   --lite  switch an environment back from compiled mmcv to mmcv-lite.
#
# Why this script exists (see requirements/):
#   * mmcv 2.1.0 (the newest mmdet 3.3.0 accepts) has no wheel for torch 2.14, and its sdist
#     forces -std=c++17 while torch 2.14's ATen headers need C++20. --det patches that flag
#     and builds the wheel once, keyed by torch and Python version in a cache folder.
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
MODE=default
for arg in "$@"; do
  case "$arg" in
    --det) MODE=det ;;
    --lite) MODE=lite ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$arg' (expected --det or --lite)" >&2; exit 2 ;;
  esac
done

pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }
pip_uninstall() { "$PY" -m pip uninstall --disable-pip-version-check -y -q "$@" >/dev/null 2>&1 || true; }
log() { echo "[install] $*"; }

log "build tools and the OpenMMLab stack (setuptools<82 keeps pkg_resources for mmengine)"
pip_install -r "$ROOT/requirements/runtime.txt" \
  $(grep -v -e '^mmcv' -e '^#' "$ROOT/requirements/mminstall.txt" | sed 's/#.*//') wheel

mmcv_state() {
  # 'full' when the mmcv that imports has working compiled ops, 'lite' when it has none,
  # 'broken' when its ops do not load (e.g. built for another torch), 'none' without mmcv.
  # Judged by what imports, not by package metadata, so an mmcv shadowed by another (a venv
  # over system packages) is judged right.
  "$PY" - <<'EOF'
import importlib.util
if importlib.util.find_spec('mmcv') is None:
    print('none')
elif importlib.util.find_spec('mmcv._ext') is None:
    print('lite')
else:
    try:
        import mmcv.ops  # noqa: F401
        print('full')
    except Exception:
        print('broken')
EOF
}

watch_build() {
  # Every minute: how many of the ops' sources are compiled and which ones are compiling.
  local src="$1" total="$2" start=$SECONDS done current
  while sleep 60; do
    done=$(find "$src/build" -name '*.o' 2>/dev/null | wc -l || true)
    current=$(ps -eo args 2>/dev/null | grep -o 'mmcv/ops/csrc/[^ ]*\.cpp' | grep -v '^$' \
      | xargs -r -n1 basename | sort -u | head -3 | tr '\n' ' ' || true)
    if [ "$done" -ge "$total" ]; then current="linking _ext"; fi
    log "mmcv ops: $done/$total sources compiled after $(( (SECONDS - start) / 60 )) min${current:+; now: $current}"
  done
}

build_mmcv_wheel() {
  # Builds mmcv $MMCV_VERSION with ops against the installed torch into $1.
  local out="$1" tmp watcher total
  tmp="$(mktemp -d)"
  log "building mmcv $MMCV_VERSION with its compiled ops (once per machine and torch version; ~20 min on 2 cores)"
  pip_install ninja  # parallel compile (MAX_JOBS); without it setuptools compiles one file at a time
  "$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
    --no-build-isolation "mmcv==$MMCV_VERSION" -d "$tmp"
  tar -xzf "$tmp/mmcv-$MMCV_VERSION.tar.gz" -C "$tmp"
  local src="$tmp/mmcv-$MMCV_VERSION"
  # torch >= 2.6 headers need C++20; mmcv's setup.py hard-codes C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q 'std=c++20' "$src/setup.py" || { echo "install.sh: could not patch mmcv's C++ standard flag" >&2; exit 1; }
  total=$(ls "$src"/mmcv/ops/csrc/pytorch/*.cpp "$src"/mmcv/ops/csrc/pytorch/cpu/*.cpp | wc -l)
  if "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    total=$(( total + $(ls "$src"/mmcv/ops/csrc/pytorch/cuda/*.cu "$src"/mmcv/ops/csrc/pytorch/cuda/*.cpp | wc -l) ))
  fi
  log "compiling $total sources with MAX_JOBS=${MAX_JOBS:-$(nproc)}; progress every minute"
  watch_build "$src" "$total" &
  watcher=$!
  trap 'kill $watcher 2>/dev/null || true' EXIT
  if ! (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "$PY" -m pip wheel --disable-pip-version-check -v --no-deps --no-build-isolation . \
      -w "$tmp/dist" >"$tmp/build.log" 2>&1); then
    kill "$watcher" 2>/dev/null || true
    tail -40 "$tmp/build.log" >&2
    echo "install.sh: the mmcv build failed; full log: $tmp/build.log" >&2
    exit 1
  fi
  kill "$watcher" 2>/dev/null || true
  trap - EXIT
  mkdir -p "$out"
  # Move into place only once complete, so an interrupted build never leaves a broken cache entry.
  mv "$tmp"/dist/mmcv-*.whl "$out/"
  rm -rf "$tmp"
  log "mmcv ops built and cached in $out"
}

state="$(mmcv_state)"
if [ "$MODE" = det ]; then
  if [ "$state" != full ]; then
    torch_ver="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
    py_tag="$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
    wheel_dir="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$torch_ver-$py_tag"
    if ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
      log "mmcv $MMCV_VERSION with ops: cached wheel from $wheel_dir"
    else
      build_mmcv_wheel "$wheel_dir"
    fi
    pip_uninstall mmcv-lite mmcv
    pip_install --no-deps --force-reinstall "$wheel_dir"/mmcv-*.whl
  fi
  log "mmdet (detection transfer)"
  pip_install -r "$ROOT/requirements/det.txt"
elif [ "$state" = none ] || [ "$state" = broken ] || { [ "$MODE" = lite ] && [ "$state" = full ]; }; then
  [ "$state" = broken ] && log "the installed mmcv's compiled ops do not load; replacing it with mmcv-lite"
  pip_uninstall mmcv
  log "mmcv-lite $MMCV_VERSION (no compiled ops: nothing to build)"
  pip_install "mmcv-lite==$MMCV_VERSION"
else
  log "mmcv $MMCV_VERSION ($state) already installed"
fi

log "test and lint requirements"
pip_install -r "$ROOT/requirements/tests.txt"

log "slimselfsup (editable)"
pip_install --no-deps --no-build-isolation -e "$ROOT"

"$PY" -c "import slimselfsup; print('[install] slimselfsup', slimselfsup.__version__, 'is ready')"
