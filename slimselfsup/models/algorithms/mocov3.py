"""MoCo v3: symmetric momentum contrast with a predictor and in-batch negatives."""
import math
from typing import Dict, List, Optional, Union

import torch
from mmengine.dist import get_rank
from mmengine.logging import MessageHub
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..utils import MomentumEncoder, check_momentum, concat_all_gather
from .simclr import split_pos_neg


@MODELS.register_module()
class MoCoV3(BaseSelfSupervisor):
    """MoCo v3 from `An Empirical Study of Training Self-Supervised Vision
    Transformers <https://arxiv.org/abs/2104.02057>`_.

    Both views go through backbone, projector (``neck``) and ``predictor``; the keys
    of the other view come from the momentum encoder (backbone + projector) and are
    gathered from every rank, so each query has one positive and
    ``global_batch - 1`` negatives. The momentum follows the paper's cosine ramp
    from ``base_momentum`` to 1 over training (read from mmengine's MessageHub).
    Works with ResNet and ViT backbones (``MoCoV3ViT`` freezes the patch
    projection, as the paper does).

    Args:
        backbone (dict): Backbone config.
        neck (dict): Projector config (``NonLinearNeck`` with last BN).
        head (dict): Head config, ``NCEHead`` with
            ``InfoNCELoss(temperature=T, loss_weight=2 * T)`` as in the paper.
        predictor (dict): Predictor config (``NonLinearNeck`` without avg pool).
        base_momentum (float): Paper-convention momentum at the first iteration.
            Defaults to 0.99.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 predictor: dict,
                 base_momentum: float = 0.99,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.predictor = MODELS.build(predictor)
        self.base_momentum = check_momentum(base_momentum, 'base_momentum')
        self.momentum_encoder = MomentumEncoder(self._online())

    def _online(self) -> nn.Module:
        return nn.Sequential(self.backbone, self.neck)

    def init_weights(self) -> None:
        """Initialise the online network, then start the momentum copy equal to it."""
        super().init_weights()
        self.momentum_encoder.copy_from(self._online())

    def current_momentum(self) -> float:
        """Cosine ramp ``1 - (1 - m0) * (1 + cos(pi * t / T)) / 2`` of the paper."""
        hub = MessageHub.get_current_instance()
        it, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
        if it is None or not max_iters:
            return self.base_momentum
        return 1 - (1 - self.base_momentum) * (
            math.cos(math.pi * it / max_iters) + 1) / 2

    def _contrast(self, q: torch.Tensor, k: torch.Tensor) -> Dict[str, torch.Tensor]:
        q = nn.functional.normalize(q, dim=1)
        keys = concat_all_gather(nn.functional.normalize(k, dim=1))
        rows = torch.arange(q.shape[0], device=q.device)
        pos, neg = split_pos_neg(q @ keys.t(), get_rank() * q.shape[0] + rows, None)
        return self.head.loss(pos, neg)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the symmetric MoCo v3 loss of a batch of two views.

        Args:
            inputs (list[torch.Tensor]): Two views, each ``(B, C, H, W)``.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: Loss and monitored values (summed over the two
            directions, as the paper does).
        """
        # Views go through the encoders one at a time, as in the paper, so that
        # BatchNorm statistics are per view.
        q1, q2 = (self.predictor(self.neck(self.backbone(v)))[0] for v in inputs[:2])
        with torch.no_grad():
            self.momentum_encoder.update(self._online(), self.current_momentum())
            k1, k2 = (self.momentum_encoder(v)[0] for v in inputs[:2])
        first, second = self._contrast(q1, k2), self._contrast(q2, k1)
        return {name: first[name] + second[name] for name in first}
