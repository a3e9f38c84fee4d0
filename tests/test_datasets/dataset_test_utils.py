"""Helpers of the dataset tests: real CIFAR-10 images from the committed demo subset.

``demo/cifar10-mini`` is a byte-for-byte copy of the first images of every class of
the JPEG CIFAR-10 copy (see its README), so the tests need no external data.
"""
from pathlib import Path
from typing import List, Tuple

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_ROOT = REPO_ROOT / 'demo' / 'cifar10-mini'
CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
                   'horse', 'ship', 'truck')


def demo_images(split: str = 'train', per_class: int = 1) -> List[Tuple[Path, int]]:
    """The first ``per_class`` demo JPEGs of every class as (path, label) pairs.

    Args:
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        per_class (int): Images per class. Defaults to 1.

    Returns:
        list[tuple[Path, int]]: Paths and CIFAR-10 labels, class by class.
    """
    return [(path, label) for label, cls in enumerate(CIFAR10_CLASSES)
            for path in sorted((DEMO_ROOT / split / cls).glob('*.jpg'))[:per_class]]
