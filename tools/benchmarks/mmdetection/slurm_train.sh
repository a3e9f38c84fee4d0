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

# the generic launcher, with no WORK_DIR (train.py derives it from the config)
GPUS=$GPUS GPUS_PER_NODE=$GPUS_PER_NODE CPUS_PER_TASK=$CPUS_PER_TASK SRUN_ARGS=$SRUN_ARGS \
    bash "$ROOT/tools/slurm_train.sh" "$PARTITION" "$JOB_NAME" "$CONFIG" "" "${ARGS[@]}"
