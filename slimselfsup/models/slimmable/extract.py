"""Cutting one width out of a slimmable network's state dict.

SlimCLR (`arXiv 2209.15525 <https://arxiv.org/abs/2209.15525>`_) trains nested
sub-networks: at width ``w`` a slimmable conv or linear layer uses the leading slice
``W[:int(out * w), :int(in * w)]`` of its full weight (the stem keeps the image's
input channels) and a switchable BN runs its private BN of that width
(``<name>.bns.{i}.*``, ``i`` indexing the descending width list). The sub-network is
therefore an ordinary network whose state dict is those slices. This module is the
one place that computes them; ``tools/model_converters/slimclr_extract.py``, the
``slimclr`` converter and ``DetSlimmableResNet`` call it.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from .ops import slim_channels

#: ``<module>.bns.<index>.<leaf>`` of a switchable BN.
BN_KEY = re.compile(r'^(.*)\.bns\.(\d+)\.([^.]+)$')
#: Weights whose input side is the image, which no width shrinks (a ResNet's stem).
IMAGE_INPUTS = ('conv1.weight', )

StateDict = Dict[str, torch.Tensor]


def is_slimmable(state: StateDict) -> bool:
    """Whether ``state`` holds switchable BNs (``...bns.<i>.*`` keys)."""
    return any(BN_KEY.match(k) for k in state)


def infer_widths(state: StateDict) -> Tuple[float, ...]:
    """Widths from the BN sizes of the widest layer, e.g. 2048 / 1536 / 1024 / 512
    features give (1.0, 0.75, 0.5, 0.25)."""
    sizes: Dict[str, Dict[int, int]] = {}
    for key, value in state.items():
        m = BN_KEY.match(key)
        if m and m.group(3) == 'running_mean':
            sizes.setdefault(m.group(1), {})[int(m.group(2))] = value.numel()
    if not sizes:
        raise ValueError('no switchable BN (keys "...bns.<i>.running_mean") in the '
                         'state dict: it is not a slimmable network')
    widest = max(sizes.values(), key=lambda s: s[0])
    return tuple(round(widest[i] / widest[0], 4) for i in sorted(widest))


def width_index(width: float, widths: Sequence[float]) -> int:
    """Index of ``width`` in ``widths`` (the ``i`` of ``bns.<i>``).

    Raises:
        ValueError: ``width`` is not one of ``widths``.
    """
    widths = [float(w) for w in widths]
    for i, w in enumerate(widths):
        if abs(float(width) - w) < 1e-6:
            return i
    raise ValueError(f'width {width} is not in this checkpoint; available widths: '
                     f'{widths} (the widths the network was pretrained at)')


def extract_width(state: StateDict, width: float, widths: Optional[Sequence[float]] = None,
                  image_inputs: Sequence[str] = IMAGE_INPUTS) -> StateDict:
    """The state dict of the plain sub-network at ``width`` of a slimmable network.

    Switchable BNs become plain BNs (``<name>.bns.<i>.<leaf>`` -> ``<name>.<leaf>``
    for the ``i`` of ``width``; the other widths' BNs are dropped). Every other tensor
    with at least one dimension is a slimmable conv or linear parameter and keeps its
    leading ``int(C * width)`` entries along the output dimension and, for weights,
    along the input dimension too, except for the weights named in ``image_inputs``.
    Scalars are kept. The result holds copies, not views of ``state``.

    Args:
        state (dict[str, Tensor]): State dict of a slimmable network (no prefix).
        width (float): The width to cut out, one of ``widths``.
        widths (Sequence[float], optional): The network's width list, descending.
            Defaults to None: inferred from the BN sizes (:func:`infer_widths`).
        image_inputs (Sequence[str]): Keys of weights that read the image, whose
            input channels stay. Defaults to ``('conv1.weight',)``, a ResNet stem.

    Returns:
        dict[str, Tensor]: The sub-network's state dict, in the order of ``state``.

    Raises:
        ValueError: ``width`` is not in ``widths``, or ``widths`` does not have one
            entry per switchable BN.
    """
    widths = infer_widths(state) if widths is None else tuple(float(w) for w in widths)
    idx = width_index(width, widths)
    num_bns = len({m.group(2) for m in map(BN_KEY.match, state) if m})
    if num_bns != len(widths):
        raise ValueError(f'the checkpoint has {num_bns} BNs per layer but widths '
                         f'{list(widths)} has {len(widths)} entries')
    out: StateDict = OrderedDict()
    for key, value in state.items():
        m = BN_KEY.match(key)
        if m:
            if int(m.group(2)) == idx:
                out[f'{m.group(1)}.{m.group(3)}'] = value.clone()
        elif value.dim() == 0:
            out[key] = value.clone()
        else:
            cut = [slice(0, slim_channels(value.shape[0], width))]
            if value.dim() > 1:
                n_in = value.shape[1]
                cut.append(slice(0, n_in if key in image_inputs
                                 else slim_channels(n_in, width)))
            out[key] = value[tuple(cut)].clone()
    return out


def extract_head_width(head: StateDict, width: float,
                       widths: Sequence[float]) -> StateDict:
    """The classifier of the sub-network at ``width`` as a plain ``fc``.

    A switchable probe (``SwitchableLinearClsHead``, ``fcs.<i>.*``) gives that
    width's own layer; a shared slimmable ``fc`` (its outputs are the classes, which
    never shrink) keeps its leading ``int(C_in * width)`` input columns.

    Args:
        head (dict[str, Tensor]): The head's state dict (``head.`` stripped).
        width (float): The width, one of ``widths``.
        widths (Sequence[float]): The width list, descending.

    Returns:
        dict[str, Tensor]: ``fc.weight`` (and ``fc.bias``), or empty without a head.
    """
    idx = width_index(width, widths)
    if f'fcs.{idx}.weight' in head:
        return {f'fc.{n}': head[f'fcs.{idx}.{n}'].clone()
                for n in ('weight', 'bias') if f'fcs.{idx}.{n}' in head}
    if 'fc.weight' in head:
        fc_w = head['fc.weight']
        out = {'fc.weight': fc_w[:, :slim_channels(fc_w.shape[1], width)].clone()}
        if 'fc.bias' in head:
            out['fc.bias'] = head['fc.bias'].clone()
        return out
    return {}


def resnet_stage_channels(depth: int, width: float,
                          stages: Iterable[int] = range(4)) -> List[int]:
    """Output channels of the ResNet ``stages`` at ``width``: ``int(64 * width) *
    2**i * expansion`` (what an FPN reading the narrow ResNet takes as
    ``in_channels``)."""
    expansion = 1 if depth in (18, 34) else 4
    return [slim_channels(64, width) * 2**i * expansion for i in stages]


def extract_resnet(state: StateDict, width: float, widths: Sequence[float], arch: dict,
                   head: Optional[StateDict] = None) -> Tuple[StateDict, StateDict, dict]:
    """One width of a slimmable ResNet as a plain mmpretrain ``ResNet``.

    Args:
        state (dict[str, Tensor]): ``SlimmableResNet`` state dict (no prefix).
        width (float): The width to cut out.
        widths (Sequence[float]): The network's width list, descending.
        arch (dict): mmpretrain arguments of the full-width network (``type``,
            ``depth``, ``stem_channels``, ``base_channels``), e.g. from
            :func:`slimselfsup.converters.torchvision.resnet_layout`.
        head (dict[str, Tensor], optional): The head's state dict, if any.

    Returns:
        tuple: ``(backbone state, head state, arch of the plain ResNet)``; the
        backbone state has exactly the keys and shapes of that ResNet.

    Raises:
        KeyError: A weight of the plain ResNet is not in ``state``.
        ValueError: Bad ``width``/``widths``, or the width does not scale the
            ResNet into a plain one.
    """
    from mmpretrain.models.backbones import ResNet, ResNet_CIFAR

    cut = extract_width(state, width, widths)
    idx = width_index(width, widths)
    arch = dict(arch, stem_channels=slim_channels(arch['stem_channels'], width),
                base_channels=slim_channels(arch['base_channels'], width))
    kwargs = {k: v for k, v in arch.items() if k != 'type'}
    plain = (ResNet_CIFAR if arch['type'] == 'ResNet_CIFAR' else ResNet)(**kwargs)
    out: StateDict = OrderedDict()
    for key, ref in plain.state_dict().items():
        if key not in cut:
            module, name = key.rsplit('.', 1)
            raise KeyError(f'{key} of the plain ResNet is not in the checkpoint '
                           f'(looked for {key} and {module}.bns.{idx}.{name})')
        if cut[key].shape != ref.shape:
            raise ValueError(
                f'width {width} is not a plain ResNet with base_channels='
                f"{arch['base_channels']}: {key} has shape {tuple(cut[key].shape)} in "
                f'the sub-network but {tuple(ref.shape)} in the plain model')
        out[key] = cut[key]
    return out, extract_head_width(head or {}, width, widths), arch


def narrow_module(model: torch.nn.Module, width: float,
                  image_inputs: Sequence[str] = ('conv1', )) -> torch.nn.Module:
    """Rebuild a plain network's layers at ``width``: the module that
    :func:`extract_width` state dicts load into, for libraries whose constructors
    fix the channel counts (torchvision's and timm's ResNets hard-code a 64-channel
    stem, torchvision also the stage widths).

    Every ``Conv2d`` keeps ``int(C * width)`` of its output and input channels (the
    modules named in ``image_inputs`` keep their input, the image), every
    ``BatchNorm2d`` ``int(C * width)`` features, every ``Linear`` ``int(C_in *
    width)`` inputs and all its outputs (the classes); kernels, strides, padding,
    biases and BN settings are kept. The new layers are freshly initialised; load
    the weights afterwards. A ``num_features`` attribute (timm) follows.

    Args:
        model (nn.Module): A plain full-width network, e.g.
            ``torchvision.models.resnet50()``; changed in place.
        width (float): The width, in (0, 1].
        image_inputs (Sequence[str]): Names of the modules that read the image.
            Defaults to ``('conv1',)``, a ResNet stem.

    Returns:
        nn.Module: ``model``, narrowed.

    Raises:
        ValueError: A grouped convolution (its groups would have to shrink too) or
            ``width`` outside (0, 1].
    """
    from torch import nn
    if not 0 < width <= 1:
        raise ValueError(f'width must be in (0, 1], got {width}')
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                raise ValueError(f'{name}: grouped convolutions are not narrowed')
            c_in = module.in_channels if name in image_inputs else slim_channels(
                module.in_channels, width)
            new = nn.Conv2d(c_in, slim_channels(module.out_channels, width),
                            module.kernel_size, module.stride, module.padding,
                            module.dilation, bias=module.bias is not None)
        elif isinstance(module, nn.BatchNorm2d):
            new = type(module)(slim_channels(module.num_features, width), module.eps,
                               module.momentum, module.affine,
                               module.track_running_stats)
        elif isinstance(module, nn.Linear):
            new = nn.Linear(slim_channels(module.in_features, width), module.out_features,
                            bias=module.bias is not None)
        else:
            continue
        parent, _, leaf = name.rpartition('.')
        setattr(model.get_submodule(parent) if parent else model, leaf, new)
    if isinstance(getattr(model, 'num_features', None), int):
        model.num_features = slim_channels(model.num_features, width)
    return model
