"""What the CIFAR comparison scripts share: a config shortened to a budget of epochs
and pointed at a data root (or shrunk to a smoke run), and its kNN monitor.

A data root may also be a CIFAR pack (``.npz`` of
``tools/dataset_converters/pack_cifar_for_gpu.py``, what travels to a GPU machine):
recipes with a two-view CPU pipeline then train on the GPU data path (the images
decoded once into device memory, the same views made on the device), the others read
the pack unpacked into class folders once.
"""
import os
import os.path as osp
import tempfile
from typing import Optional

import numpy as np
from mmengine.config import Config

from slimselfsup.models.data_preprocessors import views_from_pipeline


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
    read in the main process. A ``.npz`` pack moves two-view recipes to the GPU data
    path (:func:`use_gpu_data`) and gives the others its unpacked folders."""
    if data_root.endswith('.npz'):
        try:
            views = views_from_pipeline(cfg.train_dataloader.dataset.pipeline)
        except ValueError:
            data_root = unpack_cifar(data_root)
        else:
            use_gpu_data(cfg, data_root, views, smoke_images, smoke_batch)
            return
    for loader in _loaders(cfg):
        loader['dataset']['data_root'] = data_root
        if smoke_images:
            loader['dataset']['indices'] = smoke_images
            loader.update(batch_size=smoke_batch, num_workers=0,
                          persistent_workers=False)


def _loaders(cfg: Config) -> list:
    loaders = [cfg.train_dataloader] + [cfg[k] for k in ('val_dataloader',
                                                         'test_dataloader')
                                        if cfg.get(k)]
    return loaders + [h[k] for h in cfg.get('custom_hooks', []) for k in
                      ('train_dataloader', 'val_dataloader') if k in h]


def use_gpu_data(cfg: Config, pack: str, views: list,
                 smoke_images: Optional[int] = None,
                 smoke_batch: Optional[int] = None) -> None:
    """Train a CIFAR recipe on the GPU data path: ``CIFARTensorDataset`` (the pack
    decoded once on the device, BGR) for training and for the kNN monitor, and
    ``GPUMultiViewDataPreprocessor`` with ``views`` (those of the CPU pipeline) and
    the recipe's mean and std."""
    pre = dict(cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor'))
    cfg.model.data_preprocessor = dict(type='GPUMultiViewDataPreprocessor',
                                       mean=pre['mean'], std=pre['std'], to_rgb=True,
                                       views=views)
    cfg.data_preprocessor = cfg.model.data_preprocessor
    for loader in _loaders(cfg):
        split = 'test' if loader is not cfg.train_dataloader and (
            loader['dataset'].get('data_prefix') == 'test'
            or loader['dataset'].get('split') == 'test') else 'train'
        loader['dataset'] = dict(type='CIFARTensorDataset', data_root=pack,
                                 split=split, pipeline=[],
                                 indices=smoke_images or None)
        loader.update(num_workers=0, persistent_workers=False,
                      collate_fn=dict(type='pre_batched_collate'))
        if smoke_images:
            loader['batch_size'] = smoke_batch


def unpack_cifar(pack: str, dst: Optional[str] = None) -> str:
    """Write a pack's JPEGs to ``<dst>/<split>/<class>/<n>.jpg`` once (the files
    are the packed ones, byte for byte); returns ``dst``."""
    if dst is None:  # one folder per pack file (name, size and time)
        stat = os.stat(pack)
        dst = osp.join(tempfile.gettempdir(), 'slimselfsup_unpacked',
                       f'{osp.splitext(osp.basename(pack))[0]}-{stat.st_size}-'
                       f'{stat.st_mtime_ns}')
    done = osp.join(dst, '.complete')
    if osp.isfile(done):
        return dst
    with np.load(pack, allow_pickle=False) as arrays:
        classes = [str(c) for c in arrays['classes']]
        for split in [k[:-len('_offsets')] for k in arrays.files
                      if k.endswith('_offsets')]:
            data = arrays[f'{split}_bytes'].tobytes()
            offsets = arrays[f'{split}_offsets']
            labels = arrays[f'{split}_labels']
            for cls in classes:
                os.makedirs(osp.join(dst, split, cls), exist_ok=True)
            for i, label in enumerate(labels):
                with open(osp.join(dst, split, classes[label], f'{i:05d}.jpg'),
                          'wb') as f:
                    f.write(data[offsets[i]:offsets[i + 1]])
    open(done, 'w').close()
    return dst
