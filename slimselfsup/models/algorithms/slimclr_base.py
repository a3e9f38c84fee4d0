"""What the three SlimCLR algorithms share: widths, slow start, distillation, weights.

SlimCLR is `Slimmable Networks for Contrastive Self-supervised Learning
<https://arxiv.org/abs/2209.15525>`_ (Zhao et al., IJCV 2024). One slimmable
encoder holds a full network and its narrower sub-networks (leading channel slices,
private BNs). Every iteration (after the *slow start*) all widths are trained on the
same batch against the same candidates, which come from the full width only (MoCo:
the momentum encoder at full width and its queue). Two techniques counter the
gradient imbalance between the weight-sharing networks:

* online distillation: each sub-network's contrastive logits are pulled towards the
  (detached) full network's logits over the same candidates with a soft
  cross-entropy, ``(1 - alpha) * L_ctr(w) + alpha * L_kd(w)``;
* loss re-weighting by model size: the full width's loss gets a larger weight.
"""
from numbers import Number
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MessageHub

from slimselfsup.registry import MODELS
from ..slimmable import set_width

Terms = List[Tuple[torch.Tensor, torch.Tensor]]


#: Named loss-weight modes and the reference's ``--slim_loss_weighted`` integer
#: for each; either spelling is accepted.
LOSS_WEIGHT_MODES = {
    'equal': 0,                # all 1
    'width_share': 1,          # w / sum(w): the weights sum to 1
    'width': 2,                # w
    'width_normalized': 3,     # w / sum(w) * n: the weights average 1
    'full_plus_others': 5,     # full width 1 + sum of the other widths, others 1
    'narrower_sum': 6,         # 1 + sum of the narrower widths, averaging 1
    'full_plus_second': 7,     # full width 1 + the second largest width, others 1
}


def slim_loss_weights(mode: Union[str, int, Sequence[float]],
                      widths: Sequence[float]) -> List[float]:
    """Per-width loss weights, the reference's ``--slim_loss_weighted`` modes.

    Args:
        mode (str | int | Sequence[float]): A name of :data:`LOSS_WEIGHT_MODES` or the
            reference's integer for it. ``'equal'`` (0): all 1. ``'width_share'``
            (1): ``w / sum(w)``. ``'width'`` (2): ``w``. ``'width_normalized'`` (3):
            ``w / sum(w) * n``. ``'full_plus_others'`` (5): the full width gets
            ``1 + sum(w) - max(w)``, the others 1 (SlimCLR's choice: (2.5, 1, 1, 1)
            for widths (1, .75, .5, .25)). ``'narrower_sum'`` (6):
            ``sum(w) - cumsum(w) + 1``, renormalised to sum to ``n``.
            ``'full_plus_second'`` (7): the full width gets ``1 + second largest w``,
            the others 1. Modes 1, 3 and 6 are rounded to 3 decimals as in the
            reference. A sequence gives the weights directly.
        widths (Sequence[float]): The widths, descending.

    Returns:
        list[float]: One weight per width, in the order of ``widths``.
    """
    widths = [float(w) for w in widths]
    n, total, top = len(widths), sum(widths), max(widths)
    if isinstance(mode, str):
        if mode not in LOSS_WEIGHT_MODES:
            raise ValueError(f'unknown loss weight mode {mode!r}; use one of '
                             f'{sorted(LOSS_WEIGHT_MODES)} (or the reference\'s '
                             'integer for it) or a list with one weight per width')
        mode = LOSS_WEIGHT_MODES[mode]
    elif not isinstance(mode, Number):
        weights = [float(x) for x in mode]
        if len(weights) != n:
            raise ValueError(f'got {len(weights)} loss weights for {n} widths')
        return weights
    if mode == 0:
        return [1.0] * n
    if mode == 1:
        return [round(w / total, 3) for w in widths]
    if mode == 2:
        return widths
    if mode == 3:
        return [round(w / total * n, 3) for w in widths]
    if mode == 5:
        return [1.0 + total - top if w == top else 1.0 for w in widths]
    if mode == 6:
        raw = [total - sum(widths[:i + 1]) + 1.0 for i in range(n)]
        return [round(r / sum(raw) * n, 3) for r in raw]
    if mode == 7:
        if n < 2:
            raise ValueError('loss weight mode 7 needs at least two widths')
        return [1.0 + sorted(widths)[-2] if w == top else 1.0 for w in widths]
    raise ValueError(f'unknown loss weight mode {mode!r}; use one of '
                     f'{sorted(LOSS_WEIGHT_MODES)}, their reference integers '
                     f'{sorted(LOSS_WEIGHT_MODES.values())} or a list with one weight '
                     'per width')


class SlimCLRMixin:
    """Mixed into a contrastive algorithm (before it in the bases) to train all
    widths of its slimmable encoder, as SlimCLR does.

    The algorithm's ``loss`` computes its full-width targets once and hands
    :meth:`slim_loss` a function that, for the width the online network has been
    set to, returns its terms: tuples of the arguments of ``self.head.loss`` (the
    ``(pos, neg)`` similarity pairs of a contrastive head; SlimSEED's
    ``(student, teacher, queue)``). The returned dict has the weighted total as
    ``loss`` and, per trained width ``w``, ``{term_name}_w{w}`` (the head's loss,
    ``ctr_w{w}`` for the contrastive algorithms) and ``kd_w{w}`` (the distillation
    loss of a sub-width): names without "loss", so mmengine logs them without adding
    them to the total.

    Slow start: while the fractional epoch ``iter * max_epochs / max_iters`` (from
    mmengine's MessageHub, kept by ``RuntimeInfoHook``) is below
    ``slim_start_epoch``, only the full width is forwarded and trained (weight 1); the
    sub-width-only parameters get no gradient, so DDP needs
    ``find_unused_parameters=True``. Without runner information (a bare call) the
    epoch counts as 0. With an ``IterBasedTrainLoop`` (``max_epochs`` = 1) give
    ``slim_start_epoch`` as a fraction of training.

    Args:
        widths (Sequence[float], optional): Widths to train; the largest must be the
            backbone's full width. Defaults to None (all of the backbone's widths).
        slim_start_epoch (float): Epoch from which the sub-networks train; <= 0
            trains them from the first step. Defaults to -1.
        distill (bool): Whether sub-networks distil from the full width.
            Defaults to True.
        distill_alpha (float): ``alpha`` of ``(1 - alpha) * L_ctr + alpha * L_kd``;
            ignored without distillation. Defaults to 0.5.
        distill_loss (dict, optional): Config of the distillation loss, called as
            ``loss(student_logits, teacher_logits)``. Defaults to None, meaning
            ``SoftDistillLoss`` at the algorithm's default temperature.
        loss_weights (str | int | Sequence[float]): A :func:`slim_loss_weights` mode
            (name or the reference's integer) or explicit weights, applied once
            sub-networks train. Defaults to ``'full_plus_others'`` (mode 5).
    """

    #: Teacher and student temperature of the default distillation loss.
    default_distill_temperature: float = 5.0
    #: Name of the head's per-width loss in the logs (``ctr_w1.0``, ...).
    term_name: str = 'ctr'

    def __init__(self,
                 *args,
                 widths: Optional[Sequence[float]] = None,
                 slim_start_epoch: float = -1.0,
                 distill: bool = True,
                 distill_alpha: float = 0.5,
                 distill_loss: Optional[dict] = None,
                 loss_weights: Union[str, int, Sequence[float]] = 'full_plus_others',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        available = tuple(getattr(self.backbone, 'widths', ()))
        if not available:
            raise TypeError(f'{type(self).__name__} needs a slimmable backbone with a '
                            f'`widths` list, got {type(self.backbone).__name__}')
        widths = available if widths is None else tuple(
            sorted((float(w) for w in widths), reverse=True))
        if not set(widths) <= set(available) or widths[0] != max(available):
            raise ValueError(f'widths {list(widths)} must be a subset of the backbone '
                             f'widths {list(available)} including the full width')
        if not 0.0 <= distill_alpha <= 1.0:
            raise ValueError(f'distill_alpha must be in [0, 1], got {distill_alpha}')
        self.widths = widths
        self.slim_start_epoch = float(slim_start_epoch)
        self.distill = bool(distill)
        self.distill_alpha = float(distill_alpha) if self.distill else 0.0
        if distill_loss is None:
            t = self.default_distill_temperature
            distill_loss = dict(type='SoftDistillLoss', teacher_temperature=t,
                                student_temperature=t)
        self.distill_loss = MODELS.build(distill_loss) if self.distill else None
        self.loss_weights = slim_loss_weights(loss_weights, widths)

    def set_width(self, width: float) -> None:
        """Run the online network (backbone, neck, predictor) at ``width``.

        The momentum encoder, if any, is left alone: it always runs at full width.
        """
        for name in ('backbone', 'neck', 'predictor'):
            module = getattr(self, name, None)
            if module is not None:
                set_width(module, width)

    def current_epoch(self) -> float:
        """Fractional epoch ``iter * max_epochs / max_iters`` from the MessageHub."""
        hub = MessageHub.get_current_instance()
        it, max_iters, max_epochs = (hub.get_info(key)
                                     for key in ('iter', 'max_iters', 'max_epochs'))
        if it is None or not max_iters or not max_epochs:
            return 0.0
        return it * max_epochs / max_iters

    def slim_active(self) -> bool:
        """Whether the sub-networks train now (slow start is over)."""
        return self.slim_start_epoch <= 0 or \
            self.current_epoch() >= self.slim_start_epoch

    def kd_logits(self, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """Logits that are distilled, from one term: by default the raw similarities
        ``[pos, neg]`` (MoCo v2 and SimCLR in the reference)."""
        return torch.cat([pos, neg], dim=1)

    def slim_loss(self,
                  width_terms: Callable[[float], Terms]) -> Dict[str, torch.Tensor]:
        """Sum the losses of all widths that train now.

        Args:
            width_terms (Callable[[float], list]): Called once per width after the
                online network was set to it; returns the terms, each a tuple of the
                arguments of ``self.head.loss`` and of :meth:`kd_logits`, e.g.
                ``[(pos, neg), ...]`` (one pair per contrast direction) over the same
                candidates at every width.

        Returns:
            dict[str, torch.Tensor]: ``loss`` and the per-width monitored values.
        """
        active = self.slim_active()
        logs: Dict[str, torch.Tensor] = {}
        total, teacher = 0.0, None
        try:
            for i, width in enumerate(self.widths if active else self.widths[:1]):
                self.set_width(width)
                terms = width_terms(width)
                ctr = sum(self.head.loss(*args)['loss'] for args in terms)
                logs[f'{self.term_name}_w{width}'] = ctr.detach()
                term = ctr
                if i == 0 and active and self.distill:
                    teacher = [self.kd_logits(*args).detach() for args in terms]
                elif i > 0 and self.distill:
                    kd = sum(self.distill_loss(self.kd_logits(*args), t)
                             for args, t in zip(terms, teacher))
                    logs[f'kd_w{width}'] = kd.detach()
                    term = (1 - self.distill_alpha) * ctr + self.distill_alpha * kd
                total = total + (self.loss_weights[i] if active else 1.0) * term
        finally:
            self.set_width(self.widths[0])
        return dict(loss=total, **logs)
