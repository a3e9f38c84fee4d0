"""TEC's feature loss: MSE to a target normalised per image and channel."""
import torch
from torch import nn

from slimselfsup.registry import MODELS


@MODELS.register_module()
class TokenNormMSELoss(nn.Module):
    """Feature loss of `Towards Sustainable Self-supervised Learning
    <https://arxiv.org/abs/2210.11016>`_ (TEC).

    The target ``(B, L, C)`` is normalised per image and per channel over the ``L``
    tokens (mean and unbiased variance over dim 1, as the reference; MAE's
    ``norm_pix`` normalises over channels instead). The squared error is averaged
    over channels, then over the masked patches only.

    Args:
        eps (float): Added to the variance. Defaults to 1e-6.
        loss_weight (float): Defaults to 1.0.
    """

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Args: ``pred``, ``target`` ``(B, L, C)``; ``mask`` ``(B, L)``, 1 = masked."""
        if pred.shape != target.shape:
            raise ValueError(f'TokenNormMSELoss: pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ')
        target = target.float()
        target = (target - target.mean(dim=1, keepdim=True)) / (
            target.var(dim=1, keepdim=True) + self.eps)**.5
        loss = (pred.float() - target).pow(2).mean(dim=-1)
        mask = mask.to(loss.dtype)
        return self.loss_weight * (loss * mask).sum() / mask.sum().clamp(min=1)
