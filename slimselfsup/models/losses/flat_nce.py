"""FlatNCE: a contrastive objective that does not vanish for small batches."""
from typing import Dict

import torch
from torch import nn

from slimselfsup.registry import MODELS
from .info_nce import check_pos_neg, info_nce


@MODELS.register_module()
class FlatNCELoss(nn.Module):
    """FlatNCE from `Simpler, Faster, Stronger: Breaking The log-K Curse On
    Contrastive Learners With FlatNCE <https://arxiv.org/abs/2107.01152>`_.

    With ``xi_i = sum_j exp((s_ij - s_i+) / T)`` over the negatives of anchor ``i``,
    FlatNCE minimises ``xi_i / stopgrad(xi_i)``, whose gradient is that of
    ``log xi_i``. InfoNCE is ``log(1 + xi_i)``: its gradient is FlatNCE's scaled by
    ``xi_i / (1 + xi_i)``, which vanishes when negatives are easy (small batches).

    The reference code writes the loss as ``exp(v - v.detach()) - 1`` (value always 0)
    and adds the detached InfoNCE for display. We return the gradient-identical
    ``mean_i log xi_i`` as ``loss``, so the logged loss is informative, and log the
    InfoNCE value (a mutual-information proxy bounded by ``log(K + 1)``) beside it
    under ``infonce``; it is not part of the optimised total.

    Args:
        temperature (float): Softmax temperature ``T``. Defaults to 0.1.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self, temperature: float = 0.1, loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, pos: torch.Tensor,
                neg: torch.Tensor) -> Dict[str, torch.Tensor]:
        check_pos_neg(pos, neg)
        if neg.shape[1] == 0:
            raise ValueError('FlatNCE needs at least one negative per anchor')
        log_xi = torch.logsumexp((neg - pos) / self.temperature, dim=1)
        with torch.no_grad():
            infonce = info_nce(pos, neg, self.temperature).mean()
        return dict(loss=log_xi.mean() * self.loss_weight, infonce=infonce)
