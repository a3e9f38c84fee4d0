"""Distributed runs without CUDA: gloo process group and DDP on the CPU model.

mmengine's pytorch launcher calls ``torch.cuda.set_device``, and its DDP wrapper
passes ``device_ids``, so ``tools/dist_train.sh`` fails on a machine without GPUs.
With these two functions (``SelfSupRunner.setup_env`` and ``wrap_model``) multi-process
runs, and their tests, work on a laptop exactly as they do on GPUs.
"""
import datetime
import os
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS
from torch import nn


def init_gloo_process_group(env_cfg: Dict) -> None:
    """Start the process group of a ``--launcher pytorch`` run on gloo, with the
    timeout of ``env_cfg.dist_cfg`` (torchrun sets ``RANK`` and ``WORLD_SIZE``)."""
    dist_cfg = dict(env_cfg.get('dist_cfg', {}))
    kwargs = {}
    if dist_cfg.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **kwargs)


def init_distributed(launcher: str, env_cfg: Optional[Dict] = None) -> None:
    """Start the process group as the Runner does, for code that runs before or
    without one (``tools/pipeline.py``'s kNN stage); nothing for ``'none'`` or when
    it is already started. Without CUDA, ``'pytorch'`` (torchrun) starts gloo.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        env_cfg (dict, optional): The config's ``env_cfg`` (its ``dist_cfg``).
    """
    if launcher == 'none' or (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    if launcher == 'pytorch' and not torch.cuda.is_available():
        init_gloo_process_group(env_cfg or {})
    else:
        from mmengine.dist import init_dist
        init_dist(launcher, **dict((env_cfg or {}).get('dist_cfg', {})))


def wrap_cpu_ddp(model: nn.Module, model_wrapper_cfg: Optional[Dict],
                 find_unused_parameters: bool = False) -> nn.Module:
    """Wrap a CPU model for DDP: SyncBN layers revert to BN (they need CUDA), no
    ``device_ids``; mmengine's defaults otherwise."""
    model = revert_sync_batchnorm(model)
    cfg = dict(model_wrapper_cfg or dict(type='MMDistributedDataParallel'))
    wrapper = MODEL_WRAPPERS.get(cfg.pop('type', 'MMDistributedDataParallel'))
    if wrapper is MMDistributedDataParallel and model_wrapper_cfg is None:
        cfg.update(broadcast_buffers=False, find_unused_parameters=find_unused_parameters)
    return wrapper(module=model, **cfg)
