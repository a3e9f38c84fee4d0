"""SlimCLR on CIFAR-10 against the same widths trained alone, same epochs.

The experiment of SlimCLR (arXiv 2209.15525) at CIFAR scale: one slimmable ResNet-18
trained with SlimCLR (all widths per step) against, for each width ``w``, a plain
ResNet-18 with ``int(64 w)`` base channels trained by the plain method (MoCo v2 or
SimCLR) with the same data, schedule and epochs. Every run ends with a weighted kNN
(k=200) on the test split; the script prints a markdown table (one row per width)
for ``docs/benchmarks.md``::

    python tools/benchmarks/slimclr_vs_alone.py --algo mocov2 --epochs 100 \\
        --data-root data/cifar10 --work-dir work_dirs/slimclr_vs_alone

``--smoke`` runs every job for a few iterations on a handful of images (CPU, CI),
which checks the wiring and says nothing about accuracy.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, Sequence

from slimselfsup.apis import load_config
from slimselfsup.models.slimmable import slim_channels
from slimselfsup.registry import RUNNERS
from slimselfsup.utils import register_all_modules

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from short_runs import point_loaders_at, rescale_schedule  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'mocov2': ('configs/slimclr/slimclr-mocov2_slimmable-resnet18-cifar_1xb512-coslr-'
               '200e_cifar10.py',
               'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'),
    'simclr': ('configs/slimclr/slimclr-simclr_slimmable-resnet18-cifar_1xb512-lars-'
               'coslr-200e_cifar10.py',
               'configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'),
}


def scale_plain(cfg, width: float) -> None:
    """Narrow the plain ResNet-18 and its neck to ``width`` (stem included)."""
    backbone = cfg.model.backbone
    backbone.update(stem_channels=slim_channels(64, width),
                    base_channels=slim_channels(64, width))
    neck = cfg.model.neck
    neck.in_channels = slim_channels(neck.in_channels, width)
    if neck.get('hid_channels'):
        neck.hid_channels = slim_channels(neck.hid_channels, width)


def run(cfg, work_dir: str, epochs: int, smoke: bool) -> Dict[float, dict]:
    """Train ``cfg``; returns ``{width: knn result}`` of the final kNN."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    rescale_schedule(cfg, epochs)  # keeps slow start at its fraction of training
    cfg.setdefault('runner_type', 'SelfSupRunner')
    hook_cfg = next(h for h in cfg.custom_hooks if h['type'] == 'KNNHook')
    hook_cfg['interval'] = epochs
    if smoke:
        cfg.param_scheduler = []
        if 'queue_len' in cfg.model:
            cfg.model.queue_len = 64
    runner = RUNNERS.build(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'KNNHook')
    if hook.widths is None:
        return {None: hook.last_result}
    return dict(hook.last_results)


def table(widths: Sequence[float], slim: Dict[float, dict],
          alone: Dict[float, dict]) -> List[str]:
    rows = ['| width | SlimCLR kNN top-1 | alone kNN top-1 | difference |',
            '|---|---|---|---|']
    for w in widths:
        s, a = slim[w]['top1'], alone[w]['top1']
        rows.append(f'| {w} | {s:.2f} | {a:.2f} | {s - a:+.2f} |')
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--algo', choices=sorted(CONFIGS), default='mocov2')
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--data-root', default=osp.join(REPO, 'data', 'cifar10'),
                        help='CIFAR-10 class folders (train/, test/)')
    parser.add_argument('--work-dir', default='work_dirs/slimclr_vs_alone')
    parser.add_argument('--widths', type=float, nargs='+')
    parser.add_argument('--smoke', action='store_true',
                        help='a few iterations on a few images (CPU check only)')
    args = parser.parse_args(argv)
    register_all_modules()
    slim_path, plain_path = (osp.join(REPO, p) for p in CONFIGS[args.algo])

    slim_cfg = load_config(slim_path)
    point_loaders_at(slim_cfg, args.data_root, smoke_images=40 if args.smoke else None,
                     smoke_batch=8)
    widths = tuple(args.widths or slim_cfg.model.backbone.widths)
    slim_cfg.model.backbone.widths = slim_cfg.model.neck.widths = widths
    if 'predictor' in slim_cfg.model:
        slim_cfg.model.predictor.widths = widths
    next(h for h in slim_cfg.custom_hooks if h['type'] == 'KNNHook')['widths'] = widths
    slim = run(slim_cfg, osp.join(args.work_dir, 'slimclr'), args.epochs, args.smoke)

    alone = {}
    for w in widths:
        cfg = load_config(plain_path)
        point_loaders_at(cfg, args.data_root, smoke_images=40 if args.smoke else None,
                         smoke_batch=8)
        scale_plain(cfg, w)
        alone[w] = run(cfg, osp.join(args.work_dir, f'alone_w{w}'), args.epochs,
                       args.smoke)[None]
    print(f'\nSlimCLR-{args.algo} vs widths alone, ResNet-18 CIFAR, {args.epochs} '
          f'epochs, data {args.data_root}')
    print('\n'.join(table(widths, slim, alone)))


if __name__ == '__main__':
    main()
