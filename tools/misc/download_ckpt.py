"""Download a published checkpoint: ``python tools/misc/download_ckpt.py NAME|URL``.

``NAME`` is a model of ``model-index.yml`` with a ``Weights:`` URL. The file goes
to ``$SLIMSELFSUP_HOME/checkpoints`` (default ``~/.cache/slimselfsup/checkpoints``),
is verified against the sha256 prefix in its name (or ``--sha256``) and loaded once
with ``torch.load(weights_only=True)`` to check it. Offline, the error says the
exact path to put the file at. Prints the local path.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from slimselfsup.apis import model_zoo  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('target', help='model name (see --list) or checkpoint URL')
    parser.add_argument('--sha256', help='expected sha256 (or a prefix) when the '
                        'file name carries none')
    parser.add_argument('--dir', help='cache folder (default: $SLIMSELFSUP_HOME/'
                        'checkpoints)')
    parser.add_argument('--list', action='store_true', help='list model names')
    args = parser.parse_args(argv)
    if args.list:
        print('\n'.join(model_zoo.list_models()))
        return 0
    try:
        if re.match(r'^(https?|file)://', args.target):
            url = args.target
        else:
            url = model_zoo.model_info(args.target).get('Weights')
            if not url:
                raise ValueError(f'{args.target} has no published weights (no '
                                 '`Weights:` in its metafile)')
        path = model_zoo.download_checkpoint(url, sha256=args.sha256,
                                             cache_dir=args.dir)
        model_zoo.load_checkpoint_file(path)
    except (KeyError, ValueError, ConnectionError, RuntimeError) as err:
        print(f'download_ckpt: {err}', file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
