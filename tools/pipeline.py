"""From pretraining to a report in one command.

``python tools/pipeline.py CONFIG --work-dir DIR [--linear-config LINEAR_CONFIG]
[--stages pretrain,knn,linear,report] [--smoke] [--tensorboard] [train options]``
pretrains CONFIG with the normal Runner, evaluates the final checkpoint with kNN
(at every width of a slimmable model) and with the linear probe of LINEAR_CONFIG
(its ``init_cfg`` checkpoint is set for you), and writes ``DIR/report.md`` with
figures in ``DIR/figures`` and every number in ``DIR/report.json``. A stage whose
result file is up to date is skipped, so rerunning a killed command continues
where it stopped. Multi-GPU: ``TOOL=tools/pipeline.py bash tools/dist_train.sh CONFIG
8 --work-dir DIR ...`` (or ``tools/slurm_train.sh``; pretraining, kNN and the probe
use every rank, the report rank 0). See :mod:`slimselfsup.apis.pipeline`.
"""
import argparse
import sys
import traceback

from mmengine.config import DictAction

import slimselfsup  # noqa: F401  (applies compatibility shims)
from slimselfsup.apis import add_runtime_args, add_train_args, parse_runtime_args
from slimselfsup.apis.pipeline import STAGES, PipelineInputError, StageFailed, run_pipeline


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='pretrain, kNN, linear probe and report in one command')
    parser.add_argument('config', help='pretraining config file')
    parser.add_argument('--linear-config',
                        help='linear-probe config (configs/<method>/benchmarks/); '
                        'without it the linear stage is left out')
    parser.add_argument('--stages', default=None,
                        help=f'comma-separated stages to run (default: {",".join(STAGES)})')
    parser.add_argument('--smoke', action='store_true',
                        help='every stage on a few real images for a few steps (CI)')
    parser.add_argument('--force', action='store_true',
                        help='rerun the selected stages even when their results are '
                        'up to date')
    parser.add_argument('--linear-cfg-options', nargs='+', action=DictAction,
                        help='override settings of the linear-probe config, xxx=yyy')
    parser.add_argument('--map-samples', type=int, default=2000,
                        help='test images in the t-SNE/UMAP maps (evenly spaced)')
    parser.add_argument('--map-seed', type=int, default=0,
                        help='seed of the t-SNE/UMAP maps')
    args = parse_runtime_args(add_runtime_args(add_train_args(parser)), argv)
    if args.work_dir is None:
        parser.error('--work-dir is required: the folder of every stage and the report')
    if args.no_validate:
        parser.error('--no-validate does not apply to the pipeline')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    try:
        return run_pipeline(
            args.config, args.work_dir, linear_config=args.linear_config,
            stages=args.stages, cfg_options=args.cfg_options,
            linear_cfg_options=args.linear_cfg_options, smoke=args.smoke,
            tensorboard=args.tensorboard, resume=args.resume, amp=args.amp,
            auto_scale_lr=args.auto_scale_lr, launcher=args.launcher, force=args.force,
            map_samples=args.map_samples, map_seed=args.map_seed)
    except PipelineInputError as err:
        print(f'pipeline: {err}', file=sys.stderr)
        raise SystemExit(2) from None
    except StageFailed as err:
        traceback.print_exception(err.__cause__)  # where it failed
        print(f'pipeline: {err}', file=sys.stderr)  # what to do, last
        raise SystemExit(1) from None


if __name__ == '__main__':
    main()
