"""Slimmable ResNet: mmpretrain's ResNet built from slimmable layers."""
from typing import Optional, Sequence

from mmpretrain.models.backbones import ResNet, ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck
from torch import nn

from slimselfsup.registry import MODELS
from ..slimmable import set_width


class _SlimmableResNetMixin:
    """Builds the parent ResNet with slimmable convs and switchable BNs."""

    def __init__(self, depth: int, widths: Sequence[float] = (1.0, 0.75, 0.5, 0.25),
                 width: Optional[float] = None, **kwargs) -> None:
        for key in ('conv_cfg', 'norm_cfg'):
            if key in kwargs:
                raise ValueError(f'{type(self).__name__} sets `{key}` itself (slimmable '
                                 'conv, switchable BN); remove it from the config')
        self.widths = tuple(sorted((float(w) for w in widths), reverse=True))
        if width is not None and float(width) not in self.widths:
            raise ValueError(f'width {width} is not one of the backbone\'s widths '
                             f'{list(self.widths)}; `widths` must list the widths the '
                             'checkpoint was pretrained at, and `width` one of them')
        super().__init__(
            depth,
            conv_cfg=dict(type='SlimmableConv2d'),
            norm_cfg=dict(type='SwitchableBN2d', widths=self.widths),
            **kwargs)
        #: the one width to evaluate (``model.backbone.width``), or None for all
        self.selected_width = None if width is None else float(width)
        self.width = self.widths[0]
        if self.selected_width is not None:
            self.set_width(self.selected_width)

    def set_width(self, width: float) -> None:
        """Run every layer at ``width`` (one of ``self.widths``)."""
        set_width(self, width)
        self.width = float(width)

    def init_weights(self) -> None:
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and \
            self.init_cfg.get('type') == 'Pretrained'
        if self.zero_init_residual and not pretrained:
            # mmengine's constant_init finds no `.weight` on a switchable BN, so the
            # parent's zero-init is a no-op here; zero every width's last BN instead.
            for m in self.modules():
                last = m.norm3 if isinstance(m, Bottleneck) else \
                    m.norm2 if isinstance(m, BasicBlock) else None
                if last is not None:
                    for bn in last.bns:
                        nn.init.zeros_(bn.weight)


@MODELS.register_module()
class SlimmableResNet(_SlimmableResNetMixin, ResNet):
    """ResNet whose sub-networks at several widths share weights (SlimCLR,
    `arXiv 2209.15525 <https://arxiv.org/abs/2209.15525>`_).

    The architecture and state-dict layout are mmpretrain's ResNet (ResNet-50 v1.5 for
    depth 50), except that every BN is a ``SwitchableBatchNorm2d`` with one BN per width
    (keys ``...bn1.bns.{i}.*``, ``i`` indexing the descending width list). At width ``w``
    every layer has ``int(C * w)`` channels; the stem keeps its 3 input channels. Call
    :meth:`set_width` (or :func:`slimselfsup.models.slimmable.set_width`) before
    ``forward``.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        widths (Sequence[float]): The width list. Defaults to (1.0, 0.75, 0.5, 0.25).
        width (float, optional): One width of ``widths`` to evaluate alone
            (``--cfg-options model.backbone.width=0.5``): the network starts at it,
            and a ``SlimmableClassifier`` trains and tests only it. Every width's BNs
            stay, so a checkpoint of all widths loads as it is. Defaults to None
            (all widths).
        **kwargs: Other arguments of mmpretrain's ``ResNet`` (not ``conv_cfg`` or
            ``norm_cfg``, which this class sets).
    """


@MODELS.register_module()
class SlimmableResNetCIFAR(_SlimmableResNetMixin, ResNet_CIFAR):
    """:class:`SlimmableResNet` with the CIFAR stem (3x3 conv, stride 1, no max-pool).

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        widths (Sequence[float]): The width list. Defaults to (1.0, 0.75, 0.5, 0.25).
        width (float, optional): See :class:`SlimmableResNet`. Defaults to None.
        **kwargs: Other arguments of mmpretrain's ``ResNet_CIFAR``.
    """
