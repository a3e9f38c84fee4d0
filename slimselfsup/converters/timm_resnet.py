"""``to-timm-resnet``: our ResNet / ResNetV1d checkpoints as timm ``resnet*``.

timm's ``resnet{18..152}`` use torchvision's names. Its ``resnet*d`` (deep stem,
average-pool shortcut, `Bag of Tricks, arXiv 1812.01187
<https://arxiv.org/abs/1812.01187>`_) correspond to mmpretrain's ``ResNetV1d``:

* stem: our ``stem.{0,1,2}.{conv,bn}`` (three ConvModules) are timm's
  ``conv1.{0,3,6}`` convs with ``conv1.{1,4}`` and ``bn1`` as their BNs;
* shortcut: ours is ``downsample.(AvgPool,) conv, bn`` (no pool where the stride is
  1), timm's always ``downsample.{0: pool or Identity, 1: conv, 2: bn}``.
"""
import re
from collections import OrderedDict

from .prefixes import backbone_state
from .registry import ConversionError, StateDict, check_keys, register_converter
from .torchvision import classifier_state, plain_resnet_arch

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


@register_converter('to-timm-resnet', 'our ResNet / ResNetV1d (backbone.*, optional '
                    'head.fc.*) -> timm resnet* / resnet*d state dict')
def convert_to_timm_resnet(checkpoint: dict, prefix: str = 'backbone.',
                           model_name: str = None) -> StateDict:
    """Our ResNet checkpoint as a timm ``resnet{depth}`` (or ``resnet{depth}d``).

    Without a classifier the result has no ``fc.*``; create the timm model with
    ``num_classes=0`` to load it strictly.

    Args:
        checkpoint (dict): Our checkpoint or a bare backbone state dict.
        prefix (str): Key prefix of the backbone. Defaults to ``'backbone.'``.
        model_name (str, optional): timm model to check the keys against.
            Defaults to None: ``resnet{depth}`` or ``resnet{depth}d``.
    """
    import timm
    state = backbone_state(checkpoint, prefix)
    if 'stem.0.conv.weight' in state:
        arch = _v1d_arch(state)
        out = _v1d_to_timm(state)
        name = model_name or f'resnet{arch["depth"]}d'
    else:
        arch = plain_resnet_arch(state)
        if arch['type'] != 'ResNet':
            raise ConversionError(f'timm ResNets have a 7x7 stem; this backbone is '
                                  f'{arch} (CIFAR stem)')
        out = OrderedDict(state)
        name = model_name or f'resnet{arch["depth"]}'
    out.update(classifier_state(checkpoint))
    num_classes = out['fc.weight'].shape[0] if 'fc.weight' in out else 0
    model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    expected = model.state_dict()
    check_keys(out, expected, f'timm {name}')
    for key, value in expected.items():
        if value.shape != out[key].shape:
            raise ConversionError(f'{key}: shape {tuple(out[key].shape)} here vs '
                                  f'{tuple(value.shape)} in timm {name}')
    return out
