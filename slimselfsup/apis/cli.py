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
