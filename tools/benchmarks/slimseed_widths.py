"""Slimmable SEED on CIFAR-10: every width of one run vs SEED students trained alone vs SlimCLR.

The question of Slimmable SEED (configs/slimseed/README.md), at CIFAR scale with this
toolbox's recipes, same data and epochs for every run:

1. teacher: ResNet-50 (3x3 stem) pretrained with MoCo v2
   (``configs/mocov2/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py``);
2. Slimmable SEED: one slimmable ResNet-18 distilled from it at every width
   (``configs/slimseed/slimseed_slimmable-resnet18-cifar_1xb512-r50-cifar-mocov2-
   teacher-coslr-200e_cifar10.py``);
3. SEED alone: for each width ``w``, a plain ResNet-18 with ``int(64 w)`` channels (the
   exported sub-network's shape) distilled from the same teacher by SEED
   (``configs/seed/seed_resnet18-cifar_1xb512-r50-cifar-mocov2-teacher-coslr-200e_
   cifar10.py``), one run per width;
4. SlimCLR: the slimmable ResNet-18 trained by SlimCLR-MoCo v2 without a teacher
   (``configs/slimclr/slimclr-mocov2_slimmable-resnet18-cifar_1xb512-coslr-200e_
   cifar10.py``).

Every run ends with a weighted kNN (k=200) on the test split at each of its widths; the
script prints a markdown table (one row per width) for ``docs/benchmarks.md``::

    python tools/benchmarks/slimseed_widths.py --epochs 200 \\
        --data-root data/cifar10 --work-dir work_dirs/slimseed_widths

``--teacher-ckpt`` skips step 1. ``--smoke`` runs every job for one short epoch on a
handful of real images (CPU, CI): it checks the wiring and says nothing about accuracy.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from seed_cifar_vs_mocov2 import SEED, TEACHER  # noqa: E402
from short_runs import point_loaders_at, rescale_schedule  # noqa: E402
from slimclr_vs_alone import CONFIGS, scale_plain  # noqa: E402

from slimselfsup.apis import load_config  # noqa: E402
from slimselfsup.registry import RUNNERS  # noqa: E402
from slimselfsup.utils import register_all_modules  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SLIMSEED = ('configs/slimseed/slimseed_slimmable-resnet18-cifar_1xb512-r50-cifar-mocov2-'
            'teacher-coslr-200e_cifar10.py')
SLIMCLR = CONFIGS['mocov2'][0]


def prepare(path: str, args, name: str, widths: Optional[Sequence[float]] = None):
    """Load a recipe for ``args.epochs`` on ``args.data_root``; with ``widths``, train
    and monitor (kNN) exactly those widths of its slimmable network."""
    cfg = load_config(osp.join(REPO, path))
    cfg.work_dir = osp.join(args.work_dir, name)
    rescale_schedule(cfg, args.epochs)  # slow start keeps its fraction of training
    knn = next(h for h in cfg.custom_hooks if h['type'] == 'KNNHook')
    knn['interval'] = args.epochs
    point_loaders_at(cfg, args.data_root, smoke_images=8 if args.smoke else None,
                     smoke_batch=4)
    if args.smoke:
        cfg.model.queue_len = 16
    if widths is not None:
        cfg.model.backbone.widths = cfg.model.neck.widths = knn['widths'] = tuple(widths)
    return cfg


def train(cfg) -> Dict[Optional[float], dict]:
    """Train; returns the final kNN result per width (``None``: a plain network)."""
    runner = RUNNERS.build(copy.deepcopy(cfg))
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'KNNHook')
    return dict(hook.last_results) if hook.widths else {None: hook.last_result}


def table(widths: Sequence[float], slimseed: dict, alone: dict, slimclr: dict) -> List[str]:
    rows = ['| width | Slimmable SEED kNN top-1 | SEED alone kNN top-1 | SlimCLR-MoCo v2 '
            'kNN top-1 | Slimmable SEED - SEED alone |', '|---|---|---|---|---|']
    for w in widths:
        s, a, c = slimseed[w]['top1'], alone[w]['top1'], slimclr[w]['top1']
        rows.append(f'| {w} | {s:.2f} | {a:.2f} | {c:.2f} | {s - a:+.2f} |')
    return rows


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--epochs', type=int, default=200)
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'cifar10'),
                        help='CIFAR-10 class folders (train/, test/)')
    parser.add_argument('--work-dir', default='work_dirs/slimseed_widths')
    parser.add_argument('--widths', type=float, nargs='+',
                        help='widths to compare (default: the config\'s 1.0 .75 .5 .25)')
    parser.add_argument('--teacher-ckpt', help='an existing ResNet-50 MoCo v2 CIFAR '
                        'checkpoint (skips the teacher run)')
    parser.add_argument('--smoke', action='store_true',
                        help='one short epoch on a few images (CPU check only)')
    args = parser.parse_args(argv)
    register_all_modules()

    teacher_ckpt = args.teacher_ckpt
    if teacher_ckpt is None:
        cfg = prepare(TEACHER, args, 'teacher_r50')
        teacher = train(cfg)[None]
        teacher_ckpt = osp.join(cfg.work_dir, f'epoch_{args.epochs}.pth')
        print(f'teacher ResNet-50 (MoCo v2) kNN top-1 {teacher["top1"]:.2f}')

    cfg = prepare(SLIMSEED, args, 'slimseed', args.widths)
    widths = tuple(cfg.model.backbone.widths)
    cfg.model.teacher_ckpt = teacher_ckpt
    slimseed = train(cfg)

    alone = {}
    for w in widths:
        cfg = prepare(SEED, args, f'seed_alone_w{w}')
        scale_plain(cfg, w)  # the plain ResNet-18 of width w and its MLP head
        cfg.model.teacher_ckpt = teacher_ckpt
        alone[w] = train(cfg)[None]

    slimclr = train(prepare(SLIMCLR, args, 'slimclr', widths))

    print(f'\nSlimmable SEED vs SEED alone vs SlimCLR, ResNet-18 CIFAR students, '
          f'{args.epochs} epochs, data {args.data_root}, teacher {teacher_ckpt}')
    print('\n'.join(table(widths, slimseed, alone, slimclr)))


if __name__ == '__main__':
    main()
