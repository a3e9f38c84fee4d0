"""mmengine Runner with linear or square-root learning-rate scaling."""
from typing import Dict, Optional

from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner

from slimselfsup.registry import RUNNERS
from .lr_scaling import lr_scale_factor


@RUNNERS.register_module()
class SelfSupRunner(Runner):
    """The mmengine :class:`~mmengine.runner.Runner` plus a ``mode`` key in
    ``auto_scale_lr``.

    ``auto_scale_lr = dict(enable=True, base_batch_size=256, mode='sqrt')`` scales
    every learning rate by ``sqrt(world_size * batch_size / 256)``; ``mode='linear'``
    (the default) behaves exactly like mmengine's own scaling. The scaled value is
    logged so runs are auditable.
    """

    def scale_lr(self, optim_wrapper: OptimWrapper,
                 auto_scale_lr: Optional[Dict] = None) -> None:
        if not auto_scale_lr or not auto_scale_lr.get('enable', False):
            return
        if 'base_batch_size' not in auto_scale_lr:
            raise KeyError('auto_scale_lr needs `base_batch_size`, the total batch '
                           'size the configured learning rate was tuned for')
        loader = self._train_dataloader
        batch_size = loader.batch_size if hasattr(loader, 'batch_size') \
            else loader['batch_size']
        total = self.world_size * batch_size
        mode = auto_scale_lr.get('mode', 'linear')
        factor = lr_scale_factor(total, auto_scale_lr['base_batch_size'], mode)
        wrappers = optim_wrapper.values() if isinstance(
            optim_wrapper, OptimWrapperDict) else [optim_wrapper]
        for wrapper in wrappers:
            for group in wrapper.optimizer.param_groups:
                group['lr'] *= factor
        self.logger.info(
            f'auto_scale_lr ({mode}): total batch {total} vs base '
            f"{auto_scale_lr['base_batch_size']}, learning rates x{factor:.4g}")
