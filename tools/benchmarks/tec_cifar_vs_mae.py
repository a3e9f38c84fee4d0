"""TEC from a small MAE base vs that MAE base, both fine-tuned, on CIFAR-10.

Runs the three steps of the CIFAR-10 recipe of ``configs/tec`` in one process with
mmengine Runners and prints a table:

1. MAE ViT-Tiny/4 pretraining (``--mae-epochs``) -> the base model;
2. TEC ViT-Tiny/4 from it (``--tec-epochs``), then ``tec-finetune`` conversion;
3. fine-tuning (``--ft-epochs``, same recipe and budget) of the TEC weights and of
   the MAE base weights; with ``--mae-long`` also of an MAE pretrained for
   ``mae-epochs + tec-epochs`` (the same total pretraining epochs as MAE + TEC).

Example (one GPU, full CIFAR-10 as class folders)::

    python tools/benchmarks/tec_cifar_vs_mae.py --data-root ../shared/data/cifar10 \\
        --work-dir work_dirs/tec_cifar --mae-epochs 400 --tec-epochs 200 --ft-epochs 100

``--smoke`` runs a 3-layer ViT for one epoch of each step on the repo's CIFAR subset
(CPU, a minute): it checks the wiring, not accuracy.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from short_runs import point_loaders_at, rescale_schedule  # noqa: E402

from slimselfsup.apis import load_config  # noqa: E402
from slimselfsup.converters import convert  # noqa: E402
from slimselfsup.registry import RUNNERS  # noqa: E402
from slimselfsup.utils import register_all_modules  # noqa: E402

CFG = osp.join(REPO, 'configs', 'tec')
MAE_CFG = osp.join(CFG, 'mae_vit-tiny-p4_1xb256-amp-coslr-400e_cifar10.py')
TEC_CFG = osp.join(CFG, 'tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py')
FT_CFG = osp.join(CFG, 'benchmarks', 'vit-tiny-p4_1xb256-ld065-coslr-100e_cifar10.py')
SMOKE_ARCH = dict(arch=dict(embed_dims=48, num_layers=3, num_heads=3,
                            feedforward_channels=96), img_size=32, patch_size=8)


def prepare(cfg: Config, args: argparse.Namespace, work_dir: str, epochs: int) -> Config:
    rescale_schedule(cfg, epochs)
    cfg.work_dir = work_dir
    point_loaders_at(cfg, args.data_root, smoke_images=32 if args.smoke else None,
                     smoke_batch=16)
    if args.smoke or not torch.cuda.is_available():
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
    if args.smoke:
        cfg.custom_hooks = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=epochs,
                                        max_keep_ckpts=1)
    return Config(cfg.to_dict())


def smoke_sizes(cfg: Config, kind: str) -> None:
    """Shrink a config to the 3-layer ViT with 8x8 patches."""
    m = cfg.model
    if kind == 'mae':
        m.backbone.update(SMOKE_ARCH)
        m.neck.update(num_patches=16, patch_size=8, embed_dim=48)
        m.head.patch_size = 8
    elif kind == 'tec':
        m.backbone.update(SMOKE_ARCH)
        m.target_generator.base_model.update(SMOKE_ARCH)
        m.target_generator.topk = 3
        m.neck.update(num_patches=16, embed_dims=48, target_dims=48, num_layers=3,
                      decoder_embed_dims=32)
    else:
        m.backbone.update(SMOKE_ARCH)
        m.head.in_channels = 48


def pretrain_mae(args, name: str, epochs: int) -> str:
    cfg = load_config(MAE_CFG)
    if args.smoke:
        smoke_sizes(cfg, 'mae')
    work_dir = osp.join(args.work_dir, name)
    RUNNERS.build(prepare(cfg, args, work_dir, epochs)).train()
    return osp.join(work_dir, f'epoch_{epochs}.pth')


def pretrain_tec(args, base_ckpt: str) -> str:
    cfg = load_config(TEC_CFG)
    if args.smoke:
        smoke_sizes(cfg, 'tec')
    cfg.model.target_generator.checkpoint = base_ckpt
    work_dir = osp.join(args.work_dir, 'tec')
    RUNNERS.build(prepare(cfg, args, work_dir, args.tec_epochs)).train()
    ckpt = torch.load(osp.join(work_dir, f'epoch_{args.tec_epochs}.pth'),
                      map_location='cpu')
    out = osp.join(work_dir, 'tec_finetune_init.pth')
    torch.save({'state_dict': convert('tec-finetune', ckpt)}, out)
    return out


def finetune(args, name: str, init: str) -> Dict[str, float]:
    cfg = load_config(FT_CFG)
    if args.smoke:
        smoke_sizes(cfg, 'ft')
    cfg.model.backbone.init_cfg.checkpoint = init
    cfg = prepare(cfg, args, osp.join(args.work_dir, 'ft_' + name), args.ft_epochs)
    cfg.train_cfg.val_interval = args.ft_epochs
    runner = RUNNERS.build(cfg)
    runner.train()
    return runner.test()


def table(rows: List[List[str]]) -> str:
    head = ['model', 'pretraining', 'fine-tune epochs', 'top-1 (CIFAR-10 test)']
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]

    def fmt(r: list) -> str:
        return '| ' + ' | '.join(str(c).ljust(w) for c, w in zip(r, widths)) + ' |'

    return '\n'.join([fmt(head), '|' + '|'.join('-' * (w + 2) for w in widths) + '|'] +
                     [fmt(r) for r in rows])


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO, '..', 'shared', 'data',
                                                        'cifar10'))
    parser.add_argument('--work-dir', default='work_dirs/tec_cifar_vs_mae')
    parser.add_argument('--mae-epochs', type=int, default=400)
    parser.add_argument('--tec-epochs', type=int, default=200)
    parser.add_argument('--ft-epochs', type=int, default=100)
    parser.add_argument('--mae-long', action='store_true',
                        help='also fine-tune an MAE pretrained mae+tec epochs')
    parser.add_argument('--smoke', action='store_true',
                        help='tiny ViT, 32 images, 1 epoch per step (CPU wiring check)')
    args = parser.parse_args(argv)
    if args.smoke:
        args.data_root = osp.join(REPO, 'demo', 'cifar10-mini')
        args.mae_epochs = args.tec_epochs = args.ft_epochs = 1
    register_all_modules()
    mae = pretrain_mae(args, 'mae', args.mae_epochs)
    tec = pretrain_tec(args, mae)
    arms = [('MAE (base)', f'MAE {args.mae_epochs} ep', mae),
            ('TEC from MAE', f'MAE {args.mae_epochs} ep + TEC {args.tec_epochs} ep', tec)]
    if args.mae_long:
        total = args.mae_epochs + args.tec_epochs
        arms.append(('MAE (long)', f'MAE {total} ep', pretrain_mae(args, 'mae_long', total)))
    rows = []
    for name, pre, init in arms:
        metrics = finetune(args, name.split()[0].lower() + str(len(rows)), init)
        rows.append([name, pre, args.ft_epochs, f"{metrics['accuracy/top1']:.2f}"])
    out = table(rows)
    print(out)
    return out


if __name__ == '__main__':
    main()
