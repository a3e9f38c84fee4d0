"""SlimCLR-MoCo v3: symmetric MoCo v3 on a slimmable encoder and predictor."""
from typing import Dict, List

import torch
from mmengine.dist import get_rank
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..slimmable import set_width
from ..utils import concat_all_gather
from .mocov3 import MoCoV3
from .simclr import split_pos_neg
from .slimclr_base import SlimCLRMixin


@MODELS.register_module()
class SlimCLRMoCoV3(SlimCLRMixin, MoCoV3):
    """SlimCLR-MoCo v3 from `Slimmable Networks for Contrastive Self-supervised
    Learning <https://arxiv.org/abs/2209.15525>`_.

    Online network: slimmable backbone, slimmable projector (2048w-4096w-256, last
    BN without affine) and predictor whose hidden layer is slimmed (256-4096w-256).
    The momentum encoder (backbone + projector) runs at full width, its momentum
    follows MoCo v3's cosine ramp from ``base_momentum`` to 1. For every width, both
    directions ``ctr(q1, k2) + ctr(q2, k1)`` are scored against the keys of the
    global batch, ``ctr = 2T * InfoNCE(q . k_all / T)``. A sub-width distils the
    full width's ``q . k_all / T`` in both directions (``SoftDistillLoss`` with
    ``tau_t = tau_s = 1`` by default, as the reference script).

    Args:
        backbone (dict): Slimmable backbone config.
        neck (dict): ``SlimmableMLPNeck`` projector config.
        head (dict): ``NCEHead`` with ``InfoNCELoss(temperature=T,
            loss_weight=2 * T)``.
        predictor (dict): ``SlimmableMLPNeck`` predictor config (no avg pool, no
            last BN).
        base_momentum (float): Momentum at the first iteration. Defaults to 0.99.
        widths, slim_start_epoch, distill, distill_alpha, distill_loss,
        loss_weights: See :class:`SlimCLRMixin`.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    default_distill_temperature = 1.0

    def kd_logits(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """MoCo v3 distils the temperature-scaled logits ``q . k_all / T``."""
        temperature = getattr(self.head.loss_module, 'temperature', 1.0)
        return torch.cat([pos, neg], dim=1) / temperature

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the summed symmetric SlimCLR-MoCo v3 loss of two views.

        Args:
            inputs (list[torch.Tensor]): Two views, each ``(B, C, H, W)``.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and the per-width values (both
            directions summed).
        """
        views = inputs[:2]
        with torch.no_grad():
            self.momentum_encoder.update(self._online(), self.current_momentum())
            set_width(self.momentum_encoder, self.widths[0])
            k1, k2 = (concat_all_gather(
                nn.functional.normalize(self.momentum_encoder(v)[0], dim=1))
                for v in views)
        batch = views[0].shape[0]
        labels = get_rank() * batch + torch.arange(batch, device=views[0].device)

        def terms(width: float) -> list:
            # views one at a time, so BN statistics are per view (as MoCo v3)
            q1, q2 = (nn.functional.normalize(
                self.predictor(self.neck(self.backbone(v)))[0], dim=1) for v in views)
            return [split_pos_neg(q1 @ k2.to(q1.dtype).t(), labels, None),
                    split_pos_neg(q2 @ k1.to(q2.dtype).t(), labels, None)]

        return self.slim_loss(terms)
