"""Soft cross-entropy between temperature-scaled teacher and student logits."""
import torch
from torch import nn
from torch.nn import functional as F

from slimselfsup.registry import MODELS


def soft_cross_entropy(logits: torch.Tensor, target_logits: torch.Tensor,
                       temperature: float = 1.0, target_temperature: float = 1.0,
                       dim: int = 1) -> torch.Tensor:
    """``-mean sum_j softmax(t / tau_t)_j * log softmax(z / tau)_j`` over ``dim``.

    The soft cross-entropy of SlimCLR's distillation, SEED, TEC's relation loss and
    in-place distillation: computed in float32 (so mixed precision does not round
    flat or very sharp softmaxes), the target detached (no gradient reaches it),
    averaged over every other dimension.

    Args:
        logits (torch.Tensor): Student logits ``z``.
        target_logits (torch.Tensor): Teacher logits ``t``, same shape.
        temperature (float): ``tau``. Defaults to 1.0.
        target_temperature (float): ``tau_t``. Defaults to 1.0.
        dim (int): The class dimension. Defaults to 1.
    """
    target = F.softmax(target_logits.detach().float() / target_temperature, dim=dim)
    log_prob = F.log_softmax(logits.float() / temperature, dim=dim)
    return -(target * log_prob).sum(dim=dim).mean()


@MODELS.register_module()
class SoftDistillLoss(nn.Module):
    """Knowledge distillation by soft cross-entropy (Hinton et al., 2015).

    ``L = -mean_n sum_j softmax(z_t / tau_t)_j * log softmax(z_s / tau_s)_j * tau_s^2``

    This is the online-distillation loss of SlimCLR (`Slimmable Networks for
    Contrastive Self-supervised Learning <https://arxiv.org/abs/2209.15525>`_): the
    student is a sub-network's contrastive logits, the teacher the full network's
    logits over the same candidates. It equals ``KL(p_t || p_s) * tau_s^2`` plus the
    teacher's entropy, a constant, so its gradient is the KL divergence's. The teacher
    is detached here, so no gradient ever reaches it. Both inputs are cast to float32
    so that mixed precision does not round the (flat, high-temperature) softmaxes.

    Args:
        teacher_temperature (float): ``tau_t``. Defaults to 1.0.
        student_temperature (float): ``tau_s``; the loss is scaled by ``tau_s ** 2``
            so its gradient magnitude does not shrink with the temperature.
            Defaults to 1.0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 teacher_temperature: float = 1.0,
                 student_temperature: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if teacher_temperature <= 0 or student_temperature <= 0:
            raise ValueError('temperatures must be > 0, got teacher '
                             f'{teacher_temperature} and student {student_temperature}')
        self.teacher_temperature = teacher_temperature
        self.student_temperature = student_temperature
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (torch.Tensor): Student logits ``(N, C)``.
            teacher (torch.Tensor): Teacher logits ``(N, C)`` over the same classes.

        Returns:
            torch.Tensor: The scalar loss.
        """
        if student.shape != teacher.shape or student.dim() != 2:
            raise ValueError('expected student and teacher logits of the same (N, C) '
                             f'shape, got {tuple(student.shape)} and '
                             f'{tuple(teacher.shape)}')
        loss = soft_cross_entropy(student, teacher, self.student_temperature,
                                  self.teacher_temperature)
        return loss * self.student_temperature**2 * self.loss_weight
