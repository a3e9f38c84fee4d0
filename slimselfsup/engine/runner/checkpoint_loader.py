"""mmengine's loader of local checkpoint files, checking each file first.

Registered for every path without a scheme, it serves ``load_from``, ``init_cfg``
``Pretrained`` and ``load_checkpoint``: a truncated file or an image raises an error
naming it (:func:`~slimselfsup.utils.checkpoint_io.check_checkpoint`), not torch's
"failed finding central directory".
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from slimselfsup.utils.checkpoint_io import check_checkpoint


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None):
    """``torch.load`` of a local checkpoint after :func:`check_checkpoint`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):  # mmengine's error type for this case
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    check_checkpoint(filename)
    return torch.load(filename, map_location=map_location)
