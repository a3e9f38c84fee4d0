"""Balloon Mask R-CNN transfer: our pretrained ResNet-18 against a random init.

GPU benchmark (owed; see docs/benchmarks.md). Optionally pretrains MoCo v2 ResNet-18
(ImageNet stem, 96 px crops of CIFAR-10 images) with ``tools/train.py``, then
fine-tunes ``configs/benchmarks/mmdetection/mask-rcnn_r18-fpn_syncbn_1xb8-24e_balloon.py``
from that checkpoint and from a random init (same seeds) through
``tools/benchmarks/mmdetection/dist_train.sh``, and prints bbox/segm mAP of the last
validation (mmdet's CocoMetric on the 13 val images) as a table::

    python tools/benchmarks/mmdetection/balloon_transfer.py --pretrain-epochs 100
    python tools/benchmarks/mmdetection/balloon_transfer.py --pretrain CKPT --seeds 0 1 2

``--dry-run`` prints the commands without running them.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG = osp.join(REPO, 'configs/benchmarks/mmdetection/'
                  'mask-rcnn_r18-fpn_syncbn_1xb8-24e_balloon.py')
PRETRAIN_CONFIG = osp.join(
    REPO, 'configs/mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py')
KEYS = ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50')


def _first_dir(*candidates: str) -> str:
    return next((p for p in candidates if osp.isdir(p)), candidates[-1])


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--pretrain', help='checkpoint of our pretraining (backbone '
                        'under `backbone.`); default: pretrain MoCo v2 R-18 first')
    parser.add_argument('--pretrain-epochs', type=int, default=100)
    parser.add_argument('--pretrain-crop', type=int, default=96,
                        help='crop size of the pretraining views (px)')
    parser.add_argument('--cifar', default=_first_dir(
        osp.join(REPO, '..', 'shared', 'data', 'cifar10'), 'data/cifar10'))
    parser.add_argument('--data-root', default=_first_dir(
        osp.join(REPO, '..', 'shared', 'data', 'balloon'), 'data/balloon'))
    parser.add_argument('--epochs', type=int, default=24)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--gpus', type=int, default=1)
    parser.add_argument('--work-dir', default='work_dirs/balloon_transfer')
    parser.add_argument('--out', help='also write the results as JSON here')
    parser.add_argument('--dry-run', action='store_true', help='print the commands only')
    return parser.parse_args(argv)


def pretrain_config(args: argparse.Namespace) -> str:
    """Write the MoCo v2 ResNet-18 (ImageNet stem) config; return its path."""
    from slimselfsup.apis import load_config
    cfg = load_config(PRETRAIN_CONFIG)
    cfg.model.backbone = dict(type='ResNet', depth=18, norm_cfg=dict(type='BN'))
    # the detector normalises with ImageNet mean/std (mmdet's R-50-FPN preprocessor)
    cfg.data_preprocessor.update(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
    cfg.train_dataloader.dataset.data_root = args.cifar
    for t in cfg.train_dataloader.dataset.pipeline[1].transforms[0]:
        if t['type'] == 'RandomResizedCrop':
            t['scale'] = args.pretrain_crop
    cfg.train_cfg.max_epochs = args.pretrain_epochs
    cfg.param_scheduler[-1].update(T_max=args.pretrain_epochs, end=args.pretrain_epochs)
    cfg.custom_hooks = []  # the kNN monitor expects the CIFAR stem's 32 px inputs
    os.makedirs(args.work_dir, exist_ok=True)
    path = osp.join(args.work_dir, 'mocov2_resnet18_cifar10.py')
    cfg.dump(path)
    return path


def finetune_command(args: argparse.Namespace, pretrain: str, seed: int,
                     work_dir: str) -> List[str]:
    root = args.data_root.rstrip('/') + '/'
    return ['bash', osp.join(REPO, 'tools/benchmarks/mmdetection/dist_train.sh'), CONFIG,
            str(args.gpus), pretrain, '--work-dir', work_dir, '--cfg-options',
            f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'val_evaluator.ann_file={root}annotations/instances_val.json',
            f'test_evaluator.ann_file={root}annotations/instances_val.json',
            f'train_cfg.max_epochs={args.epochs}', f'randomness.seed={seed}']


def final_metrics(work_dir: str) -> Dict[str, float]:
    """The last validation's CocoMetric values from mmengine's scalars.json."""
    found = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        for line in open(path):
            row = json.loads(line)
            if f'coco/{KEYS[0]}' in row:
                found = {k: float(row[f'coco/{k}']) for k in KEYS}
    if not found:
        raise RuntimeError(f'no validation metrics under {work_dir}')
    return found


def table(results: List[dict]) -> str:
    lines = ['| init | seed | ' + ' | '.join(KEYS) + ' |',
             '|---|---|' + '---|' * len(KEYS)]
    for init in dict.fromkeys(r['init'] for r in results):
        rows = [r for r in results if r['init'] == init]
        for r in rows:
            lines.append(f"| {init} | {r['seed']} | " +
                         ' | '.join(f"{100 * r[k]:.1f}" for k in KEYS) + ' |')
        if len(rows) > 1:
            lines.append(f'| {init} | mean | ' + ' | '.join(
                f'{100 * sum(r[k] for r in rows) / len(rows):.1f}' for k in KEYS) + ' |')
    return '\n'.join(lines)


def _run(cmd: List[str], dry_run: bool) -> None:
    print('+', shlex.join(cmd), flush=True)
    if not dry_run:
        subprocess.run(cmd, check=True, cwd=REPO)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    args.work_dir = osp.abspath(args.work_dir)
    pretrain = args.pretrain
    if pretrain is None:
        pre_dir = osp.join(args.work_dir, 'pretrain')
        _run([sys.executable, osp.join(REPO, 'tools/train.py'), pretrain_config(args),
              '--work-dir', pre_dir], args.dry_run)
        pretrain = osp.join(pre_dir, f'epoch_{args.pretrain_epochs}.pth')
    results = []
    for seed in args.seeds:
        for init, ckpt in (('ours (MoCo v2 R-18)', pretrain), ('random', 'none')):
            work_dir = osp.join(args.work_dir, f"{'pretrained' if ckpt != 'none' else 'random'}"
                                f'_seed{seed}')
            _run(finetune_command(args, ckpt, seed, work_dir), args.dry_run)
            if not args.dry_run:
                results.append(dict(init=init, seed=seed, **final_metrics(work_dir)))
    if args.dry_run:
        return
    print(f'\nballoon val (13 images), Mask R-CNN R-18-FPN, {args.epochs} epochs, '
          f'mAP in %\n\n{table(results)}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(pretrain=pretrain, epochs=args.epochs, results=results), f,
                      indent=1)


if __name__ == '__main__':
    main()
