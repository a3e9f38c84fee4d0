"""SEED: self-supervised distillation from a frozen pretrained teacher."""
import os.path as osp
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import revert_sync_batchnorm
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.converters import check_keys, unwrap_state_dict
from slimselfsup.converters.seed import select_teacher_keys
from slimselfsup.registry import MODELS
from ..utils import FeatureQueue


def freeze_to_buffers(module: nn.Module) -> nn.Module:
    """Turn every parameter of ``module`` into a buffer of the same name.

    The weights keep their ``state_dict`` keys and follow ``.to()``, but
    ``parameters()`` no longer yields them, so no optimizer (nor DDP's gradient
    buckets) ever sees them and no gradient can reach them.
    """
    for sub in module.modules():
        for name, param in list(sub.named_parameters(recurse=False)):
            del sub._parameters[name]
            sub.register_buffer(name, param.detach().requires_grad_(False))
    return module


@MODELS.register_module()
class SEED(BaseSelfSupervisor):
    """SEED from `SEED: Self-supervised Distillation For Visual Representation
    <https://arxiv.org/abs/2101.04731>`_ (Fang et al., ICLR 2021).

    A small student (``backbone`` + projection ``neck``) learns to reproduce the
    similarity distribution a frozen, self-supervised teacher assigns to the current
    teacher embedding and a queue of earlier teacher embeddings (:class:`SEEDHead`).
    Student and teacher see the same crop. The teacher is built from ``teacher``
    (``backbone`` and ``neck`` configs), loaded strictly from ``teacher_ckpt``, kept
    in eval mode (also after ``model.train()``) and holds its weights as buffers,
    so it is outside the optimizer and receives no gradient. The queue
    (:class:`FeatureQueue`) is DDP-correct and saved in checkpoints.

    With ``small_patches=True`` (the reference's 800-epoch recipe) the inputs are
    ``[big_view, small_1, ..., small_n]``: the loss is SEED on the big views against
    ``queue`` plus SEED on all small views against ``small_queue``, which receives
    the teacher embedding of each image's first small view.

    Args:
        backbone (dict): Student backbone config.
        neck (dict): Student projection head config (MoCo v2 MLP in the paper).
        head (dict): ``SEEDHead`` config with the temperatures.
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
        super().__init__(backbone=backbone, neck=neck, head=head,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not isinstance(teacher, dict) or set(teacher) != {'backbone', 'neck'}:
            raise ValueError('SEED `teacher` must be dict(backbone=..., neck=...), got '
                             f'{teacher!r}')
        self.teacher = freeze_to_buffers(revert_sync_batchnorm(nn.ModuleDict(
            dict(backbone=MODELS.build(teacher['backbone']),
                 neck=MODELS.build(teacher['neck'])))))
        self.teacher_ckpt = teacher_ckpt
        self.queue = FeatureQueue(queue_len, feat_dim)
        self.small_queue = FeatureQueue(queue_len, feat_dim) if small_patches else None
        self.teacher.eval()

    def init_weights(self) -> None:
        """Initialise the student, then load the teacher strictly."""
        super().init_weights()
        if not self.teacher_ckpt:
            raise ValueError(
                'SEED needs a pretrained teacher: set `model.teacher_ckpt` (e.g. '
                '`--cfg-options model.teacher_ckpt=teacher.pth`) to a file from '
                '`tools/convert_ckpt.py` or to a slimselfsup pretraining checkpoint.')
        self.load_teacher(self.teacher_ckpt)

    def load_teacher(self, path: str) -> None:
        """Load teacher weights strictly; mismatches name missing/unexpected keys."""
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'SEED teacher checkpoint {path!r} does not exist. Pretrain a teacher '
                '(e.g. configs/mocov2/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py) '
                'or convert a published one with tools/convert_ckpt.py, then set '
                '`model.teacher_ckpt`.')
        from slimselfsup.utils.checkpoint_io import load_checkpoint_file
        checkpoint = load_checkpoint_file(path, 'model.teacher_ckpt')
        state_dict = select_teacher_keys(unwrap_state_dict(checkpoint))
        check_keys(state_dict, self.teacher.state_dict(),
                   what=f'teacher checkpoint {path} (convert published checkpoints '
                   'with tools/convert_ckpt.py; `--list` shows the converters)')
        self.teacher.load_state_dict(state_dict, strict=True)

    def train(self, mode: bool = True) -> 'SEED':
        """Set the student's mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def _student(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.neck(self.backbone(x))[0], dim=1)

    @torch.no_grad()
    def _teacher(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.teacher['neck'](self.teacher['backbone'](x))[0]
        return nn.functional.normalize(feat.float(), dim=1)

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
        views = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if self.small_queue is None and len(views) != 1:
            raise ValueError(f'SEED got {len(views)} views per image but uses one '
                             '(the same crop for student and teacher); use '
                             '`MultiView(num_views=1)` or set `small_patches=True`.')
        if self.small_queue is not None and len(views) < 2:
            raise ValueError('SEED with small_patches=True needs views [big, small_1, '
                             '..., small_n], e.g. MultiView(num_views=[1, 6]); got '
                             f'{len(views)} view(s).')
        t = self._teacher(views[0])
        losses = self.head.loss(self._student(views[0]), t, self.queue())
        if self.small_queue is not None:
            small = torch.cat(views[1:])
            t_small = self._teacher(small)
            small_losses = self.head.loss(self._student(small), t_small,
                                          self.small_queue())
            losses = dict(loss=losses['loss'] + small_losses['loss'],
                          ce_big=losses['loss'].detach(),
                          ce_small=small_losses['loss'].detach(),
                          agree=losses['agree'], agree_small=small_losses['agree'])
            self.small_queue.enqueue(t_small[:views[0].shape[0]])
        self.queue.enqueue(t)
        return losses
