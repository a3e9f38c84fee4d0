"""Pack an image class-folder tree into SEED's TSV format.

Writes ``OUT.tsv`` (one line per image: ``<class>/<file>``, label index, base64 of
the original file bytes, tab-separated), ``OUT.lineidx`` (byte offset of every line)
and ``OUT.labelmap.txt`` (class names in label order, usable as
``classes=...labelmap.txt`` in a data set config). Labels follow the sorted folder
names, as in ``ImageFolder``; images are sorted by name, so the output is
reproducible. Files are written under temporary names and renamed at the end.

Example::

    python tools/dataset_converters/folder2tsv.py data/imagenet/train \
        data/imagenet/train.tsv
"""
import argparse
import base64
import os
import os.path as osp
import sys
from typing import List, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from slimselfsup.utils.progress import track  # noqa: E402

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff',
                  '.webp')


def scan(src: str, extensions=IMG_EXTENSIONS) -> Tuple[List[str], List[Tuple[str, int]]]:
    """Class names and ``(relative path, label)`` of every image under ``src``."""
    if not osp.isdir(src):
        raise FileNotFoundError(f'folder2tsv: {src!r} is not a folder; expected '
                                '<src>/<class>/<image>')
    classes = sorted(d for d in os.listdir(src) if osp.isdir(osp.join(src, d)))
    samples = []
    for label, cls in enumerate(classes):
        for root, _, files in sorted(os.walk(osp.join(src, cls), followlinks=True)):
            for name in sorted(files):
                if name.lower().endswith(extensions):
                    rel = osp.relpath(osp.join(root, name), src).replace(os.sep, '/')
                    if '\t' in rel or '\n' in rel:
                        raise ValueError(f'folder2tsv: file name {rel!r} contains a '
                                         'tab or newline; rename it')
                    samples.append((rel, label))
    if not samples:
        raise ValueError(f'folder2tsv: no image with extension in {IMG_EXTENSIONS} '
                         f'under {src!r}; expected <src>/<class>/<image>')
    return classes, samples


def folder2tsv(src: str, out: str) -> int:
    """Write ``out`` (a ``.tsv`` path) with its ``.lineidx`` and labelmap.

    Returns:
        int: The number of images written.
    """
    if not out.endswith('.tsv'):
        raise ValueError(f'folder2tsv: output {out!r} must end with .tsv')
    classes, samples = scan(src)
    stem = out[:-len('.tsv')]
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = f'.tmp{os.getpid()}'
    with open(out + tmp, 'wb') as tsv, open(stem + '.lineidx' + tmp, 'w') as idx:
        pos = 0
        for rel, label in track(samples, f'folder2tsv: {src} -> {out}'):
            with open(osp.join(src, rel), 'rb') as f:
                data = base64.b64encode(f.read())
            line = b'\t'.join([rel.encode('utf-8'), str(label).encode(), data]) + b'\n'
            idx.write(f'{pos}\n')
            tsv.write(line)
            pos += len(line)
    with open(stem + '.labelmap.txt' + tmp, 'w') as f:
        f.write(''.join(c + '\n' for c in classes))
    for path in (out, stem + '.lineidx', stem + '.labelmap.txt'):
        os.replace(path + tmp, path)
    return len(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='image folder: <src>/<class>/<image>')
    parser.add_argument('out', help='output .tsv path (.lineidx and .labelmap.txt '
                        'are written beside it)')
    args = parser.parse_args(argv)
    try:
        n = folder2tsv(args.src, args.out)
    except (FileNotFoundError, ValueError) as err:
        print(err, file=sys.stderr)
        return 2
    print(f'folder2tsv: {n} images -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
