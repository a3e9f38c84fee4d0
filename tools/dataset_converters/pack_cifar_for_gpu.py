"""Pack CIFAR-style JPEG class folders into one ``.npz`` to carry to a GPU machine.

The file holds each split's JPEG files unchanged (concatenated bytes, offsets,
labels) and the class names, zip-compressed: the CIFAR JPEGs share their 600-byte
headers, so CIFAR-10 train + test (the JPEG copy in ``../shared/data/cifar10``, 53 MiB
of files) packs into about 18 MiB, which travels to a GPU machine beside the repo.
``CIFARTensorDataset`` decodes it once on the GPU and keeps the images there.

Example::

    python tools/dataset_converters/pack_cifar_for_gpu.py ../shared/data/cifar10 \\
        data/cifar10_jpeg.npz
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from typing import Optional, Sequence

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from slimselfsup.datasets.cifar_tensor import PACK_FORMAT  # noqa: E402
from slimselfsup.utils.progress import track  # noqa: E402


def pack(src: str, out: str, splits: Sequence[str] = ('train', 'test')) -> str:
    """Write the pack; returns its SHA-256."""
    arrays, classes = {'format': np.array(PACK_FORMAT)}, None
    for split in splits:
        folder = osp.join(src, split)
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{folder!r} does not exist; expected '
                                    '<src>/<split>/<class>/<image>.')
        names = sorted(d for d in os.listdir(folder)
                       if osp.isdir(osp.join(folder, d)))
        if classes is not None and names != classes:
            raise ValueError(f'split {split!r} has classes {names}, not {classes}')
        classes = names
        files = [(label, osp.join(folder, cls, name)) for label, cls in enumerate(names)
                 for name in sorted(os.listdir(osp.join(folder, cls)))]
        blobs, labels = [], []
        for label, path in track(files, f'pack_cifar_for_gpu: {folder}'):
            with open(path, 'rb') as f:
                blobs.append(f.read())
            labels.append(label)
        arrays[f'{split}_bytes'] = np.frombuffer(b''.join(blobs), np.uint8)
        arrays[f'{split}_offsets'] = np.cumsum([0] + [len(b) for b in blobs])
        arrays[f'{split}_labels'] = np.asarray(labels, np.int16)
    arrays['classes'] = np.array(classes)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = out + '.tmp.npz'
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, out)
    with open(out, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='folder with <split>/<class>/<image>')
    parser.add_argument('out', help='output .npz')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'])
    args = parser.parse_args(argv)
    if not args.out.endswith('.npz'):
        parser.error('OUT must end with .npz')
    try:
        digest = pack(args.src, args.out, args.splits)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'pack_cifar_for_gpu.py: error: {exc}')
    print(f'wrote {args.out} ({osp.getsize(args.out) / 2**20:.1f} MiB, '
          f'sha256 {digest})')


if __name__ == '__main__':
    main()
