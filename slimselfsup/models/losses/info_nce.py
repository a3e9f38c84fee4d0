"""InfoNCE over explicit positive and negative similarities."""
import torch
from torch import nn

from slimselfsup.registry import MODELS


def check_pos_neg(pos: torch.Tensor, neg: torch.Tensor) -> None:
    """Raise a ValueError unless ``pos`` is ``(N, 1)`` and ``neg`` is ``(N, K)``."""
    if pos.dim() != 2 or pos.shape[1] != 1 or neg.dim() != 2 \
            or neg.shape[0] != pos.shape[0]:
        raise ValueError('expected pos of shape (N, 1) and neg of shape (N, K), got '
                         f'{tuple(pos.shape)} and {tuple(neg.shape)}')


def info_nce(pos: torch.Tensor, neg: torch.Tensor,
             temperature: float) -> torch.Tensor:
    """Per-anchor InfoNCE ``-log(e^{s+/T} / (e^{s+/T} + sum_j e^{s_j/T}))``.

    Args:
        pos (torch.Tensor): Positive similarities, shape ``(N, 1)``.
        neg (torch.Tensor): Negative similarities, shape ``(N, K)``.
        temperature (float): Softmax temperature ``T``.

    Returns:
        torch.Tensor: Shape ``(N,)``.
    """
    check_pos_neg(pos, neg)
    # logaddexp of the positive and the negatives' logsumexp: no (N, K + 1) copy
    dtype = torch.promote_types(pos.dtype, neg.dtype)
    pos = pos[:, 0].to(dtype) / temperature
    return torch.logaddexp(pos, torch.logsumexp(neg.to(dtype) / temperature, dim=1)) - pos


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """InfoNCE (van den Oord et al., 2018), the MoCo / SimCLR objective.

    Equal to cross-entropy of ``[pos, neg] / T`` with label 0, averaged over anchors.

    Args:
        temperature (float): Softmax temperature. Defaults to 0.1.
        loss_weight (float): Multiplier of the loss (MoCo v3 uses ``2 * T``).
            Defaults to 1.0.
    """

    def __init__(self, temperature: float = 0.1, loss_weight: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        return info_nce(pos, neg, self.temperature).mean() * self.loss_weight
