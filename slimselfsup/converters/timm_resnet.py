"""``to-timm-resnet``: our ResNet / ResNetV1d checkpoints as timm ``resnet*``.

timm's ``resnet{18..152}`` use torchvision's names. Its ``resnet*d`` (deep stem,
average-pool shortcut, `Bag of Tricks, arXiv 1812.01187
<https://arxiv.org/abs/1812.01187>`_) correspond to mmpretrain's ``ResNetV1d``:

* stem: our ``stem.{0,1,2}.{conv,bn}`` (three ConvModules) are timm's
  ``conv1.{0,3,6}`` convs with ``conv1.{1,4}`` and ``bn1`` as their BNs;
* shortcut: ours is ``downsample.(AvgPool,) conv, bn`` (no pool where the stride is
  1), timm's always ``downsample.{0: pool or Identity, 1: conv, 2: bn}``.

A slimmable backbone is cut at ``width`` first (:mod:`.width`); a narrow ResNet loads
into :func:`timm_resnet` (timm's constructor fixes the stem at 64 channels).
"""
import re
from collections import OrderedDict
from typing import Optional

from .prefixes import backbone_state
from .registry import ConversionError, StateDict, check_keys, register_converter
from .resnet_keys import classifier_state

STEM = {'stem.0.conv.': 'conv1.0.', 'stem.0.bn.': 'conv1.1.',
        'stem.1.conv.': 'conv1.3.', 'stem.1.bn.': 'conv1.4.',
        'stem.2.conv.': 'conv1.6.', 'stem.2.bn.': 'bn1.'}
DOWNSAMPLE = re.compile(r'^(layer\d+\.\d+\.downsample)\.(\d)\.(.+)$')
BLOCKS = {(2, 2, 2, 2): 18, (3, 4, 6, 3): 34, (3, 4, 23, 3): 101, (3, 8, 36, 3): 152}


def _v1d_arch(state: StateDict) -> dict:
    bottleneck = any(k.startswith('layer1.0.conv3.') for k in state)
    blocks = tuple(len({k.split('.')[1] for k in state if k.startswith(f'layer{s}.')})
                   for s in range(1, 5))
    depth = 50 if bottleneck and blocks == (3, 4, 6, 3) else BLOCKS.get(blocks)
    if depth is None or (depth in (18, 34)) == bottleneck:
        raise ConversionError(f'unknown ResNetV1d layout: blocks {blocks}')
    return dict(depth=depth, deep=True)


def _v1d_to_timm(state: StateDict) -> StateDict:
    out = OrderedDict()
    for key, value in state.items():
        stem = next((p for p in STEM if key.startswith(p)), None)
        m = DOWNSAMPLE.match(key)
        if stem:
            key = STEM[stem] + key[len(stem):]
        elif m:
            # (conv, bn) at stride 1 or (pool, conv, bn): timm's conv is always 1
            module = [k for k in state if k.startswith(m.group(1) + '.')]
            has_pool = not any(k.startswith(f'{m.group(1)}.0.') for k in module)
            index = int(m.group(2)) + (0 if has_pool else 1)
            key = f'{m.group(1)}.{index}.{m.group(3)}'
        out[key] = value
    return out


def timm_resnet(name: str, width: float = 1.0, num_classes: int = 0):
    """``timm.create_model(name)`` at ``width``: timm's ResNet with every layer
    narrowed to ``int(C * width)`` channels, which is what ``to-timm-resnet``
    writes for a width below 1.

    Args:
        name (str): A timm ResNet, e.g. ``'resnet50'``.
        width (float): The width. Defaults to 1.0.
        num_classes (int): Classes of ``fc`` (0: none). Defaults to 0.
    """
    import timm

    from ..models.slimmable.extract import narrow_module
    model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    return narrow_module(model, width) if width != 1.0 else model


@register_converter('to-timm-resnet', 'our ResNet / ResNetV1d (backbone.*, optional '
                    'head.fc.*) -> timm resnet* / resnet*d state dict (width=W: that '
                    'width of a slimmable ResNet)')
def convert_to_timm_resnet(checkpoint: dict, prefix: str = 'backbone.',
                           model_name: str = None,
                           width: Optional[float] = None) -> StateDict:
    """Our ResNet checkpoint as a timm ``resnet{depth}`` (or ``resnet{depth}d``).

    Without a classifier the result has no ``fc.*``; create the timm model with
    ``num_classes=0`` to load it strictly. A network narrower than timm's (a width
    below 1) loads into :func:`timm_resnet` with that width.

    Args:
        checkpoint (dict): Our checkpoint or a bare backbone state dict.
        prefix (str): Key prefix of the backbone. Defaults to ``'backbone.'``.
        model_name (str, optional): timm model to check the keys against.
            Defaults to None: ``resnet{depth}`` or ``resnet{depth}d``.
        width (float, optional): The width of a slimmable backbone to export (a
            plain one accepts only its own). Defaults to None.
    """
    from .width import plain_resnet_state
    state = backbone_state(checkpoint, prefix)
    if 'stem.0.conv.weight' in state:
        if width is not None:
            raise ConversionError(f'width {width}: a ResNetV1d is not slimmable; export '
                                  'it without a width')
        arch = _v1d_arch(state)
        out = _v1d_to_timm(state)
        out.update(classifier_state(checkpoint))
        name, width = model_name or f'resnet{arch["depth"]}d', 1.0
    else:
        state, fc, arch = plain_resnet_state(checkpoint, prefix, width)
        if arch['type'] != 'ResNet' or arch['stem_channels'] != arch['base_channels']:
            raise ConversionError(f'timm ResNets have a 7x7 stem as wide as the first '
                                  f'stage; this backbone is {arch} (CIFAR stem)')
        out = OrderedDict(state)
        out.update(fc)
        name, width = model_name or f'resnet{arch["depth"]}', arch['base_channels'] / 64
    num_classes = out['fc.weight'].shape[0] if 'fc.weight' in out else 0
    expected = timm_resnet(name, width, num_classes).state_dict()
    check_keys(out, expected, f'timm {name}')
    for key, value in expected.items():
        if value.shape != out[key].shape:
            raise ConversionError(f'{key}: shape {tuple(out[key].shape)} here vs '
                                  f'{tuple(value.shape)} in timm {name}')
    return out
