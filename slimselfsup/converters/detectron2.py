"""``to-detectron2`` / ``from-detectron2``: detectron2's ResNet weight files.

detectron2 reads ``.pkl`` files holding ``{"model": {name: numpy array},
"__author__": str, "matching_heuristics": True}``, the layout MoCo's
``convert-pretrain-to-detectron2.py`` writes. Its ResNet names (``build_resnet_
backbone``) are:

* stem: ``stem.conv1.weight`` and its BN ``stem.conv1.norm.{weight,bias,
  running_mean,running_var}``;
* stage ``s`` (torchvision's ``layer{s-1}``) is ``res{s}``, s = 2..5; block ``b``
  holds ``res{s}.{b}.conv{k}.weight`` with BN ``res{s}.{b}.conv{k}.norm.*`` and the
  projection shortcut ``res{s}.{b}.shortcut.weight`` / ``shortcut.norm.*``.

BN ``num_batches_tracked`` counters are dropped (detectron2's ``FrozenBatchNorm2d``
has none) and so is the classifier. Use the file with detectron2 configs set for
torchvision-style weights: ``MODEL.RESNETS.STRIDE_IN_1X1 False``, ``INPUT.FORMAT
RGB``, ``MODEL.PIXEL_MEAN [123.675, 116.28, 103.53]``, ``MODEL.PIXEL_STD [58.395,
57.12, 57.375]`` (what MoCo's detection configs set).

``width=W`` exports that width of a slimmable backbone (:mod:`.width`); detectron2
builds the narrow ResNet from ``MODEL.RESNETS.STEM_OUT_CHANNELS int(64 W)``,
``RES2_OUT_CHANNELS int(256 W)`` (``int(64 W)`` for R-18/34) and ``WIDTH_PER_GROUP
int(64 W)`` (:func:`detectron2_resnet_cfg`).
"""
import io
import pickle
import re
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
import torch

from .registry import ConversionError, StateDict, register_converter, unwrap_state_dict

AUTHOR = 'slimselfsup'
BLOCK = re.compile(r'^layer(\d)\.(\d+)\.(.+)$')
D2_BLOCK = re.compile(r'^res(\d)\.(\d+)\.(.+)$')


def to_d2_name(key: str) -> str:
    """torchvision/mmpretrain ResNet name -> detectron2 name."""
    m = BLOCK.match(key)
    if not m:  # stem
        return 'stem.' + re.sub(r'^bn1\.', 'conv1.norm.', key)
    stage, block, rest = int(m.group(1)) + 1, m.group(2), m.group(3)
    rest = re.sub(r'^bn(\d)\.', r'conv\1.norm.', rest)
    rest = re.sub(r'^downsample\.0\.', 'shortcut.', rest)
    rest = re.sub(r'^downsample\.1\.', 'shortcut.norm.', rest)
    return f'res{stage}.{block}.{rest}'


def from_d2_name(key: str) -> str:
    """detectron2 ResNet name -> torchvision/mmpretrain name."""
    if key.startswith('stem.'):
        return re.sub(r'^conv1\.norm\.', 'bn1.', key[len('stem.'):])
    m = D2_BLOCK.match(key)
    if not m:
        raise ConversionError(f'{key} is not a detectron2 ResNet parameter')
    stage, block, rest = int(m.group(1)) - 1, m.group(2), m.group(3)
    rest = re.sub(r'^conv(\d)\.norm\.', r'bn\1.', rest)
    rest = re.sub(r'^shortcut\.norm\.', 'downsample.1.', rest)
    rest = re.sub(r'^shortcut\.', 'downsample.0.', rest)
    return f'layer{stage}.{block}.{rest}'


def detectron2_resnet_cfg(arch: dict) -> Dict[str, int]:
    """The ``MODEL.RESNETS`` values under which detectron2 builds the ResNet of
    ``arch`` (:func:`~.torchvision.resnet_layout`), e.g. width 0.5 of a ResNet-50:
    ``DEPTH 50, STEM_OUT_CHANNELS 32, RES2_OUT_CHANNELS 128, WIDTH_PER_GROUP 32``."""
    expansion = 1 if arch['depth'] in (18, 34) else 4
    return dict(DEPTH=arch['depth'], STEM_OUT_CHANNELS=arch['stem_channels'],
                RES2_OUT_CHANNELS=arch['base_channels'] * expansion,
                WIDTH_PER_GROUP=arch['base_channels'])


@register_converter('to-detectron2', 'our ResNet (backbone.*) -> detectron2 .pkl '
                    '(res2..res5 names, numpy arrays; width=W: that width of a '
                    'slimmable ResNet); OUT must end in .pkl')
def convert_to_detectron2(checkpoint: dict, prefix: str = 'backbone.',
                          width: Optional[float] = None) -> dict:
    """Our ResNet backbone as a detectron2 weight file (write it with pickle).

    Args:
        checkpoint (dict): Our checkpoint or a bare backbone state dict.
        prefix (str): Key prefix of the backbone. Defaults to ``'backbone.'``.
        width (float, optional): The width of a slimmable backbone to export (a
            plain one accepts only its own); set :func:`detectron2_resnet_cfg` in
            the detectron2 config for a width below 1. Defaults to None.

    Returns:
        dict: ``{"model": {...}, "__author__": "slimselfsup",
        "matching_heuristics": True}``.
    """
    from .width import plain_resnet_state
    state, _, arch = plain_resnet_state(checkpoint, prefix, width)
    if arch['type'] != 'ResNet':
        raise ConversionError(f'detectron2 ResNets have a 7x7 stem; this backbone is '
                              f'{arch} (CIFAR stem)')
    model = OrderedDict(
        (to_d2_name(k), v.detach().cpu().numpy()) for k, v in state.items()
        if not k.endswith('num_batches_tracked'))
    return {'model': model, '__author__': AUTHOR, 'matching_heuristics': True}


@register_converter('from-detectron2', 'detectron2 ResNet .pkl (MoCo-style) -> our '
                    'ResNet backbone (backbone.*)')
def convert_from_detectron2(checkpoint: dict) -> StateDict:
    """A detectron2 ResNet weight file as our ``backbone.*`` state dict.

    BN counters (absent in detectron2) are set to 0. Non-ResNet entries (FPN,
    heads) are an error: convert backbone-only files.
    """
    model = checkpoint.get('model') if isinstance(checkpoint, dict) else None
    if not isinstance(model, dict):
        model = unwrap_state_dict(checkpoint)
    out = OrderedDict()
    for key, value in model.items():
        key = key[len('backbone.bottom_up.'):] if key.startswith(
            'backbone.bottom_up.') else key
        name = from_d2_name(key)
        out[f'backbone.{name}'] = torch.as_tensor(np.asarray(value))
        if name.endswith('.running_var'):
            out[f'backbone.{name[:-len("running_var")]}num_batches_tracked'] = \
                torch.tensor(0)
    return out


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings and numpy arrays, nothing else."""

    ALLOWED = {('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct'),
               ('numpy.core.multiarray', 'scalar'),
               ('numpy._core.multiarray', 'scalar'),
               ('numpy', 'ndarray'), ('numpy', 'dtype'),
               ('collections', 'OrderedDict')}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED or (
                module == 'numpy.dtypes' and name.endswith('DType')):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'refusing to unpickle {module}.{name}: a detectron2 weight file holds '
            'only dicts and numpy arrays')


def load_pkl(path: str) -> Dict:
    """Load a detectron2 ``.pkl`` without running code from it."""
    with open(path, 'rb') as f:
        data = f.read()
    return _NumpyUnpickler(io.BytesIO(data), encoding='latin1').load()
