"""Decoupled contrastive loss (DCL) and its weighted form (DCLW)."""
from typing import Optional

import torch
from torch import nn

from slimselfsup.models.losses.info_nce import check_pos_neg
from slimselfsup.registry import MODELS


@MODELS.register_module()
class DCLLoss(nn.Module):
    """DCL from `Decoupled Contrastive Learning
    <https://arxiv.org/abs/2110.06848>`_ (Yeh et al., ECCV 2022).

    InfoNCE with the positive removed from the denominator, which decouples the
    gradients of positive and negatives and so removes InfoNCE's dependence on large
    batches. Per anchor ``i`` with positive similarity ``s_i+`` and negatives
    ``s_ik``::

        L_i = -w_i * s_i+ / T + log sum_k exp(s_ik / T)

    with ``w_i = 1`` (DCL) or, given ``sigma`` (DCLW), the von Mises-Fisher weight
    ``w_i = 2 - exp(s_i+ / sigma) / mean_j exp(s_j+ / sigma)`` over the anchors of
    the batch, which weights hard positives (low similarity) up. As in the authors'
    code, gradients flow through ``w_i`` too. The loss is the mean over anchors.

    A drop-in for ``InfoNCELoss`` in ``NCEHead``: it takes the same ``(pos, neg)``
    similarities (cosines, not yet divided by the temperature).

    Args:
        temperature (float): ``T``. Defaults to 0.1.
        sigma (float, optional): ``sigma`` of DCLW; None for plain DCL.
            Defaults to None.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, temperature: float = 0.1, sigma: Optional[float] = None,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0 or (sigma is not None and sigma <= 0):
            raise ValueError(f'DCLLoss: temperature and sigma must be > 0, got '
                             f'temperature={temperature}, sigma={sigma}')
        self.temperature = temperature
        self.sigma = sigma
        self.loss_weight = loss_weight

    def forward(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            pos (torch.Tensor): Positive similarities ``(N, 1)``.
            neg (torch.Tensor): Negative similarities ``(N, K)``.

        Returns:
            torch.Tensor: The scalar loss.
        """
        check_pos_neg(pos, neg)
        pos, neg = pos[:, 0].float(), neg.float()
        if self.sigma is not None:
            pos = pos * (2 - len(pos) * torch.softmax(pos / self.sigma, dim=0))
        loss = torch.logsumexp(neg / self.temperature, dim=1) - pos / self.temperature
        return loss.mean() * self.loss_weight
