"""Any width of a slimmable checkpoint through the export converters.

``to-torchvision``, ``to-timm-resnet`` and ``to-detectron2`` take ``width=W``
(``tools/convert_ckpt.py NAME IN OUT --width W``): a checkpoint whose backbone is a
slimmable ResNet (SlimCLR, Slimmable SEED: switchable BNs ``...bns.<i>.*``) is cut
at that width into a plain ResNet first (:func:`extract_resnet`), and its switchable
linear probe, if any, into that width's ``fc``. The checkpoint's width list comes
from the config that mmengine stores in its ``meta``, else from its BN sizes.
"""
from typing import Optional, Tuple

from ..models.slimmable.extract import extract_resnet, infer_widths, is_slimmable
from .prefixes import backbone_state
from .registry import ConversionError, StateDict, unwrap_state_dict
from .resnet_keys import classifier_state, plain_resnet_arch, resnet_layout


def widths_from_meta(meta: dict) -> Optional[Tuple[float, ...]]:
    """The backbone's ``widths`` from the config text mmengine stores in ``meta``."""
    cfg_text = meta.get('cfg') if isinstance(meta, dict) else None
    if not cfg_text:
        return None
    try:
        from mmengine.config import Config
        widths = Config.fromstring(cfg_text, '.py').model.backbone.get('widths')
    except Exception:  # an unparsable or foreign config: infer from the shapes
        return None
    return tuple(sorted((float(w) for w in widths), reverse=True)) if widths else None


def _head(checkpoint: dict) -> StateDict:
    state = unwrap_state_dict(checkpoint)
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return {k[len('head.'):]: v for k, v in state.items() if k.startswith('head.')}


def plain_resnet_state(checkpoint: dict, prefix: str = 'backbone.',
                       width: Optional[float] = None) -> Tuple[StateDict, StateDict, dict]:
    """The plain ResNet of a checkpoint: its backbone state, classifier (``fc.*``,
    empty without one) and mmpretrain arguments (:func:`resnet_layout`).

    Args:
        checkpoint (dict): A loaded checkpoint or a bare backbone state dict.
        prefix (str): Key prefix of the backbone. Defaults to ``'backbone.'``.
        width (float, optional): The width to cut out of a slimmable backbone;
            required for one. A plain backbone accepts only its own width
            (``base_channels / 64``). Defaults to None.

    Raises:
        ConversionError: A slimmable backbone without ``width``, a width the
            checkpoint does not have (both named), a width for a plain backbone
            other than its own, or no ResNet at all.
    """
    state = backbone_state(checkpoint, prefix)
    if not is_slimmable(state):
        arch = plain_resnet_arch(state)
        own = arch['base_channels'] / 64
        if width is not None and abs(float(width) - own) > 1e-6:
            raise ConversionError(
                f'width {width} was asked for, but the checkpoint holds a plain ResNet '
                f"(no switchable BN) of width {own:g} ({arch['base_channels']} base "
                'channels); only a slimmable checkpoint can be cut to another width')
        return state, classifier_state(checkpoint), arch
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    widths = widths_from_meta(meta or {}) or infer_widths(state)
    if width is None:
        raise ConversionError(
            f'this is a slimmable ResNet (keys ...bns.<i>.*) with widths {list(widths)}: '
            'choose one with --width W (tools/convert_ckpt.py NAME IN OUT --width W)')
    head = _head(checkpoint)
    try:
        backbone, fc, arch = extract_resnet(state, float(width), widths,
                                            resnet_layout(state), head)
    except (KeyError, ValueError) as err:
        raise ConversionError(str(err)) from None
    if any(k.startswith('fcs.') for k in head) and not fc:
        raise ConversionError(
            f'the checkpoint\'s switchable probe has no classifier for width {width} '
            f'(head.fcs.<i> for widths {list(widths)}: it has '
            f"{sorted({k.split('.')[1] for k in head if k.startswith('fcs.')})})")
    return backbone, fc, arch
