"""ViT key layouts: timm's (also used by MAE, iBoT and TEC) and mmpretrain's.

mmpretrain's ``VisionTransformer`` (this toolbox's ViT) and timm's
``VisionTransformer`` hold the same tensors under different names. The tables here
rename one into the other; ``vit-to-timm`` turns a slimselfsup/mmpretrain checkpoint
into a state dict that ``timm.create_model('vit_base_patch16_224', ...)`` loads
strictly.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from .registry import (ConversionError, StateDict, check_keys, register_converter,
                       strip_prefix, unwrap_state_dict)

#: (timm pattern, mmpretrain replacement); ``{i}`` is the block index.
_PAIRS: List[Tuple[str, str]] = [
    ('cls_token', 'cls_token'),
    ('pos_embed', 'pos_embed'),
    ('patch_embed.proj.', 'patch_embed.projection.'),
    ('blocks.{i}.norm1.', 'layers.{i}.ln1.'),
    ('blocks.{i}.attn.qkv.', 'layers.{i}.attn.qkv.'),
    ('blocks.{i}.attn.proj.', 'layers.{i}.attn.proj.'),
    ('blocks.{i}.norm2.', 'layers.{i}.ln2.'),
    ('blocks.{i}.mlp.fc1.', 'layers.{i}.ffn.layers.0.0.'),
    ('blocks.{i}.mlp.fc2.', 'layers.{i}.ffn.layers.1.'),
    ('norm.', 'ln1.'),
    ('fc_norm.', 'ln2.'),
]

_BLOCK_SUFFIXES = ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2')


def _compile(src_is_timm: bool) -> List[Tuple[re.Pattern, str]]:
    rules = []
    for timm_key, mmp_key in _PAIRS:
        src, dst = (timm_key, mmp_key) if src_is_timm else (mmp_key, timm_key)
        pattern = '^' + re.escape(src).replace(re.escape('{i}'), r'(\d+)')
        rules.append((re.compile(pattern), dst))
    return rules


_TIMM_TO_MMP = _compile(True)
_MMP_TO_TIMM = _compile(False)


def _rename(state_dict: StateDict, rules: List[Tuple[re.Pattern, str]],
            what: str) -> StateDict:
    out: StateDict = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        for pattern, dst in rules:
            match = pattern.match(key)
            if match:
                new = dst.replace('{i}', match.group(1)) if match.groups() else dst
                out[new + key[match.end():]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ConversionError(f'{what}: unexpected keys {unknown[:10]}'
                              f'{" ..." if len(unknown) > 10 else ""} ({len(unknown)}); '
                              'this is not a plain ViT in that layout')
    return out


def timm_vit_keys(depth: int, final_norm: bool = True, fc_norm: bool = False) -> List[str]:
    """The keys of a timm ViT encoder (no head) with ``depth`` blocks."""
    keys = ['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias']
    for i in range(depth):
        keys += [f'blocks.{i}.{s}.{p}' for s in _BLOCK_SUFFIXES for p in ('weight', 'bias')]
    if final_norm:
        keys += ['norm.weight', 'norm.bias']
    if fc_norm:
        keys += ['fc_norm.weight', 'fc_norm.bias']
    return keys


def _depth(keys, prefix: str) -> int:
    idx = {int(m.group(1)) for k in keys for m in [re.match(prefix + r'(\d+)\.', k)] if m}
    return max(idx) + 1 if idx else 0


def timm_to_mmpretrain(state_dict: StateDict, what: str = 'checkpoint') -> StateDict:
    """Rename a timm-layout ViT encoder into mmpretrain ``VisionTransformer`` keys.

    ``head.*`` is not part of the encoder; remove it first. Raises
    :class:`ConversionError` naming missing and unexpected keys.
    """
    depth = _depth(state_dict, 'blocks.')
    if depth == 0:
        raise ConversionError(f'{what}: no "blocks.N." keys, so not a timm-layout ViT; '
                              f'first keys: {list(state_dict)[:5]}')
    check_keys(state_dict, timm_vit_keys(depth, 'norm.weight' in state_dict,
                                         'fc_norm.weight' in state_dict), what)
    return _rename(state_dict, _TIMM_TO_MMP, what)


def mmpretrain_to_timm(state_dict: StateDict, what: str = 'checkpoint') -> StateDict:
    """Rename mmpretrain ``VisionTransformer`` keys into timm's layout (inverse of
    :func:`timm_to_mmpretrain`)."""
    out = _rename(state_dict, _MMP_TO_TIMM, what)
    depth = _depth(out, 'blocks.')
    check_keys(out, timm_vit_keys(depth, 'norm.weight' in out, 'fc_norm.weight' in out),
               what)
    return out


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
        from .tec import fold_cls_token_mlp
        backbone = fold_cls_token_mlp(backbone)
    out = mmpretrain_to_timm(backbone, 'backbone of the checkpoint')
    for name in ('weight', 'bias'):
        if f'head.fc.{name}' in state:
            out[f'head.{name}'] = state[f'head.fc.{name}']
    return out
