"""MoCo v1/v2 checkpoints (``module.encoder_q.*``) -> a SEED teacher.

Also home of :func:`to_teacher_layout`, the ResNet-trunk-plus-head renaming shared
by the SimCLR, SwAV and SEED converters. A teacher of slimselfsup is
``dict(backbone=ResNet, neck=...)`` and its state dict has ``backbone.*`` (torchvision
ResNet names, which mmpretrain's ``ResNet`` uses too) and ``neck.*`` keys.
"""
import re
from collections import OrderedDict
from typing import Dict

from .registry import (ConversionError, StateDict, register_converter, strip_prefix,
                       unwrap_state_dict)

#: torchvision / mmpretrain ResNet trunk parameter names.
RESNET_TRUNK = re.compile(r'^(conv1|bn1|layer[1-4])\.')


def to_teacher_layout(state_dict: StateDict, head_map: Dict[str, str],
                      source: str) -> StateDict:
    """Rename a torchvision-style ResNet with a projection head to the teacher layout.

    Args:
        state_dict (dict): Trunk keys (``conv1.*``, ``bn1.*``, ``layer1.*`` ...) and
            head keys, without any wrapper prefix.
        head_map (dict): Head prefix of the source -> prefix in our teacher, e.g.
            ``{'fc.0.': 'neck.mlp.0.'}``.
        source (str): Name of the layout, for error messages.

    Raises:
        ConversionError: Keys that are neither trunk nor head (named), or no trunk
            or no head at all.
    """
    out: StateDict = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        prefix = next((p for p in head_map if key.startswith(p)), None)
        if prefix is not None:
            out[head_map[prefix] + key[len(prefix):]] = value
        elif RESNET_TRUNK.match(key):
            out['backbone.' + key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ConversionError(f'{source}: unexpected keys {sorted(unknown)[:10]} '
                              f'({len(unknown)}); expected a ResNet trunk and head keys '
                              f'starting with {list(head_map)}')
    if 'backbone.conv1.weight' not in out:
        raise ConversionError(f'{source}: missing keys [\'conv1.weight\'] (no ResNet '
                              f'trunk); first keys: {list(state_dict)[:5]}')
    if not any(k.startswith('neck.') for k in out):
        raise ConversionError(f'{source}: missing projection head keys (looked for '
                              f'{list(head_map)}); first keys: {list(state_dict)[:5]}')
    return out


def moco_head_map(state_dict: StateDict, source: str) -> Dict[str, str]:
    """MoCo v2's MLP ``fc.0``/``fc.2`` -> ``MoCoV2Neck``; v1's ``fc`` ->
    ``LinearNeck``."""
    if 'fc.0.weight' in state_dict and 'fc.2.weight' in state_dict:
        return {'fc.0.': 'neck.mlp.0.', 'fc.2.': 'neck.mlp.2.'}
    if 'fc.weight' in state_dict:
        return {'fc.': 'neck.fc.'}
    raise ConversionError(f'{source}: missing keys [\'fc.0.weight\', \'fc.2.weight\'] '
                          '(MoCo v2 MLP head) or [\'fc.weight\'] (MoCo v1 head)')


def take_prefix(state_dict: StateDict, prefixes, source: str) -> StateDict:
    """Keys under the first of ``prefixes`` present, prefix removed; others dropped."""
    for prefix in prefixes:
        if any(k.startswith(prefix) for k in state_dict):
            return strip_prefix(state_dict, prefix, drop_others=True)
    raise ConversionError(f'{source}: no key starts with any of {list(prefixes)}; '
                          f'first keys: {list(state_dict)[:5]}')


@register_converter(
    'moco-teacher',
    'MoCo v1/v2 (also R-101/152) checkpoint, module.encoder_q.* -> SEED teacher '
    '(ResNet + MoCoV2Neck for v2, LinearNeck(norm_cfg=None) for v1)')
def convert_moco(checkpoint: dict) -> StateDict:
    """Keep the query encoder (``module.encoder_q.*`` in ``state_dict``); the key
    encoder and the queue are dropped."""
    source = 'MoCo checkpoint'
    state_dict = take_prefix(unwrap_state_dict(checkpoint),
                             ('module.encoder_q.', 'encoder_q.'), source)
    return to_teacher_layout(state_dict, moco_head_map(state_dict, source), source)
