"""What the CIFAR comparison scripts share: a config shortened to a budget of epochs
and pointed at a data root (or shrunk to a smoke run), and its kNN monitor."""
from typing import Optional

from mmengine.config import Config


def rescale_schedule(cfg: Config, epochs: int) -> None:
    """Set ``max_epochs`` and stretch the epoch-based schedule to it: scheduler
    ``begin``/``end``/``T_max``/``milestones`` and SlimCLR's ``slim_start_epoch``
    keep their fraction of training."""
    scale = epochs / cfg.train_cfg.max_epochs
    cfg.train_cfg.max_epochs = epochs
    for sched in cfg.get('param_scheduler', None) or []:
        if 'begin' in sched:
            sched['begin'] = round(sched['begin'] * scale)
        for key in ('end', 'T_max'):
            if key in sched:
                sched[key] = max(1, round(sched[key] * scale))
        if 'milestones' in sched:
            sched['milestones'] = [round(m * scale) for m in sched['milestones']]
    if cfg.model.get('slim_start_epoch', 0) > 0:
        cfg.model.slim_start_epoch = cfg.model.slim_start_epoch * scale


def point_loaders_at(cfg: Config, data_root: str, smoke_images: Optional[int] = None,
                     smoke_batch: Optional[int] = None) -> None:
    """Set ``data_root`` of every loader (train/val/test and those of hooks);
    with ``smoke_images``, keep only that many images, in batches of ``smoke_batch``,
    read in the main process."""
    loaders = [cfg.train_dataloader] + [cfg[k] for k in ('val_dataloader',
                                                         'test_dataloader')
                                        if cfg.get(k)]
    loaders += [h[k] for h in cfg.get('custom_hooks', []) for k in
                ('train_dataloader', 'val_dataloader') if k in h]
    for loader in loaders:
        loader['dataset']['data_root'] = data_root
        if smoke_images:
            loader['dataset']['indices'] = smoke_images
            loader.update(batch_size=smoke_batch, num_workers=0,
                          persistent_workers=False)

