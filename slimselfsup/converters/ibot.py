"""Official iBoT checkpoints (bytedance/ibot) -> this toolbox's ViT.

A full iBoT checkpoint holds ``student`` (DDP-wrapped: ``module.backbone.*``,
``module.head.*``) and ``teacher`` (``backbone.*``, ``head.*``) dicts; released
weights hold one of them under ``state_dict`` or a bare backbone dict. The backbone
is a timm-layout ViT plus ``masked_embed`` (the MIM mask token).
"""
from collections import OrderedDict
from typing import Dict, Optional

import torch

from .registry import (ConversionError, StateDict, add_prefix, register_converter, strip_prefix,
                       unwrap_state_dict)
from .vit_keys import timm_to_mmpretrain


def ibot_backbone(checkpoint: dict, key: Optional[str] = None) -> StateDict:
    """The timm-layout backbone dict of an iBoT checkpoint.

    Args:
        checkpoint (dict): Loaded checkpoint.
        key (str, optional): ``'teacher'`` or ``'student'``; by default the teacher
            (iBoT evaluates its teacher), else ``state_dict``, else the student.
    """
    if key is not None:
        if key not in checkpoint:
            raise ConversionError(f'iBoT checkpoint has no {key!r} entry; it has '
                                  f'{list(checkpoint)[:10]}')
        state = checkpoint[key]
    else:
        state = unwrap_state_dict(checkpoint, keys=('teacher', 'state_dict', 'student'))
    if all(k.startswith('module.') for k in state):
        state = strip_prefix(state, 'module.')
    if any(k.startswith('backbone.') for k in state):
        state = strip_prefix(state, 'backbone.', drop_others=True)  # drops head.*
    return OrderedDict((k, v) for k, v in state.items() if k != 'masked_embed')


@register_converter(
    'ibot',
    'official iBoT ViT (teacher by default; --option key=student) -> backbone.* of '
    'our ViT (a TEC base model)')
def convert_ibot(checkpoint: dict, key: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Convert an iBoT backbone to ``backbone.*`` keys of mmpretrain's
    ``VisionTransformer``."""
    return add_prefix(timm_to_mmpretrain(ibot_backbone(checkpoint, key),
                                         'iBoT backbone'), 'backbone.')
