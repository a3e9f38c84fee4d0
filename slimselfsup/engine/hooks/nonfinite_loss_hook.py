"""Stop training at the first NaN or infinite loss, before anything is saved, and
never save a model state that is not finite."""
import math
import os.path as osp
from typing import Optional

import torch
from mmengine.hooks import Hook
from torch import nn

from slimselfsup.registry import HOOKS

#: Largest magnitude a good parameter or buffer may hold: beyond it, squaring
#: overflows float32 (BN variances, gradient norms, LARS trust ratios), so such a
#: state has diverged as surely as one holding inf.
MAX_ABS = math.sqrt(torch.finfo(torch.float32).max)  # 1.8e19


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


class NonFiniteStateError(FloatingPointError):
    """A parameter or buffer of the model is NaN, infinite or diverged; the
    checkpoint that would have held it was not written."""


def first_bad_tensor(model: nn.Module) -> Optional[str]:
    """The first floating-point entry of ``model.state_dict()`` holding NaN, inf
    or a magnitude above :data:`MAX_ABS`, described, or None if there is none.

    Cheap enough for every save: one fused max-abs reduction over all tensors
    (``torch._foreach_norm(ord=inf)``, NaN-propagating) and a single host sync;
    the per-tensor details are computed only when something is wrong.
    """
    named = [(k, v) for k, v in model.state_dict().items()
             if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel()]
    if not named:
        return None
    peaks = torch._foreach_norm([v for _, v in named], math.inf, dtype=torch.float32)
    device = peaks[0].device
    peaks = torch.stack([p if p.device == device else p.to(device) for p in peaks])
    good = peaks <= MAX_ABS  # False for NaN
    if bool(good.all()):
        return None
    index = int((~good).nonzero()[0])
    name, value = named[index]
    nan, inf = int(value.isnan().sum()), int(value.isinf().sum())
    if nan or inf:
        return f'{name} holds {nan} NaN and {inf} inf of {value.numel()} values'
    return (f'{name} holds values up to {float(peaks[index]):.3g}, beyond {MAX_ABS:.2g} '
            '(squaring them overflows float32: training has diverged)')


def last_checkpoint(runner) -> Optional[str]:
    """The newest checkpoint written: ``work_dir/last_checkpoint`` (CheckpointHook
    writes it after each completed save), else the message hub's ``last_ckpt`` if
    that file exists (the hook sets it *before* saving)."""
    last_file = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(last_file):
        with open(last_file) as f:
            last = f.read().strip()
        if last:
            return last
    last = runner.message_hub.get_info('last_ckpt')
    return last if last and ('://' in last or osp.isfile(last)) else None


def resume_advice(runner) -> str:
    """What to do after divergence: the command that resumes from the last good
    checkpoint with a tenth of the configured learning rate (a learning rate given
    at resume replaces the checkpoint's, see ``SelfSupRunner.resume``)."""
    last = last_checkpoint(runner)
    config = getattr(runner.cfg, 'filename', None) or 'CONFIG'
    lr = runner.cfg.get('optim_wrapper', {}).get('optimizer', {}).get('lr')
    option = (f' --cfg-options optim_wrapper.optimizer.lr={lr / 10:g}'
              if isinstance(lr, (int, float)) else
              ' --cfg-options optim_wrapper.optimizer.lr=LOWER_LR')
    if last:
        return (f'the last good checkpoint is {last}; resume from it with a lower '
                f'learning rate: `python tools/train.py {config} --resume {last}'
                f'{option}`')
    return (f'no checkpoint was saved before it; restart with a lower learning rate: '
            f'`python tools/train.py {config}{option}`')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when the training loss is NaN or infinite.

    The error names the iteration, the loss terms that are not finite and the last
    checkpoint written before them. It is raised in ``after_train_iter`` ahead of
    ``CheckpointHook`` (priority ``ABOVE_NORMAL`` vs ``VERY_LOW``), so the weights
    updated with non-finite gradients are never saved and the last good checkpoint
    stays the newest one in ``work_dir``; the message gives the command that
    resumes from it with a lower learning rate. (A damaged state with a finite
    loss is caught when it would be saved: ``SelfSupRunner.save_checkpoint``
    raises :class:`NonFiniteStateError`.)

    Cost: mmengine's ``RuntimeInfoHook`` already copies every logged loss to the
    host (``tensor.item()``) each iteration to fill the message hub, so this hook
    only reads those Python floats: no extra device synchronisation. Without
    ``RuntimeInfoHook`` it checks the loss tensors itself every ``interval``
    iterations (one host sync each time), so it may notice a non-finite loss up to
    ``interval - 1`` iterations late (a checkpoint saved in between would hold the
    damaged weights; keep ``interval`` a divisor of the checkpoint interval).

    Args:
        interval (int): Check interval in iterations when the message hub has no
            loss values. Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1) -> None:
        if interval < 1:
            raise ValueError(f'NonFiniteLossHook: interval must be >= 1, got {interval}')
        self.interval = interval

    def _bad_terms(self, runner, outputs: Optional[dict]) -> dict:
        hub = runner.message_hub
        keys = [k for k in (outputs or {}) if 'loss' in k]
        values = {}
        for key in keys:
            buffer = hub.log_scalars.get(f'train/{key}')
            if buffer is not None:
                try:
                    values[key] = float(buffer.current())
                except ValueError:  # empty buffer
                    pass
        missing = [k for k in keys if k not in values]
        if missing and self.every_n_train_iters(runner, self.interval):
            for key in missing:
                value = outputs[key]
                values[key] = float(value.detach().float().mean()) if isinstance(
                    value, torch.Tensor) else float(value)
        return {k: v for k, v in values.items() if not math.isfinite(v)}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        """Raise when a loss term of this iteration is not finite.

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch.
            outputs (dict, optional): The loss terms returned by ``train_step``.
        """
        bad = self._bad_terms(runner, outputs)
        if not bad:
            return
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        raise NonFiniteLossError(
            f'non-finite loss at epoch {runner.epoch + 1}, iteration {runner.iter + 1}'
            f' ({terms}); training stopped before saving these weights; '
            f'{resume_advice(runner)}.')
