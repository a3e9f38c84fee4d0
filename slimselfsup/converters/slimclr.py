"""``slimclr``: official SlimCLR checkpoints (mzhaoshuai/SlimCLR) to our layout.

Official pretraining checkpoints (`arXiv 2209.15525
<https://arxiv.org/abs/2209.15525>`_, release 1.0.0) hold a DDP state dict whose
slimmable ResNet-50 lives under ``module.encoder_q.`` (MoCo v2, SimCLR) or
``module.base_encoder.`` (MoCo v3); linear-evaluation checkpoints hold it under
``module.`` with a switchable classifier ``module.fc.linears.{i}``. Blocks are
flattened (``features.0`` .. ``features.15`` for ResNet-50), each BN keeps one
``bn.{i}`` per width (``i`` over the descending width list, as ours) and projection
shortcuts are ``shortcut.{0,1}``. This converter renames them to our
``SlimmableResNet`` (``layer{s}.{b}``, ``bns.{i}``, ``downsample.{0,1}``); with
``width=W`` it then cuts that width out into a plain mmpretrain ``ResNet`` with
:func:`slimselfsup.models.slimmable.extract.extract_resnet`.
"""
import re
from collections import OrderedDict
from typing import Optional, Sequence

from ..models.slimmable.extract import extract_resnet, infer_widths
from .registry import ConversionError, StateDict, register_converter, unwrap_state_dict
from .resnet_keys import resnet_layout

#: blocks per stage of the bottleneck ResNets SlimCLR ships (s_resnet.py)
STAGES = {16: (3, 4, 6, 3), 33: (3, 4, 23, 3), 50: (3, 8, 36, 3)}
ENCODERS = ('module.encoder_q.', 'module.base_encoder.', 'module.')
FEATURE_KEY = re.compile(r'^features\.(\d+)\.(.+)$')


def _rename_layer(rest: str) -> str:
    """Names inside a block or the stem: BN lists and shortcuts."""
    rest = re.sub(r'^shortcut\.0\.', 'downsample.0.', rest)
    rest = re.sub(r'^shortcut\.1\.bn\.', 'downsample.1.bns.', rest)
    return re.sub(r'^(bn\d)\.bn\.', r'\1.bns.', rest)


def official_to_ours(state: StateDict, encoder: Optional[str] = None):
    """Backbone state of our ``SlimmableResNet`` and the switchable-probe head.

    Args:
        state (dict): The official ``state_dict``.
        encoder (str, optional): Key prefix of the encoder to take. Defaults to
            None: the first of ``module.encoder_q.``, ``module.base_encoder.``,
            ``module.`` that holds ``conv1.weight``.

    Returns:
        tuple: ``(backbone, head)`` state dicts (``head`` has ``fcs.{i}.*``).
    """
    encoders = [encoder] if encoder else ENCODERS
    prefix = next((p for p in encoders if f'{p}conv1.weight' in state), None)
    if prefix is None:
        raise ConversionError(
            'not an official SlimCLR checkpoint: no conv1.weight under '
            f'{list(encoders)}; first keys: {list(state)[:5]}')
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    blocks = sorted({int(m.group(1)) for m in map(FEATURE_KEY.match, sub) if m})
    if len(blocks) not in STAGES or blocks != list(range(len(blocks))):
        raise ConversionError(f'{len(blocks)} blocks under {prefix}features.*; '
                              f'SlimCLR ResNets have {sorted(STAGES)} (50/101/152)')
    where = {}
    for s, n in enumerate(STAGES[len(blocks)], start=1):
        for b in range(n):
            where[len(where)] = f'layer{s}.{b}'
    backbone, head = OrderedDict(), OrderedDict()
    for key, value in sub.items():
        m = FEATURE_KEY.match(key)
        if m:
            backbone[f'{where[int(m.group(1))]}.{_rename_layer(m.group(2))}'] = value
        elif key.startswith('fc.linears.'):  # linear-eval switchable classifier
            head['fcs.' + key[len('fc.linears.'):]] = value
        elif key.startswith('fc.'):
            continue  # the projection MLP: our necks are built by the config
        else:
            backbone[_rename_layer(key)] = value
    if not any('.bns.' in k for k in backbone):
        raise ConversionError(f'no switchable BN (bn.<i>) under {prefix}; this is '
                              'not a slimmable SlimCLR checkpoint')
    return backbone, head


@register_converter('slimclr', 'official SlimCLR checkpoint -> our SlimmableResNet '
                    '(backbone.*), or one width as a plain ResNet with width=W')
def convert_slimclr(checkpoint: dict, width: Optional[float] = None,
                    widths: Optional[Sequence[float]] = None,
                    encoder: Optional[str] = None) -> StateDict:
    """Convert an official SlimCLR checkpoint.

    Args:
        checkpoint (dict): The loaded official checkpoint (``state_dict`` inside).
        width (float, optional): Cut this width out as a plain ResNet. Defaults to
            None (keep the slimmable network).
        widths (Sequence[float], optional): The checkpoint's width list. Defaults
            to None: inferred from the BN sizes.
        encoder (str, optional): Encoder key prefix, e.g. ``module.encoder_k.``.
            Defaults to None (the query / base encoder).

    Returns:
        dict: ``backbone.*`` (and ``head.*`` for linear-eval checkpoints) tensors.
    """
    backbone, head = official_to_ours(unwrap_state_dict(checkpoint), encoder)
    if width is not None:
        widths = tuple(sorted((float(w) for w in widths), reverse=True)) if widths \
            else infer_widths(backbone)
        try:
            backbone, head, _ = extract_resnet(backbone, float(width), widths,
                                               resnet_layout(backbone), head)
        except (KeyError, ValueError) as err:
            raise ConversionError(str(err)) from err
    return OrderedDict([(f'backbone.{k}', v) for k, v in backbone.items()] +
                       [(f'head.{k}', v) for k, v in head.items()])
