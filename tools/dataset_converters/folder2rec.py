"""Pack a class-folder image data set into MXNet RecordIO ``.rec``/``.idx`` files.

Writes what MXNet's ``im2rec.py --pass-through`` writes, without mxnet: one record
per image (``IRHeader`` struct ``'IfQQ'`` with the class index as label and the
running index as id, then the unchanged image file bytes), framed with the magic
number ``0xced7230a``, plus the ``.idx`` index (``<id>\\t<offset>``) and a ``.lst``
list (``<id>\\t<label>\\t<relative path>``). Files are written under temporary names
and renamed at the end, so an interrupted run leaves no half file behind.

Example::

    python tools/dataset_converters/folder2rec.py data/cifar10/train \\
        data/cifar10_rec/train
    # -> data/cifar10_rec/train.rec, train.idx, train.lst
    # read it with: dict(type='MXRecordDataset', data_root='data/cifar10_rec',
    #                    rec_file='train.rec', pipeline=[dict(type='DecodeImage'), ...])
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
for path in (REPO_ROOT, osp.dirname(osp.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)

from folder2lmdb import IMG_EXTENSIONS, scan_folder  # noqa: E402

from slimselfsup.datasets.mxrecord_dataset import pack_image_record  # noqa: E402
from slimselfsup.datasets.mxrecord_dataset import write_record
from slimselfsup.utils.progress import track  # noqa: E402


def convert(src: str, prefix: str) -> int:
    """Write ``<prefix>.rec``, ``.idx`` and ``.lst`` from ``src``; returns the count."""
    classes, samples = scan_folder(src, IMG_EXTENSIONS)
    os.makedirs(osp.dirname(osp.abspath(prefix)), exist_ok=True)
    paths = {ext: f'{prefix}.{ext}' for ext in ('rec', 'idx', 'lst')}
    tmp = {ext: p + '.tmp' for ext, p in paths.items()}
    with open(tmp['rec'], 'wb') as rec, open(tmp['idx'], 'w') as idx, \
            open(tmp['lst'], 'w') as lst:
        for i, (key, label) in enumerate(track(samples, f'folder2rec: {src} -> {prefix}')):
            with open(osp.join(src, key), 'rb') as f:
                payload = pack_image_record(float(label), f.read(), record_id=i)
            offset = write_record(rec, payload)
            idx.write(f'{i}\t{offset}\n')
            lst.write(f'{i}\t{float(label):f}\t{key}\n')
    for ext in ('lst', 'rec', 'idx'):  # .idx last: its presence means complete
        os.replace(tmp[ext], paths[ext])
    return len(samples)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(
        description='Pack <src>/<class>/<image> into <prefix>.rec/.idx/.lst '
        '(MXNet RecordIO, images not re-encoded), without mxnet.')
    parser.add_argument('src', help='class-folder data set')
    parser.add_argument('prefix', help='output prefix, e.g. data/cifar10_rec/train')
    args = parser.parse_args(argv)
    try:
        n = convert(args.src, args.prefix)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'folder2rec.py: error: {exc}')
    size = osp.getsize(args.prefix + '.rec') / 2**20
    print(f'wrote {n} records to {args.prefix}.rec ({size:.1f} MiB) and .idx/.lst')


if __name__ == '__main__':
    main()
