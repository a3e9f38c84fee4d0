"""SlimCLR-MoCo v2: MoCo v2 on a slimmable encoder, all widths trained together."""
from typing import Dict, List

import torch
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..slimmable import set_width
from ..utils import shuffle_batch, unshuffle_batch
from .mocov2 import MoCoV2
from .slimclr_base import SlimCLRMixin


@MODELS.register_module()
class SlimCLRMoCoV2(SlimCLRMixin, MoCoV2):
    """SlimCLR-MoCo v2 from `Slimmable Networks for Contrastive Self-supervised
    Learning <https://arxiv.org/abs/2209.15525>`_.

    The query encoder is a slimmable backbone + ``SlimmableMLPNeck``; the key
    (momentum) encoder runs at full width only, with shuffle-BN, and the queue holds
    only full-width keys. Every width ``w`` scores its query against the same
    candidates: ``[q_w . k, q_w . queue]`` divided by ``T`` (InfoNCE). A sub-width
    distils the full width's raw cosine scores (``SoftDistillLoss`` with
    ``tau_t = tau_s = 5`` by default, as the reference scripts). The EMA update
    covers every parameter, sub-width BNs included, as in the reference.

    Args:
        backbone (dict): Slimmable backbone config (``SlimmableResNet``).
        neck (dict): ``SlimmableMLPNeck`` config (MoCo v2: biases, no BN).
        head (dict): ``NCEHead`` with ``InfoNCELoss(temperature=0.2)``.
        queue_len (int): Number of negatives ``K``. Defaults to 65536.
        feat_dim (int): Embedding dimension. Defaults to 128.
        momentum (float): Paper-convention momentum ``m``. Defaults to 0.999.
        widths, slim_start_epoch, distill, distill_alpha, distill_loss,
        loss_weights: See :class:`SlimCLRMixin`.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    default_distill_temperature = 5.0

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the summed SlimCLR-MoCo v2 loss of a batch of two views.

        Args:
            inputs (list[torch.Tensor]): ``[view_q, view_k]``, each ``(B, C, H, W)``.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and the per-width values.
        """
        im_q, im_k = inputs[0], inputs[1]
        with torch.no_grad():
            self.momentum_encoder.update(self._online(), self.momentum)
            set_width(self.momentum_encoder, self.widths[0])
            im_k, idx_unshuffle = shuffle_batch(im_k)
            k = nn.functional.normalize(self.momentum_encoder(im_k)[0], dim=1)
            k = unshuffle_batch(k, idx_unshuffle)
        queue = self.queue()

        def terms(width: float) -> list:
            q = nn.functional.normalize(self.neck(self.backbone(im_q))[0], dim=1)
            pos = (q * k.to(q.dtype)).sum(dim=1, keepdim=True)
            return [(pos, q @ queue.to(q.dtype).t())]

        losses = self.slim_loss(terms)
        self.queue.enqueue(k)
        return losses
