"""Evaluate a checkpoint with a config's test loop: ``python tools/test.py CONFIG CKPT``.

For self-supervised pretraining configs, use ``tools/analysis_tools/knn_eval.py``
(kNN) or train a linear probe with ``configs/<method>/benchmarks/*linear*.py``.
"""
import argparse
import os.path as osp

import slimselfsup  # noqa: F401
from slimselfsup.apis import add_runtime_args, load_config, parse_runtime_args
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='dump metrics to this json/pkl file')
    return parse_runtime_args(add_runtime_args(parser))


def main() -> None:
    args = parse_args()
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('test_dataloader') is None:
        raise ValueError(
            f'{args.config} has no test_dataloader/test_evaluator. Pretraining '
            'configs are evaluated with tools/analysis_tools/knn_eval.py or a linear '
            'probe config (configs/<method>/benchmarks/).')
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.setdefault('runner_type', 'SelfSupRunner')
    runner = RUNNERS.build(cfg)
    if args.out:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    print(metrics)


if __name__ == '__main__':
    main()
