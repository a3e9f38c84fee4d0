"""Evaluate a checkpoint with a config's test loop: ``python tools/test.py CONFIG CKPT``.

``CKPT`` is a checkpoint of the whole model ``CONFIG`` trains (for a linear-probe
config: the probe's own checkpoint); it is loaded strictly. Only the test split
has to exist. For self-supervised pretraining checkpoints, use
``tools/analysis_tools/knn_eval.py`` (kNN) or train a linear probe with
``configs/<method>/benchmarks/*linear*.py``.
"""
import argparse
import os.path as osp

from mmengine.model import is_model_wrapper

import slimselfsup  # noqa: F401
from slimselfsup.apis import add_runtime_args, load_config, parse_runtime_args
from slimselfsup.apis.model_zoo import load_checkpoint_file
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='dump metrics to this json/pkl file')
    return parse_runtime_args(add_runtime_args(parser))


def load_strictly(runner, checkpoint: str, config: str) -> None:
    """Load ``checkpoint`` into the runner's model, all keys required.

    mmengine's ``load_from`` is non-strict: a pretraining checkpoint given for a
    linear-probe config loaded its backbone, kept a random head and printed an
    accuracy from it.
    """
    if '://' not in checkpoint:
        from slimselfsup.utils.checkpoint_io import check_checkpoint
        check_checkpoint(checkpoint)
    try:
        runner.load_checkpoint(checkpoint, strict=True)
    except RuntimeError as err:
        if 'do not match' not in str(err) and 'size mismatch' not in str(err):
            raise
        raise RuntimeError(mismatch_message(runner, checkpoint, config)) from None


def mismatch_message(runner, checkpoint: str, config: str) -> str:
    """Which keys do not fit, and which checkpoint tools/test.py expects."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    state = load_checkpoint_file(checkpoint)
    state = state.get('state_dict', state)
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    own = model.state_dict()
    missing = sorted(k for k in own if k not in state and 'num_batches_tracked' not in k)
    unexpected = sorted(k for k in state if k not in own)
    shapes = sorted(k for k in own if k in state and hasattr(state[k], 'shape')
                    and tuple(state[k].shape) != tuple(own[k].shape))
    name = osp.splitext(osp.basename(config))[0]
    msg = (f'checkpoint {checkpoint} does not fit the model of {config}: '
           f'{len(missing)} missing keys {missing[:4]}, {len(unexpected)} unexpected keys '
           f'{unexpected[:4]}, {len(shapes)} shape mismatches {shapes[:4]}. '
           'tools/test.py evaluates a checkpoint of the whole model this config trains '
           f'(e.g. work_dirs/{name}/epoch_N.pth from `tools/train.py {config}`).')
    if missing and all(k.startswith('head.') for k in missing):
        msg += (' This one has no trained head: it looks like a pretraining checkpoint. '
                f'Train the linear probe from it first (`python tools/train.py {config} '
                f'--cfg-options model.backbone.init_cfg.checkpoint={checkpoint}`) and '
                'test the probe\'s checkpoint, or evaluate it with kNN: '
                '`python tools/analysis_tools/knn_eval.py PRETRAIN_CONFIG '
                f'{checkpoint}`.')
    return msg


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
    cfg.load_from = None  # loaded strictly below, not by mmengine's non-strict load_from
    cfg.setdefault('runner_type', 'SelfSupRunner')
    runner = RUNNERS.build(cfg)
    load_strictly(runner, args.checkpoint, args.config)
    if args.out:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    print(metrics)


if __name__ == '__main__':
    main()
