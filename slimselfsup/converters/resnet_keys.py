"""The layout of a ResNet state dict in mmpretrain's (and torchvision's) names: depth,
stem and base channels, whether it is slimmable, and the classifier of an
``ImageClassifier`` checkpoint. Shared by the converters that read ResNets
(:mod:`.torchvision`, :mod:`.timm_resnet`, :mod:`.width`, :mod:`.slimclr`) and the
mismatch descriptions of :mod:`.describe`.
"""
from collections import OrderedDict

from .registry import ConversionError, StateDict, unwrap_state_dict

DEPTHS = {18: ('BasicBlock', (2, 2, 2, 2)), 34: ('BasicBlock', (3, 4, 6, 3)),
          50: ('Bottleneck', (3, 4, 6, 3)), 101: ('Bottleneck', (3, 4, 23, 3)),
          152: ('Bottleneck', (3, 8, 36, 3))}


def resnet_layout(state: StateDict) -> dict:
    """mmpretrain ``ResNet``/``ResNet_CIFAR`` arguments (depth, stem and base
    channels of the stored weights) of a ResNet state dict, slimmable or plain.

    Raises:
        ConversionError: A deep stem or average-pool shortcuts (ResNetV1d), or no
            ResNet at all.
    """
    if 'stem.0.conv.weight' in state or any(
            k.endswith('downsample.1.weight') and v.dim() == 4 for k, v in state.items()):
        raise ConversionError('deep-stem / average-pool-shortcut ResNet (ResNetV1d): '
                              'use to-timm-resnet (timm resnet*d)')
    if 'conv1.weight' not in state or 'layer1.0.conv1.weight' not in state:
        raise ConversionError('not a ResNet backbone: no conv1.weight / layer1.0.*; '
                              f'first keys: {list(state)[:5]}')
    bottleneck = any(k.startswith('layer1.0.conv3.') for k in state)
    blocks = tuple(len({k.split('.')[1] for k in state if k.startswith(f'layer{s}.')})
                   for s in range(1, 5))
    depth = next((d for d, a in DEPTHS.items()
                  if a == ('Bottleneck' if bottleneck else 'BasicBlock', blocks)), None)
    if depth is None:
        raise ConversionError(f'unknown ResNet layout: blocks {blocks}, '
                              f'{"bottleneck" if bottleneck else "basic"}')
    return dict(type='ResNet_CIFAR' if state['conv1.weight'].shape[-1] == 3
                else 'ResNet', depth=depth,
                stem_channels=state['conv1.weight'].shape[0],
                base_channels=state['layer1.0.conv1.weight'].shape[0])


def plain_resnet_arch(state: StateDict) -> dict:
    """:func:`resnet_layout` of a plain (torchvision-style) ResNet state dict.

    Raises:
        ConversionError: The state is slimmable, has a deep stem or average-pool
            shortcuts (ResNetV1d), or is no ResNet.
    """
    if any('.bns.' in k for k in state):
        raise ConversionError(
            'this is a slimmable ResNet (keys ...bns.<i>.*): cut one width out first '
            '(tools/convert_ckpt.py NAME IN OUT --width W)')
    return resnet_layout(state)


def classifier_state(checkpoint: dict) -> StateDict:
    """``fc.weight``/``fc.bias`` from an ``ImageClassifier``'s ``head.fc.*``."""
    state = unwrap_state_dict(checkpoint)
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return OrderedDict((k[len('head.'):], v) for k, v in state.items()
                       if k in ('head.fc.weight', 'head.fc.bias'))
