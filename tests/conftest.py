"""Shared test fixtures: real CIFAR-10 images from the repo's demo subset.

Helpers to import live in ``tests/realdata.py`` (``from realdata import ...``).
"""
import pytest
import torch

import slimselfsup  # noqa: F401  (applies the compatibility shims)
from realdata import load_real_images
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
