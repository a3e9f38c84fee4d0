"""mmengine Runner with linear or square-root LR scaling and CPU-safe DDP."""
import datetime
import os
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed
from mmengine.model import (MMDistributedDataParallel, is_model_wrapper,
                            revert_sync_batchnorm)
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from torch import nn

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

    Without CUDA, ``--launcher pytorch`` (``tools/dist_train.sh``) runs on gloo,
    SyncBN falls back to BN and DDP wraps the CPU model, so multi-process runs
    (and their tests) work on a laptop exactly as they do on GPUs.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        if (self.distributed and not is_distributed() and self.launcher == 'pytorch'
                and not torch.cuda.is_available()):
            # mmengine's launcher calls torch.cuda.set_device, which fails here.
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            kwargs = {}
            if dist_cfg.get('timeout') is not None:
                kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
            torch_dist.init_process_group(
                backend='gloo', rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']), **kwargs)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        if not self.distributed or torch.cuda.is_available() or is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        self.logger.info('CPU distributed run: SyncBN layers revert to BN and DDP '
                         'wraps the CPU model (no device_ids).')
        model = revert_sync_batchnorm(model)
        cfg = dict(model_wrapper_cfg or dict(type='MMDistributedDataParallel'))
        wrapper = MODEL_WRAPPERS.get(cfg.pop('type', 'MMDistributedDataParallel'))
        if wrapper is MMDistributedDataParallel and model_wrapper_cfg is None:
            cfg.update(broadcast_buffers=False, find_unused_parameters=self.cfg.get(
                'find_unused_parameters', False))
        return wrapper(module=model, **cfg)

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
