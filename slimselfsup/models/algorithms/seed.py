"""SEED: self-supervised distillation from a frozen pretrained teacher."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..utils import FeatureQueue

#: How to get a teacher checkpoint, in the errors of a missing or unfit one.
TEACHER_HINT = ('Pretrain a teacher (e.g. configs/mocov2/mocov2_resnet50-cifar_1xb512-'
                'coslr-200e_cifar10.py; a slimselfsup pretraining checkpoint loads '
                'directly) or convert a published one with tools/convert_ckpt.py '
                '(`--list` shows the converters), then set `model.teacher_ckpt`.')

#: ``(student input, teacher embeddings, queue)`` of one SEED loss term.
Targets = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@MODELS.register_module()
class SEED(BaseSelfSupervisor):
    """SEED from `SEED: Self-supervised Distillation For Visual Representation
    <https://arxiv.org/abs/2101.04731>`_ (Fang et al., ICLR 2021).

    A small student (``backbone`` + projection ``neck``) learns to reproduce the
    similarity distribution a frozen, self-supervised teacher assigns to the current
    teacher embedding and a queue of earlier teacher embeddings (:class:`SEEDHead`,
    :class:`SEEDLoss`). Student and teacher see the same crop. The teacher is built
    from ``teacher`` (``backbone`` and ``neck`` configs) into mmpretrain's
    ``target_generator`` slot as a :class:`FrozenTeacher`: loaded strictly from
    ``teacher_ckpt``, always in eval mode, outside the optimizer, no gradient, and
    saved in checkpoints (``target_generator.backbone.*``/``.neck.*``; checkpoints
    of earlier versions, with ``teacher.*``, load too). The queue
    (:class:`FeatureQueue`) is DDP-correct and saved in checkpoints.

    With ``small_patches=True`` (the reference's 800-epoch recipe) the inputs are
    ``[big_view, small_1, ..., small_n]``: the loss is SEED on the big views against
    ``queue`` plus SEED on all small views against ``small_queue``, which receives
    the teacher embedding of each image's first small view.

    Args:
        backbone (dict): Student backbone config.
        neck (dict): Student projection head config (MoCo v2 MLP in the paper).
        head (dict): ``SEEDHead`` config; its ``loss`` has the temperatures.
        teacher (dict): ``dict(backbone=..., neck=...)`` of the teacher; its output
            must have ``feat_dim`` channels.
        teacher_ckpt (str, optional): Teacher weights: a file written by
            ``tools/convert_ckpt.py`` or a slimselfsup pretraining checkpoint.
            Required for training; ``init_weights`` raises without it.
            Defaults to None.
        queue_len (int): Queue length ``K``. Defaults to 65536.
        feat_dim (int): Embedding dimension. Defaults to 128.
        small_patches (bool): Use the small-patch multi-view loss. Defaults to False.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Student init. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 teacher: dict,
                 teacher_ckpt: Optional[str] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 small_patches: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if not isinstance(teacher, dict) or set(teacher) != {'backbone', 'neck'}:
            raise ValueError('SEED `teacher` must be dict(backbone=..., neck=...), got '
                             f'{teacher!r}')
        target_generator = dict(
            type='FrozenTeacher', model=teacher, checkpoint=teacher_ckpt,
            in_checkpoint=True, required=True, name='SEED teacher',
            given_as='model.teacher_ckpt', hint=TEACHER_HINT, model_given_as='model.teacher')
        super().__init__(backbone=backbone, neck=neck, head=head,
                         target_generator=target_generator,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.queue = FeatureQueue(queue_len, feat_dim)
        self.small_queue = FeatureQueue(queue_len, feat_dim) if small_patches else None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Rename the teacher keys of checkpoints written before the teacher moved into
        the ``target_generator`` slot (``teacher.*``), then load as usual."""
        old = prefix + 'teacher.'
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[prefix + 'target_generator.' + key[len(old):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _student(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.neck(self.backbone(x))[0], dim=1)

    def _teacher(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.target_generator(x)[0].float(), dim=1)

    def _check_views(self, inputs: Union[torch.Tensor, List[torch.Tensor]]
                     ) -> List[torch.Tensor]:
        """The views of a batch, checked against ``small_patches``."""
        views = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if self.small_queue is None and len(views) != 1:
            raise ValueError(f'SEED got {len(views)} views per image but uses one '
                             '(the same crop for student and teacher); use '
                             '`MultiView(num_views=1)` or set `small_patches=True`.')
        if self.small_queue is not None and len(views) < 2:
            raise ValueError('SEED with small_patches=True needs views [big, small_1, '
                             '..., small_n], e.g. MultiView(num_views=[1, 6]); got '
                             f'{len(views)} view(s).')
        return views

    def _targets(self, views: List[torch.Tensor]) -> List[Targets]:
        """The teacher side of each loss term, ``(student input, teacher embeddings,
        queue)``: the big views against ``queue`` and, with small patches, all small
        views against ``small_queue``."""
        targets = [(views[0], self._teacher(views[0]), self.queue())]
        if self.small_queue is not None:
            small = torch.cat(views[1:])
            targets.append((small, self._teacher(small), self.small_queue()))
        return targets

    def _enqueue(self, targets: List[Targets], batch: int) -> None:
        """Push the teacher embeddings of the big views (and of each image's first
        small view) into the queues."""
        self.queue.enqueue(targets[0][1])
        if self.small_queue is not None:
            self.small_queue.enqueue(targets[1][1][:batch])

    def loss(self, inputs: Union[torch.Tensor, List[torch.Tensor]],
             data_samples: Optional[List[DataSample]] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the SEED loss.

        Args:
            inputs (torch.Tensor | list[torch.Tensor]): One view ``(B, C, H, W)``
                (or ``[view]``); with ``small_patches`` ``[big, small_1, ...]``.
            data_samples (list[DataSample], optional): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and monitored values.
        """
        views = self._check_views(inputs)
        targets = self._targets(views)
        parts = [self.head.loss(self._student(x), t, queue) for x, t, queue in targets]
        self._enqueue(targets, views[0].shape[0])
        if len(parts) == 1:
            return parts[0]
        big, small = parts
        return dict(loss=big['loss'] + small['loss'], ce_big=big['loss'].detach(),
                    ce_small=small['loss'].detach(), agree=big['agree'],
                    agree_small=small['agree'])
