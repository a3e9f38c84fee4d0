#!/usr/bin/env bash
# Prepare, on this machine, everything a GPU ladder call carries (git-ignored folders):
#   .whl/       the wheels the GPU machine lacks (mmengine, mmcv-lite, mmpretrain, ...)
#               from ../shared/gpu/wheels/core (as ../shared/gpu/prep.sh copies them,
#               which also works in a git worktree); `prep_gpu.sh det` adds mmdet & co.
#   .gpu_data/  cifar10_jpeg.npz (CIFAR-10 train + test JPEGs packed, ~18 MiB),
#               mmcv-2.1.0.tar.gz (sdist for the mmcv CUDA build rung), COMMIT
# and checks that the repo plus both folders stay under the 64 MiB a call may carry.
# Then run the `run` call written in tools/benchmarks/README.md (carry .whl and .gpu_data).
#   bash tools/benchmarks/prep_gpu.sh [det]
# Environment: SHARED (default: ../shared beside the repo).
set -euo pipefail
top=$(git rev-parse --show-toplevel)
cd "$top"
shared=${SHARED:-$top/../shared}
[ -d "$shared/gpu" ] || { echo "prep_gpu.sh: $shared/gpu not found; set SHARED" >&2; exit 1; }
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p .whl .gpu_data "$(dirname "$exclude")"
for d in /.whl/ /.gpu_data/; do grep -qx "$d" "$exclude" 2>/dev/null || echo "$d" >> "$exclude"; done
rm -f .whl/*.whl
cp "$shared"/gpu/wheels/core/*.whl .whl/
if [ "${1:-}" = det ]; then cp "$shared"/gpu/wheels/det/*.whl .whl/; fi
if [ ! -f .gpu_data/cifar10_jpeg.npz ]; then
  python3 tools/dataset_converters/pack_cifar_for_gpu.py "$shared/data/cifar10" .gpu_data/cifar10_jpeg.npz
fi
if [ ! -f .gpu_data/mmcv-2.1.0.tar.gz ]; then
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    --no-build-isolation mmcv==2.1.0 -d .gpu_data 2>/dev/null \
    || echo "prep_gpu.sh: warning: no mmcv 2.1.0 sdist (rung 4e-mmcv-cuda will say so)" >&2
fi
git describe --always --dirty > .gpu_data/COMMIT
# what travels: tracked and untracked-not-ignored files, plus the carried folders
bytes=$( { git ls-files -z -co --exclude-standard; find .whl .gpu_data -type f -print0; } \
  | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
mib=$(( bytes / 1048576 ))
echo "prep_gpu.sh: .whl $(du -sh .whl | cut -f1), .gpu_data $(du -sh .gpu_data | cut -f1);" \
  "a call carries ${mib} MiB of 64 (commit $(cat .gpu_data/COMMIT))"
[ "$mib" -lt 64 ] || { echo "prep_gpu.sh: over the 64 MiB a call may carry" >&2; exit 1; }
