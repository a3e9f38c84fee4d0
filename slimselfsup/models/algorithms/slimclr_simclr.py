"""Slimmable SimCLR: SimCLR on a slimmable encoder, all widths trained together."""
from typing import Dict, List

import torch
from mmengine.dist import get_rank
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..utils import all_gather_with_grad
from .simclr import SimCLR, split_pos_neg
from .slimclr_base import SlimCLRMixin


@MODELS.register_module()
class SlimCLRSimCLR(SlimCLRMixin, SimCLR):
    """Slimmable SimCLR from `Slimmable Networks for Contrastive Self-supervised
    Learning <https://arxiv.org/abs/2209.15525>`_.

    Both views go through the slimmable encoder (backbone + ``SlimmableMLPNeck``
    with hidden and last BN) at every width, one view at a time as in the reference
    (per-view BN statistics). At each width the ``2N`` embeddings of the global batch
    give a ``2N x (2N - 1)`` cosine matrix (self-similarity dropped); this rank's
    ``2B`` rows are scored with ``InfoNCE(sim / T)``, T = 0.1, against candidates
    gathered with gradient, which equals one process holding the global batch. A
    sub-width distils the full width's raw cosine rows (``SoftDistillLoss`` with
    ``tau_t = tau_s = 5`` by default, as the reference script).

    Args:
        backbone (dict): Slimmable backbone config.
        neck (dict): ``SlimmableMLPNeck`` config.
        head (dict): ``NCEHead`` with ``InfoNCELoss(temperature=0.1)``.
        widths, slim_start_epoch, distill, distill_alpha, distill_loss,
        loss_weights: See :class:`SlimCLRMixin`.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    default_distill_temperature = 5.0

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the summed slimmable SimCLR loss of a batch of two views.

        Args:
            inputs (list[torch.Tensor]): Two views, each ``(B, C, H, W)``.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and the per-width values.
        """
        views = inputs[:2]
        b = views[0].shape[0]
        local = torch.arange(2 * b, device=views[0].device)
        self_col = get_rank() * 2 * b + local
        pos_col = get_rank() * 2 * b + (local + b) % (2 * b)

        def terms(width: float) -> list:
            z = torch.cat([self.neck(self.backbone(v))[0] for v in views], dim=0)
            z = nn.functional.normalize(z, dim=1)
            return [split_pos_neg(z @ all_gather_with_grad(z).t(), pos_col, self_col)]

        return self.slim_loss(terms)
