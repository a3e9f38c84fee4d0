"""Parameters and MACs of every width of a slimmable backbone.

``python tools/analysis_tools/slim_complexity.py [CONFIG] [--depth 50] [--cifar]
[--widths 1.0 0.75 0.5 0.25] [--img-size 224] [--num-classes 1000]`` prints a markdown table with,
per width, the parameters the sub-network uses (backbone only, and with a
``num_classes``-way linear classifier) and its MACs, counting only the weight slices
and the private BN of that width (SlimCLR, arXiv 2209.15525). Without CONFIG a
``SlimmableResNet(depth)`` is counted; with CONFIG its ``model.backbone``.
"""
import argparse
from typing import List, Optional

from mmengine.config import DictAction

import slimselfsup  # noqa: F401
from slimselfsup.analysis.complexity import format_complexity_table, slim_complexity
from slimselfsup.apis import load_config
from slimselfsup.registry import MODELS
from slimselfsup.utils import register_all_modules


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='per-width params / MACs of a slimmable backbone')
    parser.add_argument('config', nargs='?', help='config whose model.backbone to count')
    parser.add_argument('--depth', type=int, default=50,
                        help='SlimmableResNet depth when no config is given')
    parser.add_argument('--cifar', action='store_true',
                        help='the CIFAR stem (SlimmableResNetCIFAR) without config')
    parser.add_argument('--widths', type=float, nargs='+',
                        help="widths (default: the backbone's width list)")
    parser.add_argument('--img-size', type=int,
                        help='input resolution (default: 32 for CIFAR backbones, '
                        'else 224)')
    parser.add_argument('--num-classes', type=int,
                        help='classes of the added linear classifier, 0 for none '
                        '(default: 10 for CIFAR backbones, else 1000)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, xxx=yyy')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> list:
    args = parse_args(argv)
    register_all_modules()
    if args.config:
        cfg = load_config(args.config, args.cfg_options)
        backbone_cfg = cfg.model.backbone.copy()
        backbone_cfg.pop('init_cfg', None)
        if args.widths and 'widths' not in backbone_cfg:
            backbone_cfg['widths'] = args.widths
        backbone = MODELS.build(backbone_cfg)
        name = args.config
    else:
        backbone_type = 'SlimmableResNetCIFAR' if args.cifar else 'SlimmableResNet'
        kwargs = dict(widths=args.widths) if args.widths else {}
        backbone = MODELS.build(dict(type=backbone_type, depth=args.depth, **kwargs))
        name = f'{backbone_type}-{args.depth}'
    widths = args.widths or getattr(backbone, 'widths', None) or (1.0, )
    cifar = 'CIFAR' in type(backbone).__name__
    img_size = args.img_size or (32 if cifar else 224)
    num_classes = args.num_classes if args.num_classes is not None else \
        (10 if cifar else 1000)
    num_classes = num_classes or None
    rows = slim_complexity(backbone, widths, img_size=img_size,
                           num_classes=num_classes)
    print(f'{name}, {img_size}x{img_size} input '
          '(MACs: conv + linear multiply-adds)\n')
    print(format_complexity_table(rows, num_classes, img_size))
    return rows


if __name__ == '__main__':
    main()
