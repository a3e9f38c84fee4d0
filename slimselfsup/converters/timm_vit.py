"""``vit-to-timm``: this toolbox's ViT (mmpretrain ``VisionTransformer``) -> timm.

The result is a state dict that ``timm.create_model('vit_base_patch16_224', ...)``
loads strictly. The key tables live in :mod:`.vit_keys`.
"""
from typing import Dict

import torch

from .registry import register_converter, strip_prefix, unwrap_state_dict
from .vit_keys import fold_cls_token_mlp, mmpretrain_to_timm


@register_converter(
    'vit-to-timm',
    'our ViT (backbone.* of a pretraining or classifier checkpoint, mmpretrain '
    'VisionTransformer) -> timm VisionTransformer state dict')
def convert_vit_to_timm(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """slimselfsup/mmpretrain ViT -> timm.

    Keeps ``head.fc.*`` of an ``ImageClassifier`` as timm's ``head.*``. A TEC
    pretraining checkpoint's MLP cls token is folded into the plain cls token. Load
    the result with ``timm.create_model(name, num_classes=0)`` for an encoder, with
    ``global_pool='avg'`` when it has ``fc_norm``.
    """
    state = unwrap_state_dict(checkpoint)
    backbone = strip_prefix(state, 'backbone.', drop_others=True)
    if any(k.startswith('cls_token_mlp.') for k in backbone):
        backbone = fold_cls_token_mlp(backbone)
    out = mmpretrain_to_timm(backbone, 'backbone of the checkpoint')
    for name in ('weight', 'bias'):
        if f'head.fc.{name}' in state:
            out[f'head.{name}'] = state[f'head.fc.{name}']
    return out
