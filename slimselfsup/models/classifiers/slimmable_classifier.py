"""An image classifier that trains and evaluates every width of a slimmable network."""
import inspect
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmpretrain.evaluation import Accuracy
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..losses import soft_cross_entropy
from ..slimmable import set_width

LOSS_MODES = ('ce', 'inplace_distill', 'inplace_distill_mixed')


@MODELS.register_module()
class SlimmableClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` run at every width of a slimmable backbone.

    From `Slimmable Networks for Contrastive Self-supervised Learning
    <https://arxiv.org/abs/2209.15525>`_ (SlimCLR). Each step forwards the batch once
    per width (no sandwich rule, no sampling) and sums the per-width losses, logged
    as ``loss_w{w}``. With ``z_w`` the logits of width ``w``, ``w_0`` the widest
    width of :attr:`widths` and ``lambda_w`` the ``loss_weights``:

    - ``'ce'`` (``main_slim.py`` default): ``sum_w lambda_w CE(z_w, y)``.
    - ``'inplace_distill'``: ``CE(z_w0, y) + sum_{w<w0} softCE(z_w, sg(z_w0))``.
    - ``'inplace_distill_mixed'`` (the switchable linear probe of
      ``main_ssl_lincls.py``): ``CE(z_w0, y) + sum_{w<w0} [alpha softCE(z_w,
      sg(z_w0)) + (1 - alpha) CE(z_w, y)]``; ``alpha = 0.5`` is the reference.

    ``softCE(z, t) = -sum_j softmax(t)_j log softmax(z)_j`` with the teacher
    detached; CE is the head's ``loss`` module. :meth:`predict` scores every width:
    ``pred_score``/``pred_label`` hold ``test_width`` and the data field
    ``width_scores`` (``(num_widths, num_classes)`` softmax scores, rows in
    :attr:`widths` order, also stored as metainfo ``widths``) feeds
    :class:`~slimselfsup.evaluation.SlimmableAccuracy`. ``forward(mode='tensor')``
    and :meth:`extract_feat` run at the current width (see :meth:`set_width`).

    Args:
        backbone (dict | nn.Module): A slimmable backbone with a ``widths``
            attribute, e.g. ``SlimmableResNet``.
        neck (dict, optional): E.g. ``GlobalAveragePooling``.
        head (dict, optional): E.g. :class:`SwitchableLinearClsHead`; its
            ``widths`` default to the backbone's.
        widths (Sequence[float], optional): Widths trained and evaluated, a subset
            of the backbone's. Defaults to all of them, or to the backbone's
            ``width`` when it was built with one (``--cfg-options
            model.backbone.width=0.5``: that width alone, with its own probe; the
            head's ``widths`` follow).
        loss_mode (str): ``'ce'``, ``'inplace_distill'`` or
            ``'inplace_distill_mixed'``. Defaults to ``'ce'``.
        distill_alpha (float): ``alpha`` of ``'inplace_distill_mixed'``.
            Defaults to 0.5.
        loss_weights (Sequence[float], optional): ``lambda_w`` per width, in
            :attr:`widths` order. Defaults to all 1.
        test_width (float, optional): Width whose scores fill ``pred_score``.
            Defaults to the widest.
        **kwargs: ``pretrained``, ``train_cfg``, ``data_preprocessor``,
            ``init_cfg`` of ``ImageClassifier``.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 widths: Optional[Sequence[float]] = None,
                 loss_mode: str = 'ce',
                 distill_alpha: float = 0.5,
                 loss_weights: Optional[Sequence[float]] = None,
                 test_width: Optional[float] = None,
                 **kwargs) -> None:
        if not isinstance(backbone, nn.Module):
            backbone = MODELS.build(backbone)
        all_widths = getattr(backbone, 'widths', None)
        if not all_widths:
            raise TypeError(f'{type(self).__name__} needs a slimmable backbone with a '
                            f'`widths` attribute, got {type(backbone).__name__}')
        selected = getattr(backbone, 'selected_width', None)
        if selected is not None:  # model.backbone.width: this width alone
            if widths is not None and sorted(map(float, widths)) != [selected]:
                raise ValueError(f'model.widths={list(widths)} and model.backbone.width='
                                 f'{selected} disagree; set only model.backbone.width to '
                                 'train and test one width')
            widths = (selected, )
        if isinstance(head, dict) and ('widths' not in head or selected is not None):
            head_cls = head.get('type')
            if isinstance(head_cls, str):
                head_cls = MODELS.get(head_cls)
            if inspect.isclass(head_cls) and \
                    'widths' in inspect.signature(head_cls).parameters:
                head = dict(head, widths=tuple(all_widths if selected is None else widths))
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)

        self.widths = tuple(sorted((float(w) for w in widths or all_widths),
                                   reverse=True))
        unknown = [w for w in self.widths if w not in all_widths]
        if unknown:
            raise ValueError(f'widths {unknown} are not in the backbone\'s width list '
                             f'{list(all_widths)}')
        head_widths = getattr(self.head, 'widths', None)
        if head_widths is not None and not set(self.widths) <= set(head_widths):
            raise ValueError(f'the head has widths {list(head_widths)} but the '
                             f'classifier uses {list(self.widths)}')
        if loss_mode not in LOSS_MODES:
            raise ValueError(f'loss_mode must be one of {LOSS_MODES}, '
                             f'got {loss_mode!r}')
        if not 0.0 <= distill_alpha <= 1.0:
            raise ValueError(f'distill_alpha must be in [0, 1], got {distill_alpha}')
        self.loss_mode = loss_mode
        self.distill_alpha = float(distill_alpha)
        self.loss_weights = tuple(loss_weights) if loss_weights is not None \
            else (1.0, ) * len(self.widths)
        if len(self.loss_weights) != len(self.widths):
            raise ValueError(f'{len(self.loss_weights)} loss_weights for '
                             f'{len(self.widths)} widths {list(self.widths)}')
        self.test_width = float(self.widths[0] if test_width is None else test_width)
        if self.test_width not in self.widths:
            raise ValueError(f'test_width {test_width} is not in {list(self.widths)}')
        self.width = self.widths[0]
        self.set_width(self.width)

    def set_width(self, width: float) -> None:
        """Run the backbone, neck and head at ``width``."""
        set_width(self, width)
        if hasattr(self.backbone, 'set_width'):
            self.backbone.set_width(width)
        self.width = float(width)

    def forward_widths(self, inputs: torch.Tensor) -> Dict[float, torch.Tensor]:
        """Logits of every width in :attr:`widths`, widest first; the model is put
        back at its current width afterwards."""
        current = self.width
        logits = {}
        try:
            for width in self.widths:
                self.set_width(width)
                logits[width] = self.head(self.extract_feat(inputs))
        finally:
            self.set_width(current)
        return logits

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample]) -> dict:
        """Per-width losses ``loss_w{w}`` (summed by mmengine's ``parse_losses``)."""
        logits = self.forward_widths(inputs)
        if 'gt_score' in data_samples[0]:
            target = torch.stack([s.gt_score for s in data_samples])
        else:
            target = torch.cat([s.gt_label for s in data_samples])
        teacher = logits[self.widths[0]]
        losses = {}
        for i, (width, z) in enumerate(logits.items()):
            ce = self.head.loss_module(z, target, avg_factor=z.size(0))
            if i == 0 or self.loss_mode == 'ce':
                loss = ce
            elif self.loss_mode == 'inplace_distill':
                loss = soft_cross_entropy(z, teacher)
            else:
                kd = soft_cross_entropy(z, teacher)
                loss = self.distill_alpha * kd + (1 - self.distill_alpha) * ce
            losses[f'loss_w{width}'] = self.loss_weights[i] * loss
            if getattr(self.head, 'cal_acc', False) and target.ndim == 1:
                acc = Accuracy.calculate(z, target, topk=self.head.topk)
                losses.update({f'acc_w{width}_top-{k}': a[0]
                               for k, a in zip(self.head.topk, acc)})
        return losses

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Softmax scores of every width (see the class docstring)."""
        logits = self.forward_widths(inputs)
        scores = torch.stack([F.softmax(logits[w], dim=1) for w in self.widths], dim=1)
        test = scores[:, self.widths.index(self.test_width)]
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.size(0))]
        for sample, score, all_scores in zip(data_samples, test, scores):
            label = score.argmax(dim=0, keepdim=True)
            sample.set_pred_score(score).set_pred_label(label)
            sample.set_field(all_scores, 'width_scores')
            sample.set_metainfo(dict(widths=self.widths))
        return data_samples


__all__ = ['SlimmableClassifier']
