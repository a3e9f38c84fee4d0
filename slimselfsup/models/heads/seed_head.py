"""SEED head: the student matches the teacher's similarity distribution."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from slimselfsup.registry import MODELS
from ..losses import soft_cross_entropy


@MODELS.register_module()
class SEEDHead(BaseModule):
    """Soft cross-entropy of SEED, from `SEED: Self-supervised Distillation For
    Visual Representation <https://arxiv.org/abs/2101.04731>`_ (Fang et al., 2021).

    For L2-normalised student ``s``, teacher ``t`` (same image, same crop) and a
    queue ``D = [d_1 .. d_K]`` of earlier teacher embeddings, the candidates are the
    current teacher embedding followed by the queue::

        z_S = [s.t, s.d_1, ..., s.d_K] / tau_S
        p_T = softmax([t.t, t.d_1, ..., t.d_K] / tau_T)
        L   = -mean_n sum_j p_T,j * log softmax(z_S)_j

    With the reference defaults (``tau_T = 1e-4``) ``p_T`` is practically one-hot on
    the first entry, i.e. InfoNCE with the teacher embedding as positive and teacher
    negatives. Everything is computed in float32 (``1 / tau_T = 1e4`` would overflow
    half precision) and the teacher side is detached.

    Args:
        student_temperature (float): ``tau_S``. Defaults to 0.2.
        teacher_temperature (float): ``tau_T``. Defaults to 1e-4.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 student_temperature: float = 0.2,
                 teacher_temperature: float = 1e-4,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if student_temperature <= 0 or teacher_temperature <= 0:
            raise ValueError('SEEDHead temperatures must be > 0, got student '
                             f'{student_temperature} and teacher {teacher_temperature}')
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature
        self.loss_weight = loss_weight

    @staticmethod
    def logits(anchor: torch.Tensor, target: torch.Tensor,
               queue: torch.Tensor) -> torch.Tensor:
        """Similarities ``[anchor.target, anchor @ queue.T]``, shape ``(N, 1 + K)``."""
        return torch.cat([(anchor * target).sum(dim=1, keepdim=True), anchor @ queue.t()],
                         dim=1)

    def loss(self, student: torch.Tensor, teacher: torch.Tensor,
             queue: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the SEED loss.

        Args:
            student (torch.Tensor): Normalised student embeddings ``(N, D)``.
            teacher (torch.Tensor): Normalised teacher embeddings ``(N, D)``.
            queue (torch.Tensor): Normalised teacher embeddings ``(K, D)``.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and ``agree`` (share of rows whose
            student and teacher distributions peak at the same candidate; not
            optimised).
        """
        if student.shape != teacher.shape or student.shape[1] != queue.shape[1]:
            raise ValueError(f'SEEDHead expects student and teacher of shape (N, D) and '
                             f'a queue (K, D); got {tuple(student.shape)}, '
                             f'{tuple(teacher.shape)} and {tuple(queue.shape)}')
        teacher, queue = teacher.detach().float(), queue.detach().float()
        s_logits = self.logits(student.float(), teacher, queue)
        t_logits = self.logits(teacher, teacher, queue)
        loss = soft_cross_entropy(s_logits, t_logits, self.student_temperature,
                                  self.teacher_temperature)
        # temperatures are positive, so they do not move the argmax
        agree = (s_logits.argmax(dim=1) == t_logits.argmax(dim=1)).float().mean()
        return dict(loss=loss * self.loss_weight, agree=agree.detach())
