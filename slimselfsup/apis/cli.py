"""Command-line options that every tool shares (mmpretrain's conventions)."""
import argparse
import os

from mmengine.config import DictAction


def add_runtime_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank`` to ``parser``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.

    Returns:
        argparse.ArgumentParser: The same parser.
    """
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, xxx=yyy; a key that looks like a typo of an '
        'existing one is an error')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser


def parse_runtime_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` and export ``LOCAL_RANK`` for the launchers that pass
    ``--local-rank`` instead of setting the variable.

    Args:
        parser (argparse.ArgumentParser): A parser given :func:`add_runtime_args`.
        argv (list[str], optional): Defaults to None (``sys.argv``).
    """
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_train_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the training options of ``tools/train.py`` (mmpretrain's, plus
    ``--tensorboard``) to ``parser``; it must have a ``config`` argument.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.

    Returns:
        argparse.ArgumentParser: The same parser.
    """
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
    parser.add_argument('--tensorboard', action='store_true',
                        help='also write TensorBoard event files '
                        '(TensorboardVisBackend) to WORK_DIR/<timestamp>/vis_data; '
                        'needs `pip install tensorboard`')
    return parser


def apply_train_args(cfg, args: argparse.Namespace):
    """Fold the options of :func:`add_train_args` into ``cfg`` (a loaded config).

    Args:
        cfg (Config): The config of ``args.config``.
        args (argparse.Namespace): Parsed options.

    Returns:
        Config: The same config.
    """
    cfg.launcher = getattr(args, 'launcher', 'none')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = os.path.join('./work_dirs',
                                    os.path.splitext(os.path.basename(args.config))[0])
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
    if getattr(args, 'no_validate', False):
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if getattr(args, 'tensorboard', False):
        enable_tensorboard(cfg)
    return cfg


def enable_tensorboard(cfg) -> None:
    """Add mmengine's ``TensorboardVisBackend`` to ``cfg.visualizer`` (once).

    Raises:
        ImportError: When the ``tensorboard`` package is missing, before any work.
    """
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ImportError('--tensorboard needs the tensorboard package: '
                          '`pip install tensorboard` (listed in '
                          'requirements/optional.txt), or leave out --tensorboard') from None
    visualizer = cfg.get('visualizer')
    if visualizer is None:
        cfg.visualizer = visualizer = dict(type='UniversalVisualizer', vis_backends=[])
    backends = list(visualizer.get('vis_backends') or [])
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    visualizer['vis_backends'] = backends
