"""MoCo v2: momentum contrast with a queue of negatives."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..utils import (FeatureQueue, MomentumEncoder, check_momentum, compute_dtype, shuffle_batch,
                     unshuffle_batch)


@MODELS.register_module()
class MoCoV2(BaseSelfSupervisor):
    """MoCo v1/v2 from `Momentum Contrast for Unsupervised Visual Representation
    Learning <https://arxiv.org/abs/1911.05722>`_ and `Improved Baselines with
    Momentum Contrastive Learning <https://arxiv.org/abs/2003.04297>`_.

    The query encoder (backbone + neck) sees view 1; the momentum encoder sees view 2
    with shuffle-BN across ranks. Negatives come from a queue of past keys, gathered
    from every rank before they are enqueued. Queue, pointer and momentum encoder are
    part of ``state_dict`` and so of every checkpoint.

    Args:
        backbone (dict): Backbone config.
        neck (dict): Projection neck config (``MoCoV2Neck`` for v2, a linear one
            for v1).
        head (dict): Head config, e.g. ``NCEHead`` with ``InfoNCELoss(T=0.2)``.
        queue_len (int): Number of negatives ``K``. Defaults to 65536.
        feat_dim (int): Embedding dimension. Defaults to 128.
        momentum (float): Paper-convention key-encoder momentum ``m``.
            Defaults to 0.999.
        data_preprocessor (dict, optional): Defaults to None
            (``SelfSupDataPreprocessor``).
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: float = 0.999,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.momentum = check_momentum(momentum)
        self.momentum_encoder = MomentumEncoder(self._online())
        self.queue = FeatureQueue(queue_len, feat_dim)

    def _online(self) -> nn.Module:
        return nn.Sequential(self.backbone, self.neck)

    def init_weights(self) -> None:
        """Initialise the query encoder, then start the key encoder equal to it."""
        super().init_weights()
        self.momentum_encoder.copy_from(self._online())

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the MoCo loss of a batch of two views.

        Args:
            inputs (list[torch.Tensor]): ``[view_q, view_k]``, each ``(B, C, H, W)``.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: Loss and monitored values.
        """
        im_q, im_k = inputs[0], inputs[1]
        q = nn.functional.normalize(self.neck(self.backbone(im_q))[0], dim=1)
        with torch.no_grad():
            self.momentum_encoder.update(self._online(), self.momentum)
            im_k, idx_unshuffle = shuffle_batch(im_k)
            k = nn.functional.normalize(self.momentum_encoder(im_k)[0], dim=1)
            k = unshuffle_batch(k, idx_unshuffle)
        pos = (q * k).sum(dim=1, keepdim=True)
        neg = q @ self.queue(compute_dtype(q)).t()
        losses = self.head.loss(pos, neg)
        self.queue.enqueue(k)
        return losses
