"""SEED on CIFAR-10: a ResNet-18 distilled from a self-trained ResNet-50 vs MoCo v2 alone.

The claim of SEED (arXiv 2101.04731) at CIFAR scale, with this toolbox's recipes:

1. teacher: ResNet-50 (3x3 stem) pretrained with MoCo v2
   (``configs/mocov2/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py``);
2. SEED: ResNet-18 student distilled from it
   (``configs/seed/seed_resnet18-cifar_1xb512-r50-cifar-mocov2-teacher-coslr-
   200e_cifar10.py``);
3. baseline: the same ResNet-18 trained with MoCo v2 alone
   (``configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py``).

All runs use the same data and number of epochs and end with a weighted kNN (k=200)
on the test split; the script prints a markdown table for ``docs/benchmarks.md``::

    python tools/benchmarks/seed_cifar_vs_mocov2.py --epochs 200 \\
        --data-root data/cifar10 --work-dir work_dirs/seed_cifar_vs_mocov2

``--teacher-ckpt`` skips step 1. ``--smoke`` runs every job for a few iterations on a
handful of images (CPU, CI): it checks the wiring and says nothing about accuracy.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import List, Optional

from slimselfsup.apis import load_config
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from short_runs import point_loaders_at, rescale_schedule  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEACHER = 'configs/mocov2/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py'
SEED = ('configs/seed/seed_resnet18-cifar_1xb512-r50-cifar-mocov2-teacher-coslr-'
        '200e_cifar10.py')
MOCOV2 = 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'


def prepare(path: str, data_root: str, work_dir: str, epochs: int, smoke: bool):
    """Load a recipe and point its training and kNN loaders at ``data_root``."""
    cfg = load_config(osp.join(REPO, path))
    cfg.work_dir = work_dir
    rescale_schedule(cfg, epochs)
    next(h for h in cfg.custom_hooks if h['type'] == 'KNNHook')['interval'] = epochs
    point_loaders_at(cfg, data_root, smoke_images=8 if smoke else None, smoke_batch=4)
    if smoke:
        cfg.model.queue_len = 16
    return cfg


def train(cfg) -> dict:
    """Train; returns the final kNN result of the KNNHook."""
    runner = RUNNERS.build(copy.deepcopy(cfg))
    runner.train()
    return next(h for h in runner.hooks if type(h).__name__ == 'KNNHook').last_result


def table(rows: List[tuple]) -> List[str]:
    out = ['| model | pretraining | epochs | kNN top-1 | kNN top-5 |',
           '|---|---|---|---|---|']
    out += [f'| {m} | {how} | {e} | {r["top1"]:.2f} | {r["top5"]:.2f} |'
            for m, how, e, r in rows]
    return out


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=200)
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'cifar10'),
                        help='CIFAR-10 class folders (train/, test/)')
    parser.add_argument('--work-dir', default='work_dirs/seed_cifar_vs_mocov2')
    parser.add_argument('--teacher-ckpt', help='an existing ResNet-50 MoCo v2 CIFAR '
                        'checkpoint (skips the teacher run)')
    parser.add_argument('--smoke', action='store_true',
                        help='a few iterations on a few images (CPU check only)')
    args = parser.parse_args(argv)
    register_all_modules()
    rows = []
    teacher_ckpt = args.teacher_ckpt
    if teacher_ckpt is None:
        cfg = prepare(TEACHER, args.data_root, osp.join(args.work_dir, 'teacher_r50'),
                      args.epochs, args.smoke)
        rows.append(('ResNet-50 (teacher)', 'MoCo v2', args.epochs, train(cfg)))
        teacher_ckpt = osp.join(cfg.work_dir, f'epoch_{args.epochs}.pth')

    cfg = prepare(SEED, args.data_root, osp.join(args.work_dir, 'seed_r18'),
                  args.epochs, args.smoke)
    cfg.model.teacher_ckpt = teacher_ckpt
    rows.append(('ResNet-18', 'SEED from the ResNet-50', args.epochs, train(cfg)))

    cfg = prepare(MOCOV2, args.data_root, osp.join(args.work_dir, 'mocov2_r18'),
                  args.epochs, args.smoke)
    rows.append(('ResNet-18', 'MoCo v2 alone', args.epochs, train(cfg)))

    print(f'\nSEED vs MoCo v2, CIFAR-10, {args.epochs} epochs, data {args.data_root}, '
          f'teacher {teacher_ckpt}')
    print('\n'.join(table(rows)))


if __name__ == '__main__':
    main()
