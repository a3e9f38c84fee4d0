"""TEC's patch-relation loss: soft cross-entropy to tempered attention logits."""
import torch
from torch import nn

from slimselfsup.registry import MODELS
from .soft_distill import soft_cross_entropy


@MODELS.register_module()
class RelationSoftCELoss(nn.Module):
    """Relation loss of `Towards Sustainable Self-supervised Learning
    <https://arxiv.org/abs/2210.11016>`_ (TEC).

    ``-sum_j softmax(t / tau)_j log_softmax(p)_j`` over the last dimension (the
    patch keys), averaged over all other dimensions (images, heads, query rows).
    No masking: the rows are the cls token and the base model's top-K patches,
    visible or not.

    Args:
        tau (float): Target temperature (``att_tau``: 1.8 for MAE ViT-B, 1.4 for
            MAE ViT-L, 1.0 for iBoT). Defaults to 1.8.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self, tau: float = 1.8, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'RelationSoftCELoss: tau must be > 0, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Args: ``pred`` and ``target`` logits of the same shape, keys last."""
        if pred.shape != target.shape:
            raise ValueError(f'RelationSoftCELoss: pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ')
        loss = soft_cross_entropy(pred, target, target_temperature=self.tau, dim=-1)
        return self.loss_weight * loss
