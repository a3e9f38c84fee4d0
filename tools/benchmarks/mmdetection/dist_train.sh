#!/usr/bin/env bash
# Fine-tune an mmdet detector from a backbone pretrained here (mmpretrain's benchmark
# launcher convention).
# Usage: bash tools/benchmarks/mmdetection/dist_train.sh CONFIG GPUS PRETRAIN [train.py options]
#   PRETRAIN: a checkpoint of our pretraining (backbone under the config's
#   init_cfg.prefix, `backbone.` by default), or `none` for a random init.
#   Extra `--cfg-options k=v ...` are merged with (and override) the launcher's.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT on every node.
set -e
CONFIG=$1
GPUS=$2
PRETRAIN=$3
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
if [ -z "$PRETRAIN" ]; then
    echo "usage: $0 CONFIG GPUS PRETRAIN [train.py options] (PRETRAIN: checkpoint or none)" >&2
    exit 2
fi
source "$(dirname "$0")/pretrain_args.sh"
ARGS_TEXT=$(pretrain_cfg_options "$CONFIG" "$PRETRAIN" "${@:4}")
mapfile -t ARGS <<< "$ARGS_TEXT"

bash "$ROOT/tools/dist_train.sh" "$CONFIG" "$GPUS" "${ARGS[@]}"
