"""Real CIFAR-10 images for the tests (the repo's demo subset, else the full set).

A plain module with a unique name (``from realdata import ...``): ``conftest`` is
not importable by name because several test folders have a ``conftest.py``.
"""
import os
import os.path as osp

import numpy as np
import torch
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'demo', 'cifar10-mini')
CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
           'ship', 'truck')

#: CIFAR-10 JPEG class folders: the repo's subset, else the full set beside the repo.
CIFAR = next((p for p in (DEMO, osp.join(REPO, '..', 'shared', 'data', 'cifar10'))
              if osp.isdir(osp.join(p, 'train'))), None)


def make_subset(dst, split: str, per_class: int, num_classes: int = 10) -> str:
    """Link the first ``per_class`` images of the first ``num_classes`` classes of
    CIFAR ``split`` into class folders under ``dst``; returns ``dst``."""
    for cls in sorted(os.listdir(osp.join(CIFAR, split)))[:num_classes]:
        os.makedirs(osp.join(dst, cls))
        for name in sorted(os.listdir(osp.join(CIFAR, split, cls)))[:per_class]:
            os.symlink(osp.join(CIFAR, split, cls, name), osp.join(dst, cls, name))
    return str(dst)


def load_real_images(n: int, split: str = 'train') -> torch.Tensor:
    """``n`` real CIFAR-10 images as a float tensor (n, 3, 32, 32) in [0, 1],
    taken round-robin over the classes of the demo subset."""
    imgs = []
    for i in range(n):
        folder = osp.join(DEMO, split, CLASSES[i % 10])
        name = sorted(os.listdir(folder))[i // 10]
        imgs.append(np.asarray(Image.open(osp.join(folder, name)).convert('RGB')))
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255


def pack_demo(out) -> str:
    """Pack the demo subset with tools/dataset_converters/pack_cifar_for_gpu.py (the
    file a GPU machine gets) into ``out`` (a ``.npz`` path); returns it."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'pack_cifar_for_gpu',
        osp.join(REPO, 'tools', 'dataset_converters', 'pack_cifar_for_gpu.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.pack(DEMO, str(out))
    return str(out)
