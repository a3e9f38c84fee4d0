"""Slimmable layers: one set of weights, run at any width of a fixed width list.

From `Slimmable Neural Networks <https://arxiv.org/abs/1812.08928>`_ and, as used for
self-supervised learning, `Slimmable Networks for Contrastive Self-supervised Learning
<https://arxiv.org/abs/2209.15525>`_ (SlimCLR). Conv and linear layers of a sub-network
use the leading slice ``W[:out_w, :in_w]`` of the full weight (nested sub-networks), so
the narrow networks share their weights with the wide ones. BatchNorm is *switchable*:
one private BN per width, because the statistics of a narrow network differ from those of
the same channels inside the wide one.

Channel counts follow the reference code: ``int(C * width)`` (plain truncation). The
number of input channels of a layer is read from its input, so only the output side
needs to know the width; layers whose output must not shrink (the stem's input, the last
projection, classifiers) are built with ``slim_out=False``.
"""
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from slimselfsup.registry import MODELS


def slim_channels(channels: int, width: float) -> int:
    """Channels of a layer with ``channels`` full-width channels at ``width``."""
    return max(1, int(channels * width))


class SlimmableMixin:
    """Marks modules whose active width :func:`set_width` changes."""

    width: float = 1.0

    def set_width(self, width: float) -> None:
        self.width = width


@MODELS.register_module('SlimmableConv2d')
class SlimmableConv2d(nn.Conv2d, SlimmableMixin):
    """``nn.Conv2d`` that runs on the leading ``int(out_channels * width)`` filters.

    Args:
        *args: ``nn.Conv2d`` arguments (``groups`` must be 1).
        slim_out (bool): Whether the output channels shrink with the width.
            Defaults to True.
        **kwargs: ``nn.Conv2d`` keyword arguments.
    """

    def __init__(self, *args, slim_out: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.groups != 1:
            raise ValueError('SlimmableConv2d supports groups=1 only')
        self.slim_out = slim_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = slim_channels(self.out_channels, self.width) if self.slim_out \
            else self.out_channels
        weight = self.weight[:out, :x.shape[1]]
        bias = self.bias[:out] if self.bias is not None else None
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation)


@MODELS.register_module('SlimmableLinear')
class SlimmableLinear(nn.Linear, SlimmableMixin):
    """``nn.Linear`` that runs on the leading ``int(out_features * width)`` outputs.

    Args:
        in_features (int): Full-width input features.
        out_features (int): Full-width output features.
        bias (bool): Whether to use a bias. Defaults to True.
        slim_out (bool): Whether the output shrinks with the width. Defaults to True.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 slim_out: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        self.slim_out = slim_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = slim_channels(self.out_features, self.width) if self.slim_out \
            else self.out_features
        bias = self.bias[:out] if self.bias is not None else None
        return F.linear(x, self.weight[:out, :x.shape[-1]], bias)


class _SwitchableBatchNorm(nn.Module, SlimmableMixin):
    """One private BatchNorm per width; the active width picks which one runs."""

    _bn_cls = nn.BatchNorm2d
    _abbr_ = 'bn'  # so mmcv's build_norm_layer names it bn1, bn2, ... like BN

    def __init__(self, num_features: int, widths: Sequence[float] = (1.0, ),
                 slim: bool = True, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True) -> None:
        super().__init__()
        self.widths = tuple(float(w) for w in widths)
        if not self.widths or self.widths != tuple(sorted(self.widths, reverse=True)):
            raise ValueError(f'widths must be a non-empty descending list, got {widths}')
        self.num_features = num_features
        self.bns = nn.ModuleList(
            self._bn_cls(slim_channels(num_features, w) if slim else num_features,
                         eps=eps, momentum=momentum, affine=affine)
            for w in self.widths)

    def set_width(self, width: float) -> None:
        if float(width) not in self.widths:
            raise ValueError(f'width {width} is not in the slimmable width list '
                             f'{list(self.widths)}; use one of them or rebuild the '
                             'model with this width in `widths`')
        self.width = float(width)

    @property
    def active(self) -> nn.Module:
        """The BatchNorm of the active width."""
        return self.bns[self.widths.index(self.width)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.active(x)


@MODELS.register_module('SwitchableBN2d')
class SwitchableBatchNorm2d(_SwitchableBatchNorm):
    """Switchable (per-width) ``BatchNorm2d``.

    Args:
        num_features (int): Full-width channels.
        widths (Sequence[float]): The width list, descending. Defaults to ``(1.0,)``.
        slim (bool): Whether the channels shrink with the width. Defaults to True.
        eps (float): BatchNorm eps. Defaults to 1e-5.
        momentum (float): BatchNorm momentum. Defaults to 0.1.
        affine (bool): Whether each BatchNorm has a learnable affine transform.
            Defaults to True.
    """


@MODELS.register_module('SwitchableBN1d')
class SwitchableBatchNorm1d(_SwitchableBatchNorm):
    """Switchable (per-width) ``BatchNorm1d``; arguments as
    :class:`SwitchableBatchNorm2d`."""

    _bn_cls = nn.BatchNorm1d


def set_width(model: nn.Module, width: float) -> None:
    """Make every slimmable layer of ``model`` run at ``width``.

    Args:
        model (nn.Module): A model containing slimmable layers.
        width (float): A width from the model's width list.
    """
    for module in model.modules():
        if isinstance(module, SlimmableMixin):
            module.set_width(width)
