"""Cut one width out of a slimmable ResNet checkpoint into a plain ResNet.

SlimCLR (`arXiv 2209.15525 <https://arxiv.org/abs/2209.15525>`_) trains nested
sub-networks: at width ``w`` every conv uses ``W[:int(out * w), :int(in * w)]`` (the
stem keeps its 3 input channels) and every BN is the private BN of that width
(``...bns.{i}.*``, ``i`` indexing the descending width list). Slicing them out gives an
ordinary mmpretrain ``ResNet`` with ``base_channels = int(64 * w)`` and
``stem_channels = int(64 * w)`` and the same outputs::

    python tools/model_converters/slimclr_extract.py CKPT --width 0.5 --out r50_w0.5.pth

Input: a checkpoint of our SlimCLR algorithms or ``SlimmableClassifier`` (keys
``backbone.*``, see ``--prefix``) or a bare ``SlimmableResNet`` state dict. The
output (``--format mmpretrain``) is ``{'state_dict': {'backbone.*': ...}, 'meta':
{...}}``, plus ``head.fc.*`` when the input holds a ``SwitchableLinearClsHead``, and
the printed config snippet builds the matching model. The cutting itself is
:func:`slimselfsup.models.slimmable.extract.extract_resnet`. ``--format torchvision``
writes a bare ``torchvision.models.resnet*`` state dict; torchvision's classes fix
the stem and stage widths at 64 * 2^k, so only sub-networks with 64 base channels
(width 1.0 of a standard ResNet) exist there.
"""
import argparse
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch

from slimselfsup.converters.resnet_keys import resnet_layout
from slimselfsup.converters.width import widths_from_meta
from slimselfsup.models.slimmable.extract import extract_resnet, infer_widths, is_slimmable


def load_state(path: str, prefix: str = 'backbone.') -> Tuple[dict, dict, dict]:
    """Backbone state (prefix stripped), head state (``head.`` stripped) and meta."""
    from slimselfsup.utils.checkpoint_io import check_checkpoint
    check_checkpoint(path)  # names a truncated or foreign file
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds no state dict')
    meta = ckpt.get('meta') or {}
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    backbone = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not backbone and is_slimmable(state):
        backbone = dict(state)  # a bare SlimmableResNet state dict
    if not is_slimmable(backbone):
        raise ValueError(f'no slimmable backbone (keys "{prefix}...bns.<i>.*") in '
                         f'{path}; pass --prefix for other layouts')
    head = {k[len('head.'):]: v for k, v in state.items() if k.startswith('head.')} \
        if prefix == 'backbone.' else {}
    return backbone, head, meta


def to_torchvision(state: dict, head: dict, arch: dict) -> dict:
    """The same tensors under torchvision's names (identical to mmpretrain's)."""
    if arch['type'] != 'ResNet' or arch['stem_channels'] != 64 or \
            arch['base_channels'] != 64:
        raise ValueError(
            'torchvision cannot hold this sub-network: torchvision.models.resnet '
            'hard-codes a 64-channel 7x7 stem and stage widths 64/128/256/512 '
            '(x4 for bottlenecks); `width_per_group` only widens the 3x3 conv '
            f'inside bottlenecks. The extracted net has {arch}. Only a width whose '
            'channels equal the standard ResNet (width 1.0 of a 64-base model) can '
            'be exported here; use --format mmpretrain for narrower widths, or '
            '`tools/convert_ckpt.py to-torchvision CKPT OUT --width W`, whose output '
            'loads into slimselfsup.converters.torchvision.torchvision_resnet(depth, W) '
            '(torchvision\'s ResNet with narrowed layers).')
    return OrderedDict(list(state.items()) + list(head.items()))


def config_snippet(arch: dict) -> str:
    """``dict(type='ResNet', depth=50, ...)`` as it would appear in a config."""
    return 'dict(' + ', '.join(f'{k}={v!r}' for k, v in arch.items()) + ')'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='slimmable checkpoint (ours or a bare '
                        'SlimmableResNet state dict)')
    parser.add_argument('--width', type=float, required=True, help='width to extract')
    parser.add_argument('--out', required=True, help='output file')
    parser.add_argument('--format', choices=('mmpretrain', 'torchvision'),
                        default='mmpretrain')
    parser.add_argument('--prefix', default='backbone.',
                        help='key prefix of the slimmable backbone in the checkpoint')
    parser.add_argument('--widths', type=float, nargs='+',
                        help='width list of the checkpoint (default: from its '
                        'config in meta, else inferred from the BN sizes)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    state, head, meta = load_state(args.checkpoint, args.prefix)
    widths = tuple(sorted(args.widths, reverse=True)) if args.widths \
        else widths_from_meta(meta) or infer_widths(state)
    backbone, head_state, arch = extract_resnet(state, args.width, widths,
                                                resnet_layout(state), head)
    info = dict(arch=arch, width=args.width, widths=list(widths),
                source=args.checkpoint, format=args.format)
    if head_state:
        info['head'] = dict(in_channels=head_state['fc.weight'].shape[1],
                            num_classes=head_state['fc.weight'].shape[0])
    if args.format == 'torchvision':
        torch.save(to_torchvision(backbone, head_state, arch), args.out)
        print(f'saved width {args.width} as a torchvision resnet{arch["depth"]} state '
              f'dict to {args.out}')
        return
    out_state = OrderedDict([(f'backbone.{k}', v) for k, v in backbone.items()] +
                            [(f'head.{k}', v) for k, v in head_state.items()])
    torch.save(dict(state_dict=out_state, meta=info), args.out)
    print(f'saved width {args.width} of {list(widths)} to {args.out}; build it with\n'
          f'  backbone={config_snippet(arch)}')
    print(f"  init_cfg=dict(type='Pretrained', checkpoint='{args.out}', "
          "prefix='backbone.')")
    if head_state:
        print(f"  head=dict(type='LinearClsHead', "
              f"num_classes={info['head']['num_classes']}, "
              f"in_channels={info['head']['in_channels']}) "
              '(ImageClassifier; load the whole file with load_from)')


if __name__ == '__main__':
    main()
