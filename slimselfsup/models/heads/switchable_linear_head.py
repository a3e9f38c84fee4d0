"""Linear classification heads for slimmable backbones (SlimCLR, arXiv 2209.15525)."""
from typing import Optional, Sequence, Tuple

import torch
from mmpretrain.models.heads import ClsHead
from torch import nn

from slimselfsup.registry import MODELS
from ..slimmable import SlimmableLinear, SlimmableMixin, slim_channels


@MODELS.register_module()
class SwitchableLinearClsHead(ClsHead, SlimmableMixin):
    """A linear classifier that follows the active width of a slimmable backbone.

    From `Slimmable Networks for Contrastive Self-supervised Learning
    <https://arxiv.org/abs/2209.15525>`_ (SlimCLR). Two modes:

    - ``switchable=True`` (SlimCLR's ``supervised_switch``, the *switchable linear
      probe* of its linear evaluation): one independent
      ``nn.Linear(int(C * w), num_classes)`` per width ``w``, weights ``fcs.{i}.*``
      with ``i`` indexing the descending width list. The features of a frozen
      backbone differ between widths, so a weight-shared probe would be a
      compromise; independent probes are not.
    - ``switchable=False`` (SlimCLR's ``supervised``, for supervised slimmable
      training): one shared ``SlimmableLinear(C, num_classes, slim_out=False)``
      (weight ``fc.weight``) whose input columns are sliced to the active width.

    :func:`slimselfsup.models.slimmable.set_width` (or :meth:`set_width`) selects
    the width; a width not in ``widths`` raises ``ValueError``.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature channels of the *full-width* backbone.
        widths (Sequence[float]): The width list (sorted descending here).
            :class:`SlimmableClassifier` fills it from the backbone when omitted.
        switchable (bool): Independent probes per width (True) or one shared
            slimmable layer (False). Defaults to True.
        init_cfg (dict, optional): Defaults to ``Normal(std=0.01)`` on the linear
            layers, bias 0, as in the reference code.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of mmpretrain's ``ClsHead``.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 widths: Sequence[float] = (1.0, ),
                 switchable: bool = True,
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes={num_classes} must be a positive integer')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.widths = tuple(sorted((float(w) for w in widths), reverse=True))
        if not self.widths:
            raise ValueError('widths must not be empty')
        self.switchable = switchable
        self.width = self.widths[0]
        if switchable:
            self.fcs = nn.ModuleList(
                nn.Linear(slim_channels(in_channels, w), num_classes)
                for w in self.widths)
        else:
            self.fc = SlimmableLinear(in_channels, num_classes, slim_out=False)

    def set_width(self, width: float) -> None:
        """Select the linear layer (switchable) or input slice (shared) of ``width``."""
        if float(width) not in self.widths:
            raise ValueError(f'width {width} is not in the head\'s width list '
                             f'{list(self.widths)}')
        self.width = float(width)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last stage's pooled features."""
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Logits ``(N, num_classes)`` of the active width."""
        x = self.pre_logits(feats)
        expected = slim_channels(self.in_channels, self.width)
        if x.shape[-1] != expected:
            raise ValueError(
                f'{type(self).__name__} at width {self.width} expects '
                f'int({self.in_channels} * {self.width}) = {expected} features, got '
                f'{x.shape[-1]}; set the backbone and the head to the same width')
        if self.switchable:
            return self.fcs[self.widths.index(self.width)](x)
        return self.fc(x)
