"""ViT key layouts shared by the ViT converters (MAE, iBoT, TEC, timm).

mmpretrain's ``VisionTransformer`` (this toolbox's ViT) and timm's
``VisionTransformer`` hold the same tensors under different names; MAE, iBoT and TEC
release their encoders in timm's layout. The tables and helpers here rename one
layout into the other, and fold TEC's MLP cls token into a plain one. The converter
modules (``mae``, ``ibot``, ``tec``, ``timm_vit``) import from here, never from each
other.
"""
import re
from collections import OrderedDict
from typing import List, Tuple

import torch.nn.functional as F

from .registry import ConversionError, StateDict, check_keys

#: (timm pattern, mmpretrain replacement); ``{i}`` is the block index.
TIMM_MMP_PAIRS: List[Tuple[str, str]] = [
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

#: The tensors of one timm block, without ``.weight``/``.bias``.
TIMM_BLOCK_SUFFIXES = ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2')

Rules = List[Tuple[re.Pattern, str]]


def compile_rules(src_is_timm: bool) -> Rules:
    """:data:`TIMM_MMP_PAIRS` as ``(regex, replacement)`` rules in one direction."""
    rules = []
    for timm_key, mmp_key in TIMM_MMP_PAIRS:
        src, dst = (timm_key, mmp_key) if src_is_timm else (mmp_key, timm_key)
        pattern = '^' + re.escape(src).replace(re.escape('{i}'), r'(\d+)')
        rules.append((re.compile(pattern), dst))
    return rules


TIMM_TO_MMP = compile_rules(True)
MMP_TO_TIMM = compile_rules(False)


def rename_keys(state_dict: StateDict, rules: Rules, what: str) -> StateDict:
    """Rename every key by the first rule that matches its start.

    Raises:
        ConversionError: Keys that no rule matches (named).
    """
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
        keys += [f'blocks.{i}.{s}.{p}' for s in TIMM_BLOCK_SUFFIXES
                 for p in ('weight', 'bias')]
    if final_norm:
        keys += ['norm.weight', 'norm.bias']
    if fc_norm:
        keys += ['fc_norm.weight', 'fc_norm.bias']
    return keys


def vit_depth(keys, prefix: str) -> int:
    """Number of blocks ``prefix<N>.`` among ``keys`` (0 when there is none)."""
    idx = {int(m.group(1)) for k in keys for m in [re.match(prefix + r'(\d+)\.', k)] if m}
    return max(idx) + 1 if idx else 0


def timm_to_mmpretrain(state_dict: StateDict, what: str = 'checkpoint') -> StateDict:
    """Rename a timm-layout ViT encoder into mmpretrain ``VisionTransformer`` keys.

    ``head.*`` is not part of the encoder; remove it first. Raises
    :class:`ConversionError` naming missing and unexpected keys.
    """
    depth = vit_depth(state_dict, 'blocks.')
    if depth == 0:
        raise ConversionError(f'{what}: no "blocks.N." keys, so not a timm-layout ViT; '
                              f'first keys: {list(state_dict)[:5]}')
    check_keys(state_dict, timm_vit_keys(depth, 'norm.weight' in state_dict,
                                         'fc_norm.weight' in state_dict), what)
    return rename_keys(state_dict, TIMM_TO_MMP, what)


def mmpretrain_to_timm(state_dict: StateDict, what: str = 'checkpoint') -> StateDict:
    """Rename mmpretrain ``VisionTransformer`` keys into timm's layout (inverse of
    :func:`timm_to_mmpretrain`)."""
    out = rename_keys(state_dict, MMP_TO_TIMM, what)
    depth = vit_depth(out, 'blocks.')
    check_keys(out, timm_vit_keys(depth, 'norm.weight' in out, 'fc_norm.weight' in out),
               what)
    return out


def fold_cls_token_mlp(state_dict: StateDict) -> StateDict:
    """Replace ``cls_token`` by ``cls_token_mlp(cls_token)`` and drop the MLP.

    TEC's MLP cls token (Linear, exact GELU, Linear) sees a constant input, so its
    output is a constant token: folding it gives the same network without the MLP.
    Works for timm and mmpretrain key names (both call them
    ``cls_token``/``cls_token_mlp``).
    """
    names = [f'cls_token_mlp.{fc}.{p}' for fc in ('fc1', 'fc2') for p in ('weight', 'bias')]
    missing = [n for n in ['cls_token'] + names if n not in state_dict]
    if missing:
        raise ConversionError(f'cannot fold the MLP cls token: missing keys {missing}')
    w1, b1, w2, b2 = (state_dict[n].float() for n in names)
    cls = state_dict['cls_token']
    folded = F.linear(F.gelu(F.linear(cls.float(), w1, b1)), w2, b2).to(cls.dtype)
    out = OrderedDict((k, v) for k, v in state_dict.items() if k not in names)
    out['cls_token'] = folded
    return out
