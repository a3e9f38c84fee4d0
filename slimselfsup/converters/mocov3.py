"""MoCo v3 ViT checkpoints -> this toolbox's ViT (a TEC base model, a fine-tuning init).

Two layouts hold a MoCo v3 ViT:

* ours (a ``MoCoV3`` run of this toolbox, mmengine ``state_dict``): the base encoder is
  ``backbone.*`` (``MoCoV3ViT``, mmpretrain ``VisionTransformer`` names), the projector
  ``neck.*``, the predictor ``predictor.*`` and the momentum encoder
  ``momentum_encoder.module.0.*`` (backbone) and ``momentum_encoder.module.1.*``
  (projector);
* official (facebookresearch/moco-v3 ``main_moco.py``, DDP-saved ``state_dict``):
  ``module.base_encoder.*`` and ``module.momentum_encoder.*`` are timm ViTs whose
  ``head.*`` is the projector MLP (Linear, BN, ReLU, ..., BN without affine), and
  ``module.predictor.*``.

Only the ViT trunk is kept: the projector (with its BatchNorms) and the predictor are
training heads, not part of the encoder.
"""
from collections import OrderedDict

from .registry import (ConversionError, StateDict, add_prefix, register_converter, strip_prefix,
                       unwrap_state_dict)
from .vit_keys import mmpretrain_to_timm, timm_to_mmpretrain

#: encoder -> (prefix in our checkpoints, prefix in official ones after ``module.``)
_ENCODERS = {'base': ('backbone.', 'base_encoder.'),
             'momentum': ('momentum_encoder.module.0.', 'momentum_encoder.')}


@register_converter(
    'mocov3-vit',
    'MoCo v3 ViT (a MoCoV3 run of ours, backbone.*, or official facebookresearch/moco-v3, '
    'module.base_encoder.*) -> backbone.* of our ViT (a TEC base model). The base encoder '
    'by default; --option encoder=momentum for the momentum one')
def convert_mocov3_vit(checkpoint: dict, encoder: str = 'base') -> StateDict:
    """Convert the ViT trunk of a MoCo v3 checkpoint to ``backbone.*`` keys of
    mmpretrain's ``VisionTransformer``.

    The base encoder is the default because it is what MoCo v3 evaluates and transfers:
    the official ``main_lincls.py`` and ``convert_to_deit.py`` take
    ``module.base_encoder`` without its head, and mmpretrain's MoCo v3 benchmarks load
    ``backbone.``; the momentum encoder is an EMA of it that only makes the keys.

    Args:
        checkpoint (dict): A loaded MoCo v3 checkpoint, ours or official.
        encoder (str): ``'base'`` or ``'momentum'``. Defaults to ``'base'``.

    Raises:
        ConversionError: ``encoder`` is unknown, the checkpoint holds no MoCo v3 ViT in
            either layout (its first keys are named), or the ViT's keys are incomplete
            (the missing and unexpected keys are named).
    """
    if encoder not in _ENCODERS:
        raise ConversionError(f"encoder must be 'base' or 'momentum', got {encoder!r}")
    state = unwrap_state_dict(checkpoint)
    if state and all(k.startswith('module.') for k in state):
        state = strip_prefix(state, 'module.')
    ours, official = _ENCODERS[encoder]
    what = f'MoCo v3 {encoder} encoder'
    if any(k.startswith(ours + 'layers.') for k in state):
        trunk = strip_prefix(state, ours, drop_others=True)
        mmpretrain_to_timm(trunk, what)  # only checks: every key of a ViT, no other
        return add_prefix(trunk, 'backbone.')
    if any(k.startswith(official + 'blocks.') for k in state):
        trunk = OrderedDict((k, v) for k, v in strip_prefix(
            state, official, drop_others=True).items() if not k.startswith('head.'))
        return add_prefix(timm_to_mmpretrain(trunk, what), 'backbone.')
    resnet = any(k.startswith((ours + 'layer1.', official + 'layer1.')) for k in state)
    raise ConversionError(
        f'not a MoCo v3 ViT checkpoint: no key starts with {ours + "layers."!r} (ours) or '
        f'{official + "blocks."!r} (official)'
        + ('; it holds a ResNet, and a TEC base model must be a ViT' if resnet else '')
        + f'; first keys: {list(state)[:5]}')
