"""Official MAE checkpoints (facebookresearch/mae) -> this toolbox's ViT.

MAE releases its encoders in timm's layout under ``model``: ``cls_token``,
``pos_embed``, ``patch_embed.proj.*``, ``blocks.N.*``, ``norm.*``; the
visualisation checkpoints add the decoder (``decoder_*``, ``mask_token``) and the
fine-tuned ones ``fc_norm.*`` and ``head.*``.
"""
from collections import OrderedDict
from typing import Dict

import torch

from .registry import add_prefix, register_converter, unwrap_state_dict
from .vit_keys import timm_to_mmpretrain

_DECODER_PREFIXES = ('decoder_', 'mask_token')


@register_converter(
    'mae',
    'official MAE ViT (facebookresearch/mae, timm layout) -> backbone.* of our ViT '
    '(a TEC base model or a fine-tuning init)')
def convert_mae(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """Convert an official MAE encoder to ``backbone.*`` keys of mmpretrain's
    ``VisionTransformer`` (decoder keys are dropped; a fine-tuned ``head`` becomes
    ``head.fc``)."""
    state = unwrap_state_dict(checkpoint, keys=('model', 'state_dict'))
    encoder = OrderedDict((k, v) for k, v in state.items()
                          if not k.startswith(_DECODER_PREFIXES + ('head.', )))
    out = add_prefix(timm_to_mmpretrain(encoder, 'MAE checkpoint'), 'backbone.')
    for name in ('weight', 'bias'):
        if f'head.{name}' in state:
            out[f'head.fc.{name}'] = state[f'head.{name}']
    return out
