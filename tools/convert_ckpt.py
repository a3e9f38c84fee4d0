"""Convert checkpoints between published layouts and slimselfsup's.

Usage::

    python tools/convert_ckpt.py --list
    python tools/convert_ckpt.py NAME IN.pth OUT.pth [--width W] [--option key=value ...]

``NAME`` is one of the converters in :mod:`slimselfsup.converters` (``--list`` shows
them with a line of help each). ``--width W`` exports that width of a slimmable
checkpoint (SlimCLR, Slimmable SEED) as a plain network, for the converters that take
a ``width`` (``to-torchvision``, ``to-timm-resnet``, ``to-detectron2``, ``slimclr``).
The output holds ``state_dict`` and a ``meta`` with the converter name and source
file. An ``OUT`` ending in ``.pkl`` is written with pickle exactly as the converter
returned it (e.g. ``to-detectron2``'s ``{"model": {...numpy...}, ...}``); an ``IN``
ending in ``.pkl`` is read with an unpickler that accepts only dicts and numpy
arrays.
"""
import argparse
import inspect
import os
import os.path as osp
import pickle
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from slimselfsup.converters import CONVERTERS, ConversionError, convert  # noqa: E402
from slimselfsup.utils import register_all_modules  # noqa: E402
from slimselfsup.utils.checkpoint_io import (atomic_torch_save, atomic_write,  # noqa: E402
                                             load_checkpoint_file)


def parse_options(pairs):
    options = {}
    for pair in pairs or []:
        if '=' not in pair:
            raise SystemExit(f'--option expects key=value, got {pair!r}')
        key, value = pair.split('=', 1)
        try:
            import ast
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass
        options[key] = value
    return options


def main(argv=None) -> int:
    register_all_modules()
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1],
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('name', nargs='?', help='converter name (see --list)')
    parser.add_argument('src', nargs='?', help='input checkpoint')
    parser.add_argument('dst', nargs='?', help='output checkpoint')
    parser.add_argument('--option', nargs='+', metavar='KEY=VALUE',
                        help='converter options, e.g. --option prefix=backbone.')
    parser.add_argument('--width', type=float,
                        help='the width of a slimmable checkpoint to export (SlimCLR, '
                        'Slimmable SEED), e.g. 0.5')
    parser.add_argument('--list', action='store_true', help='list converters')
    parser.add_argument('--trust', action='store_true',
                        help='unpickle arbitrary objects (weights_only=False); only '
                        'for files from official release pages')
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name, (_, text) in CONVERTERS.items():
            print(f'{name:24s} {text}')
        return 0
    if not (args.src and args.dst):
        parser.error('give NAME, IN and OUT')
    if not osp.isfile(args.src):
        parser.error(f'input checkpoint {args.src} does not exist')
    try:
        if args.src.endswith('.pkl'):
            from slimselfsup.converters.detectron2 import load_pkl
            checkpoint = load_pkl(args.src)
        else:  # names a truncated or foreign file; --trust only for pickled objects
            checkpoint = load_checkpoint_file(args.src, trust=args.trust)
    except Exception as err:  # RuntimeError from the loader, pickle errors from .pkl
        print(f'convert_ckpt: {err}', file=sys.stderr)
        return 2
    options = parse_options(args.option)
    if args.width is not None:
        takes = [n for n, (fn, _) in CONVERTERS.items()
                 if 'width' in inspect.signature(fn).parameters]
        if args.name in CONVERTERS and args.name not in takes:
            print(f'convert_ckpt {args.name}: this converter takes no --width; those that '
                  f'do: {", ".join(takes)}', file=sys.stderr)
            return 2
        options['width'] = args.width
    try:
        state_dict = convert(args.name, checkpoint, **options)
    except (ConversionError, KeyError) as err:
        print(f'convert_ckpt {args.name}: {err}', file=sys.stderr)
        return 2
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    if args.dst.endswith('.pkl'):
        def write(path):
            with open(path, 'wb') as f:
                pickle.dump(state_dict, f)
        atomic_write(args.dst, write)
        print(f'{args.name}: pickled -> {args.dst}')
        return 0
    if not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        print(f'convert_ckpt {args.name}: this converter writes a pickle file '
              f'(not a torch state dict); give an OUT ending in .pkl', file=sys.stderr)
        return 2
    atomic_torch_save(dict(state_dict=state_dict,
                           meta=dict(converter=args.name,
                                     source=osp.basename(args.src))), args.dst)
    print(f'{args.name}: {len(state_dict)} tensors -> {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
