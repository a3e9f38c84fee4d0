"""TEC checkpoints: official (sail-sg/TEC) -> ours, and pretraining -> fine-tuning.

An official TEC pretraining checkpoint holds under ``model`` a timm-layout ViT
encoder (``cls_token``, ``pos_embed``, ``patch_embed.proj``, ``blocks.N``, ``norm``),
the MLP cls token ``cls_token_mlp.fc1/fc2``, the encoder adaptor
``encoder_adaptor.{adap_before,fuse_fcs.N,adap_mlps.N.fc1/fc2,adap_after}``, the
shared ``decoder_blocks.N`` and ``decoder_pos_embed``, and the two decoder heads
``forward_fea_decoder.*`` and ``forward_att_decoder.*`` (``decoder_embed``,
``mask_token``, ``decoder_norm``, ``decoder_pred`` / ``decoder_qk``).
"""
import re
from collections import OrderedDict
from typing import Dict

import torch

from .registry import (ConversionError, StateDict, add_prefix, register_converter, strip_prefix,
                       unwrap_state_dict)
from .vit_keys import (TIMM_TO_MMP, fold_cls_token_mlp, mmpretrain_to_timm, rename_keys,
                       timm_to_mmpretrain)


def _is_encoder(key: str) -> bool:
    return key in ('cls_token', 'pos_embed') or key.startswith(
        ('patch_embed.', 'blocks.', 'norm.'))


#: official prefix -> ours (inside the algorithm), in match order.
_NECK_RULES = [
    (r'^encoder_adaptor\.adap_before\.', 'neck.adaptor.norm_in.'),
    (r'^encoder_adaptor\.fuse_fcs\.(\d+)\.', 'neck.adaptor.fuse.{}.'),
    (r'^encoder_adaptor\.adap_mlps\.(\d+)\.', 'neck.adaptor.mlps.{}.'),
    (r'^encoder_adaptor\.adap_after\.', 'neck.adaptor.norm_out.'),
    (r'^decoder_pos_embed$', 'neck.decoder_pos_embed'),
    (r'^forward_fea_decoder\.decoder_embed\.', 'neck.feat_branch.embed.'),
    (r'^forward_fea_decoder\.mask_token$', 'neck.feat_branch.mask_token'),
    (r'^forward_fea_decoder\.decoder_norm\.', 'neck.feat_branch.norm.'),
    (r'^forward_fea_decoder\.decoder_pred\.', 'neck.feat_branch.pred.'),
    (r'^forward_att_decoder\.decoder_embed\.', 'neck.att_branch.embed.'),
    (r'^forward_att_decoder\.mask_token$', 'neck.att_branch.mask_token'),
    (r'^forward_att_decoder\.decoder_norm\.', 'neck.att_branch.norm.'),
    (r'^forward_att_decoder\.decoder_qk\.', 'neck.att_branch.pred.'),
]


def _official_model(checkpoint: dict) -> StateDict:
    state = unwrap_state_dict(checkpoint, keys=('model', ))
    if not any(k.startswith('blocks.') for k in state):
        raise ConversionError('not an official TEC checkpoint: no "blocks.N." keys '
                              f'under "model"; first keys: {list(state)[:5]}')
    return state


@register_converter(
    'tec',
    'official TEC pretraining checkpoint (sail-sg/TEC) -> our TEC model '
    '(backbone.* TECViT, neck.* adaptor and decoders)')
def convert_tec(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """Convert every tensor of an official TEC pretraining checkpoint; the result
    loads strictly into ``TEC`` built with the matching config."""
    state = _official_model(checkpoint)
    encoder = OrderedDict((k, v) for k, v in state.items() if _is_encoder(k))
    out = add_prefix(timm_to_mmpretrain(encoder, 'TEC encoder'), 'backbone.')
    rest = [k for k in state if k not in encoder]
    unknown = []
    for key in rest:
        if key.startswith('cls_token_mlp.'):
            out['backbone.' + key] = state[key]
        elif key.startswith('decoder_blocks.'):
            block = rename_keys({key[len('decoder_'):]: state[key]}, TIMM_TO_MMP,
                                'TEC decoder')
            (name, value), = block.items()
            out['neck.decoder_' + name.replace('layers.', 'blocks.', 1)] = value
        else:
            for pattern, dst in _NECK_RULES:
                match = re.match(pattern, key)
                if match:
                    out[dst.format(*match.groups()) + key[match.end():]] = state[key]
                    break
            else:
                unknown.append(key)
    if unknown:
        raise ConversionError(f'official TEC checkpoint: unexpected keys {unknown[:10]}')
    return out


@register_converter(
    'tec-finetune',
    'TEC pretraining checkpoint (official or ours) -> fine-tuning ViT, like the '
    "reference's weight_convert.py (MLP cls token folded; adaptor, decoders and final "
    'norm dropped). Options: keep_norm=True (linear probing), to=timm')
def convert_tec_finetune(checkpoint: dict, keep_norm: bool = False,
                         to: str = 'mmpretrain') -> Dict[str, torch.Tensor]:
    """Pretraining -> fine-tuning weights.

    Args:
        checkpoint (dict): Official TEC (``model``) or ours (``state_dict`` with
            ``backbone.*``).
        keep_norm (bool): Keep the final LayerNorm (needed by a cls-token linear
            probe; the global-pool fine-tuning model has none). Defaults to False.
        to (str): ``'mmpretrain'`` (``backbone.*`` of ``VisionTransformer``) or
            ``'timm'`` (a bare timm dict, as the reference writes). Defaults to
            ``'mmpretrain'``.
    """
    if to not in ('mmpretrain', 'timm'):
        raise ConversionError(f"to must be 'mmpretrain' or 'timm', got {to!r}")
    state = unwrap_state_dict(checkpoint, keys=('state_dict', 'model'))
    if any(k.startswith('backbone.') for k in state):
        backbone = strip_prefix(state, 'backbone.', drop_others=True)
    else:
        official = _official_model(checkpoint)
        backbone = timm_to_mmpretrain(OrderedDict(
            (k, v) for k, v in official.items() if _is_encoder(k)), 'TEC encoder')
        backbone.update((k, v) for k, v in official.items()
                        if k.startswith('cls_token_mlp.'))
    if any(k.startswith('cls_token_mlp.') for k in backbone):
        backbone = fold_cls_token_mlp(backbone)
    if not keep_norm:
        backbone = OrderedDict((k, v) for k, v in backbone.items()
                               if not k.startswith('ln1.'))
    if to == 'timm':
        return mmpretrain_to_timm(backbone, 'TEC backbone')
    return add_prefix(backbone, 'backbone.')
