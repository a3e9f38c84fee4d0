"""Slimmable SEED: one distillation run gives a SEED student at every width."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.structures import DataSample

from slimselfsup.registry import MODELS
from ..slimmable import SlimmableMixin
from .seed import SEED
from .slimclr_base import SlimCLRMixin


@MODELS.register_module()
class SlimSEED(SlimCLRMixin, SEED):
    """SEED (`arXiv 2101.04731 <https://arxiv.org/abs/2101.04731>`_) with a slimmable
    student, trained at all its widths as SlimCLR (`arXiv 2209.15525
    <https://arxiv.org/abs/2209.15525>`_) trains its encoder.

    The frozen teacher, its queue and the temperatures are SEED's (:class:`SEED`,
    :class:`SEEDHead`, :class:`SEEDLoss`); the student (slimmable ``backbone`` and
    ``neck``, e.g. ``SlimmableResNet`` + ``SlimmableMLPNeck``) is run at every width
    :class:`SlimCLRMixin` trains. Every width ``w`` matches the teacher's similarity
    distribution over the same candidates (the teacher embedding of the crop and the
    teacher queue): ``L_seed(w) = SEEDLoss([s_w.t, s_w.D], [t.t, t.D])``. The teacher
    runs once per batch and the queue only ever holds teacher embeddings. SlimCLR's
    slow start, loss re-weighting and optional in-place distillation come from the
    mixin: a narrower width ``w`` then also matches the (detached) full-width
    student's similarities over the same candidates,
    ``(1 - alpha) * L_seed(w) + alpha * L_kd(w)``. Small patches work as in SEED
    (one term per queue at every width). Logs ``seed_w{w}`` and ``kd_w{w}``.

    Args:
        backbone (dict): Slimmable student backbone config.
        neck (dict): ``SlimmableMLPNeck`` config (SEED's MoCo v2 head: biases, no BN).
        head, teacher, teacher_ckpt, queue_len, feat_dim, small_patches: See
            :class:`SEED`.
        widths, slim_start_epoch, distill, distill_alpha, distill_loss,
        loss_weights: See :class:`SlimCLRMixin`; the default distillation is
            ``SoftDistillLoss`` with ``tau_t = tau_s = 5`` on the raw cosine
            similarities, as SlimCLR-MoCo v2.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    default_distill_temperature = 5.0
    term_name = 'seed'

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not any(isinstance(m, SlimmableMixin) for m in self.neck.modules()):
            raise TypeError('SlimSEED needs a slimmable neck (e.g. SlimmableMLPNeck with '
                            f'the backbone\'s widths), got {type(self.neck).__name__}')

    def kd_logits(self, student: torch.Tensor, teacher: torch.Tensor,
                  queue: torch.Tensor) -> torch.Tensor:
        """The student's raw cosine similarities to the candidates ``[t, D]``."""
        return self.head.logits(student.float(), teacher.detach().float(), queue.float())

    def loss(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the summed per-width SEED losses of a batch.

        Args:
            inputs (torch.Tensor | list[torch.Tensor]): As :meth:`SEED.loss`.
            data_samples (list[DataSample], optional): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and the per-width values.
        """
        views = self._check_views(inputs)
        targets = self._targets(views)  # the teacher runs once, at its only width
        losses = self.slim_loss(lambda width: [(self._student(x), t, queue)
                                               for x, t, queue in targets])
        self._enqueue(targets, views[0].shape[0])
        return losses
