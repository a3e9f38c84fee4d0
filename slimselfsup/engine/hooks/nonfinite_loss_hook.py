"""Stop training at the first NaN or infinite loss, before anything is saved."""
import math
import os.path as osp
from typing import Optional

import torch
from mmengine.hooks import Hook

from slimselfsup.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when the training loss is NaN or infinite.

    The error names the iteration, the loss terms that are not finite and the last
    checkpoint written before them. It is raised in ``after_train_iter`` ahead of
    ``CheckpointHook`` (priority ``ABOVE_NORMAL`` vs ``VERY_LOW``), so the weights
    updated with non-finite gradients are never saved and the last good checkpoint
    stays the newest one in ``work_dir``; ``--resume`` (e.g. with a lower learning
    rate via ``--cfg-options``) continues from it.

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
        last = runner.message_hub.get_info('last_ckpt')
        last_file = osp.join(runner.work_dir, 'last_checkpoint')
        if last is None and osp.isfile(last_file):
            with open(last_file) as f:
                last = f.read().strip() or None
        where = (f'the last good checkpoint is {last}; resume from it with '
                 f'`--resume {last}` after lowering the learning rate or enabling '
                 'gradient clipping') if last else \
            'no checkpoint was saved before it'
        terms = ', '.join(f'{k}={v}' for k, v in bad.items())
        raise NonFiniteLossError(
            f'non-finite loss at epoch {runner.epoch + 1}, iteration {runner.iter + 1}'
            f' ({terms}); training stopped before saving these weights; {where}.')
