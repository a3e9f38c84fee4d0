#!/usr/bin/env bash
# Usage: GPUS=16 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]
# TOOL=tools/pipeline.py runs the whole pipeline instead (pretrain, kNN, probe, report).
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK_ARGS=""
[ -n "$WORK_DIR" ] && WORK_ARGS="--work-dir=${WORK_DIR}"

PYTHONPATH="$ROOT:$PYTHONPATH" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$ROOT/${TOOL:-tools/train.py}" "${CONFIG}" ${WORK_ARGS} --launcher="slurm" "${@:5}"
