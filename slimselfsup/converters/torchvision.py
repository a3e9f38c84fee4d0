"""``to-torchvision``: our ResNet checkpoints as ``torchvision.models.resnet*``.

mmpretrain's ``ResNet`` (``style='pytorch'``, the ResNet v1.5 of torchvision) uses
torchvision's parameter names (``conv1``, ``bn1``, ``layer{s}.{b}.conv{k}``,
``downsample.{0,1}``), so the conversion selects the backbone, checks that
torchvision can hold it and adds the classifier (``head.fc.*`` -> ``fc.*``) when
the checkpoint has one. A slimmable backbone is cut at ``width`` first
(:mod:`.width`); a narrow network loads into :func:`torchvision_resnet`.
"""
from collections import OrderedDict
from typing import Optional

from .registry import ConversionError, StateDict, check_keys, register_converter
from .resnet_keys import DEPTHS


def torchvision_resnet(depth: int, width: float = 1.0, num_classes: int = 1000):
    """``torchvision.models.resnet{depth}`` at ``width``: the torchvision model with
    every layer narrowed to ``int(C * width)`` channels (torchvision's constructors
    fix the stem at 64 channels and the stages at 64 * 2^k), which is what
    ``to-torchvision`` writes for a width below 1.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        width (float): The width, e.g. 0.5 (32 stem and base channels).
            Defaults to 1.0.
        num_classes (int): Classes of ``fc``. Defaults to 1000.

    Returns:
        torchvision.models.ResNet: The network, freshly initialised.
    """
    import torchvision

    from ..models.slimmable.extract import narrow_module
    if depth not in DEPTHS:
        raise ValueError(f'depth must be one of {sorted(DEPTHS)}, got {depth}')
    net = getattr(torchvision.models, f'resnet{depth}')(
        weights=None, num_classes=num_classes)
    return narrow_module(net, width) if width != 1.0 else net


@register_converter('to-torchvision', 'our ResNet (backbone.*, optional head.fc.*) '
                    '-> torchvision.models.resnet* state dict (width=W: that width of '
                    'a slimmable one)')
def convert_to_torchvision(checkpoint: dict, prefix: str = 'backbone.',
                           width: Optional[float] = None) -> StateDict:
    """Our ResNet-{18,34,50,101,152} checkpoint as a torchvision state dict.

    Without a classifier in the checkpoint the result has no ``fc.*``: load it with
    ``model.fc = torch.nn.Identity()`` (or ``strict=False``) to get the 2048-d (512
    for ResNet-18/34) pooled features. A network narrower than torchvision's (a width
    below 1) loads into :func:`torchvision_resnet` with that width.

    Args:
        checkpoint (dict): Our checkpoint or a bare backbone state dict.
        prefix (str): Key prefix of the backbone. Defaults to ``'backbone.'``.
        width (float, optional): The width of a slimmable backbone to export (a
            plain one accepts only its own). Defaults to None.
    """
    from .width import plain_resnet_state
    state, fc, arch = plain_resnet_state(checkpoint, prefix, width)
    if arch['type'] != 'ResNet' or arch['stem_channels'] != arch['base_channels']:
        raise ConversionError(
            f'torchvision.models.resnet{arch["depth"]} has a 7x7 stem as wide as its '
            f'first stage; this backbone is {arch} (a CIFAR stem, or a stem of '
            'another width), which torchvision cannot hold')
    out = OrderedDict(state)
    out.update(fc)
    expected = torchvision_resnet(arch['depth'], arch['base_channels'] / 64,
                                  fc['fc.weight'].shape[0] if fc else 1000).state_dict()
    if 'fc.weight' not in out:
        expected = {k: v for k, v in expected.items() if not k.startswith('fc.')}
    check_keys(out, expected, f'torchvision resnet{arch["depth"]}')
    for key, value in expected.items():
        if value.shape != out[key].shape:
            raise ConversionError(f'{key}: shape {tuple(out[key].shape)} vs '
                                  f'{tuple(value.shape)} in torchvision')
    return out
