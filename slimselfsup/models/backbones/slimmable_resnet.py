"""Slimmable ResNet: mmpretrain's ResNet built from slimmable layers."""
from typing import Optional, Sequence

from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_with_prefix
from mmpretrain.models.backbones import ResNet, ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck
from torch import nn

from slimselfsup.registry import MODELS
from ..slimmable import set_width
from ..slimmable.extract import infer_widths, is_slimmable


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
        pretrained = isinstance(self.init_cfg, dict) and \
            self.init_cfg.get('type') == 'Pretrained'
        if pretrained and self.init_cfg.get('checkpoint'):
            self._load_pretrained(self.init_cfg['checkpoint'], self.init_cfg.get('prefix'))
            return
        super().init_weights()
        if self.zero_init_residual and not pretrained:
            # mmengine's constant_init finds no `.weight` on a switchable BN, so the
            # parent's zero-init is a no-op here; zero every width's last BN instead.
            for m in self.modules():
                last = m.norm3 if isinstance(m, Bottleneck) else \
                    m.norm2 if isinstance(m, BasicBlock) else None
                if last is not None:
                    for bn in last.bns:
                        nn.init.zeros_(bn.weight)

    def _load_pretrained(self, checkpoint: str, prefix: Optional[str]) -> None:
        """Load a slimmable checkpoint strictly, after checking its widths.

        mmengine's ``Pretrained`` init loads non-strictly: a checkpoint of other widths
        would only log size mismatches and leave those BNs at their init, so a probe
        would silently evaluate an untrained width. Here the widths must match.
        """
        if prefix:
            state = _load_checkpoint_with_prefix(prefix, checkpoint, 'cpu')
        else:
            ckpt = _load_checkpoint(checkpoint, 'cpu')
            state = ckpt.get('state_dict', ckpt)
        where = f'{checkpoint} (prefix {prefix!r})'
        if not is_slimmable(state):
            raise ValueError(f'{where} holds no switchable BN (no "...bns.<i>." keys): it '
                             f'is not a slimmable network, but {type(self).__name__} '
                             'needs one; check init_cfg.checkpoint and init_cfg.prefix')
        have = infer_widths(state)
        if len(have) != len(self.widths) or any(
                abs(a - b) > 1e-3 for a, b in zip(have, self.widths)):
            asked = '' if self.selected_width is None else \
                f' (asked for width {self.selected_width})'
            raise ValueError(f'{where} holds widths {list(have)} but the backbone is built '
                             f'with widths {list(self.widths)}{asked}; set '
                             f'model.backbone.widths={list(have)} and, for one width, '
                             'model.backbone.width to one of them')
        self.load_state_dict(state, strict=True)
        print_log(f'{type(self).__name__}: loaded widths {list(have)} from {where}',
                  logger='current')
        self._is_init = True


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
            (all widths). A ``Pretrained`` ``init_cfg`` loads strictly and its
            checkpoint must hold exactly ``widths`` (the error names both lists).
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
