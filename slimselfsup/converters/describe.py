"""One line saying which network a state dict holds, for errors that must name both
sides of a mismatch (a checkpoint against the network a config builds)."""
import math
import re
from typing import Dict, List

from .registry import ConversionError, StateDict
from .resnet_keys import resnet_layout
from .vit_keys import vit_depth

#: Top-level parts of an algorithm's state dict, described one by one.
PARTS = ('backbone', 'neck', 'head')


def _vit(state: StateDict) -> str:
    arch = _vit_settings(state)
    text = f"ViT with {arch['arch.num_layers']} layers, {arch['arch.embed_dims']} dims, " \
        f"patch size {arch['patch_size']}"
    if 'pos_embed' in state:
        text += f', {state["pos_embed"].shape[1]} tokens'
    return text


def _vit_settings(state: StateDict) -> Dict[str, int]:
    """The config settings of a ViT that its weights fix (the head count is not one:
    it does not change any shape)."""
    proj = state.get('patch_embed.projection.weight', state.get('patch_embed.proj.weight'))
    out = {'patch_size': proj.shape[-1],
           'arch.num_layers': vit_depth(state, 'layers.') or vit_depth(state, 'blocks.'),
           'arch.embed_dims': proj.shape[0]}
    patches = state['pos_embed'].shape[1] - 1 if 'pos_embed' in state else 0
    if patches and math.isqrt(patches)**2 == patches:  # a square grid after the cls token
        out['img_size'] = math.isqrt(patches) * proj.shape[-1]
    return out


def _resnet(state: StateDict) -> str:
    arch = resnet_layout(state)
    text = f"{arch['type']}-{arch['depth']} ({arch['stem_channels']} stem / " \
        f"{arch['base_channels']} base channels"
    widths = sorted({int(m.group(1)) for m in map(
        re.compile(r'.*\.bns\.(\d+)\.').match, state) if m})
    if widths:
        text += f', slimmable, {len(widths)} widths'
    return text + ')'


def _mlp(state: StateDict) -> str:
    weights = [v for k, v in state.items() if k.endswith('weight') and v.dim() == 2]
    if not weights:
        return f'{len(state)} tensors'
    dims: List[int] = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    return 'MLP ' + '-'.join(map(str, dims))


def describe_state(state: StateDict) -> str:
    """A short description of the network whose weights ``state`` holds: a ResNet's
    type, depth and channels, a ViT's depth, width and patch size, an MLP's sizes;
    an algorithm's ``backbone.*``/``neck.*`` parts each on their own.

    Args:
        state (dict[str, Tensor]): A state dict (no ``module.`` prefix).

    Returns:
        str: E.g. ``'backbone: ResNet-50 (64 stem / 64 base channels), neck: MLP
        2048-2048-128'``.
    """
    parts = [p for p in PARTS if any(k.startswith(p + '.') for k in state)]
    if parts:
        return ', '.join(f'{p}: ' + describe_state(
            {k[len(p) + 1:]: v for k, v in state.items() if k.startswith(p + '.')})
            for p in parts)
    if 'patch_embed.projection.weight' in state or 'patch_embed.proj.weight' in state:
        return _vit(state)
    if 'conv1.weight' in state:
        try:
            return _resnet(state)
        except ConversionError:
            pass
    return _mlp(state)


def _settings(state: StateDict) -> Dict[str, object]:
    parts = [p for p in PARTS if any(k.startswith(p + '.') for k in state)]
    if parts:
        return {f'{p}.{k}': v for p in parts for k, v in _settings(
            {k[len(p) + 1:]: v for k, v in state.items() if k.startswith(p + '.')}).items()}
    if 'patch_embed.projection.weight' in state or 'patch_embed.proj.weight' in state:
        return _vit_settings(state)
    try:
        return {k: v for k, v in resnet_layout(state).items() if k != 'type'}
    except ConversionError:
        return {}


def settings_diff(state: StateDict, expected: StateDict) -> str:
    """The config settings in which the network of ``state`` differs from the one of
    ``expected`` (ViT: patch size, depth, width, image size; ResNet: depth and
    channels), for the fix in a mismatch error.

    Returns:
        str: E.g. ``'patch_size=8 (the config has 4), arch.num_layers=4 (the config has
        3)'``; empty when the networks are of different kinds or agree on them.
    """
    have, want = _settings(state), _settings(expected)
    return ', '.join(f'{k}={v} (the config has {want[k]})' for k, v in have.items()
                     if k in want and want[k] != v)
