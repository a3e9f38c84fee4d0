"""SEED head: similarities of student and teacher to the same candidates."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from slimselfsup.registry import MODELS


@MODELS.register_module()
class SEEDHead(BaseModule):
    """Head of `SEED: Self-supervised Distillation For Visual Representation
    <https://arxiv.org/abs/2101.04731>`_ (Fang et al., ICLR 2021).

    For L2-normalised student ``s``, teacher ``t`` (same image, same crop) and a
    queue ``D = [d_1 .. d_K]`` of earlier teacher embeddings, the candidates are the
    current teacher embedding followed by the queue: the student's logits are
    ``[s.t, s.d_1, ..., s.d_K]``, the teacher's ``[t.t, t.d_1, ..., t.d_K]``, and
    ``loss`` (:class:`SEEDLoss`, with the temperatures) compares them. The teacher
    side is detached and computed in float32.

    Args:
        loss (dict): Config of the loss module, which takes ``(student_logits,
            teacher_logits)``. Defaults to ``SEEDLoss`` with tau_S 0.2, tau_T 1e-4.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 loss: dict = dict(type='SEEDLoss', student_temperature=0.2,
                                   teacher_temperature=1e-4),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)

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
        # temperatures are positive, so they do not move the argmax
        agree = (s_logits.argmax(dim=1) == t_logits.argmax(dim=1)).float().mean()
        return dict(loss=self.loss_module(s_logits, t_logits), agree=agree.detach())
