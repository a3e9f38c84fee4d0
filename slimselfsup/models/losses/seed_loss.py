"""SEED's loss: the student's similarity distribution against the teacher's."""
import torch

from slimselfsup.registry import MODELS
from .soft_distill import SoftDistillLoss, soft_cross_entropy


@MODELS.register_module()
class SEEDLoss(SoftDistillLoss):
    """Soft cross-entropy of `SEED: Self-supervised Distillation For Visual
    Representation <https://arxiv.org/abs/2101.04731>`_ (Fang et al., ICLR 2021).

    For student logits ``z_S`` and teacher logits ``z_T`` over the same candidates
    (``SEEDHead`` makes them: similarities to the current teacher embedding and a
    queue of earlier ones)::

        L = -mean_n sum_j softmax(z_T / tau_T)_j * log softmax(z_S / tau_S)_j

    With the reference defaults (``tau_T = 1e-4``) the target is practically one-hot
    on the first candidate, i.e. InfoNCE with the teacher embedding as positive.
    Computed in float32 (``1 / tau_T = 1e4`` would overflow half precision), the
    teacher side detached. This is :class:`SoftDistillLoss` without its
    ``tau_S ** 2`` factor: SEED's reference does not scale the loss.

    Args:
        student_temperature (float): ``tau_S``. Defaults to 0.2.
        teacher_temperature (float): ``tau_T``. Defaults to 1e-4.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 student_temperature: float = 0.2,
                 teacher_temperature: float = 1e-4,
                 loss_weight: float = 1.0) -> None:
        super().__init__(teacher_temperature=teacher_temperature,
                         student_temperature=student_temperature, loss_weight=loss_weight)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student (torch.Tensor): Student logits ``(N, 1 + K)``.
            teacher (torch.Tensor): Teacher logits over the same candidates.

        Returns:
            torch.Tensor: The scalar loss.
        """
        if student.shape != teacher.shape:
            raise ValueError(f'SEEDLoss expects student and teacher logits of one shape, '
                             f'got {tuple(student.shape)} and {tuple(teacher.shape)}')
        return soft_cross_entropy(student, teacher, self.student_temperature,
                                  self.teacher_temperature) * self.loss_weight
