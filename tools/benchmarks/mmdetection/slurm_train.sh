#!/usr/bin/env bash
# Fine-tune an mmdet detector from a backbone pretrained here, on a Slurm cluster.
# Usage: GPUS=8 bash tools/benchmarks/mmdetection/slurm_train.sh PARTITION CONFIG PRETRAIN [train.py options]
#   PRETRAIN: a checkpoint of our pretraining, or `none` for a random init.
#   Env: JOB_NAME (default mmdet-transfer), GPUS (8), GPUS_PER_NODE (8),
#   CPUS_PER_TASK (5), SRUN_ARGS.
set -e
PARTITION=$1
CONFIG=$2
PRETRAIN=$3
JOB_NAME=${JOB_NAME:-mmdet-transfer}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
if [ -z "$PRETRAIN" ]; then
    echo "usage: $0 PARTITION CONFIG PRETRAIN [train.py options] (PRETRAIN: checkpoint or none)" >&2
    exit 2
fi
source "$(dirname "$0")/pretrain_args.sh"
ARGS_TEXT=$(pretrain_cfg_options "$CONFIG" "$PRETRAIN" "${@:4}")
mapfile -t ARGS <<< "$ARGS_TEXT"

set -x
PYTHONPATH="$ROOT:$PYTHONPATH" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${ARGS[@]}"
