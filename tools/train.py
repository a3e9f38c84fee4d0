"""Train a model from a config: ``python tools/train.py CONFIG [options]``.

Same command line as mmpretrain's ``tools/train.py``.
"""
import argparse
import os.path as osp

import slimselfsup  # noqa: F401  (applies compatibility shims)
from slimselfsup.apis import add_runtime_args, load_config, parse_runtime_args
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest checkpoint '
        'in the work dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision: bf16 without a loss '
                        'scaler (BF16OptimWrapper) on GPUs that support it, else fp16 '
                        'with dynamic loss scaling')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the total batch size '
                        '(rule from `auto_scale_lr.mode`: linear or sqrt)')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip the validation loop during training')
    return parse_runtime_args(add_runtime_args(parser))


def merge_args(cfg, args):
    """Fold command-line options into the config."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        import torch
        wrapper = cfg.optim_wrapper
        if wrapper.get('type', 'OptimWrapper') == 'OptimWrapper':
            bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            if bf16 and cfg.get('default_scope', 'slimselfsup') == 'slimselfsup':
                # bf16 needs no loss scaler, so no host sync per step
                wrapper.type = 'BF16OptimWrapper'
            else:  # e.g. mmdet configs, whose scope does not see our wrapper
                wrapper.type = 'AmpOptimWrapper'
                wrapper.setdefault('loss_scale', 'dynamic')
                if bf16:
                    wrapper.setdefault('dtype', 'bfloat16')
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main() -> None:
    args = parse_args()
    register_all_modules()
    cfg = merge_args(load_config(args.config, args.cfg_options), args)
    cfg.setdefault('runner_type', 'SelfSupRunner')
    runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
