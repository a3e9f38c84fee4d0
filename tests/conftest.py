"""Shared test fixtures: real CIFAR-10 images from the repo's demo subset.

Helpers to import live in ``tests/realdata.py`` (``from realdata import ...``).
"""
import os

import pytest
import torch
from realdata import DEMO, load_real_images

import slimselfsup  # noqa: F401  (applies the compatibility shims)
from slimselfsup.utils import register_all_modules

register_all_modules()


@pytest.fixture(autouse=True)
def slimselfsup_scope():
    """Every test starts in the ``slimselfsup`` scope and leaves no scope behind:
    a Runner makes its config's scope current for the whole process (an mmdet
    config leaves ``mmdet``, where our types do not resolve)."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('slimselfsup'):
        yield


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models run far faster single-threaded on a small, shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def real_images() -> torch.Tensor:
    return load_real_images(16)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> str:
    """A small real training folder: ``train/<class>/`` with the first 4 images of
    each class of the demo subset (40 images, 5 batches of 8), linked."""
    root = tmp_path_factory.mktemp('cifar')
    for cls in sorted(os.listdir(os.path.join(DEMO, 'train'))):
        os.makedirs(root / 'train' / cls)
        for name in sorted(os.listdir(os.path.join(DEMO, 'train', cls)))[:4]:
            os.symlink(os.path.join(DEMO, 'train', cls, name), root / 'train' / cls / name)
    return str(root)
