"""Checks that the training data fits the run, made before the first iteration.

A data loader that yields no batch per epoch would make an epoch-based run finish
with zero iterations and save untrained checkpoints (or fail in a parameter
scheduler with an unrelated assertion); batches that do not fit a MoCo-style queue
would fail after a whole epoch with a shape error. ``SelfSupRunner.build_train_loop``
calls both checks.
"""
from typing import Optional

from mmengine.dataset import InfiniteSampler
from mmengine.model import is_model_wrapper
from torch import nn
from torch.utils.data import DataLoader

from slimselfsup.models.utils import FeatureQueue


def empty_loader_problem(loader: DataLoader, world_size: int = 1,
                         name: str = 'train_dataloader') -> Optional[str]:
    """Why ``loader`` yields no batch in a pass over its data, or None.

    Loaders on an :class:`~mmengine.dataset.InfiniteSampler` never run dry and
    iterable data sets have no length; both are fine.
    """
    batch_sampler = loader.batch_sampler
    sampler = getattr(batch_sampler, 'sampler', loader.sampler)
    if isinstance(sampler, InfiniteSampler):
        return None
    try:
        if len(loader) > 0:
            return None
        per_rank = len(sampler)
    except TypeError:
        return None
    size = len(loader.dataset)
    batch_size = getattr(batch_sampler, 'batch_size', loader.batch_size)
    drop_last = getattr(batch_sampler, 'drop_last', loader.drop_last)
    ranks = f' ({per_rank} per process on {world_size} processes)' \
        if world_size > 1 else ''
    fix = (f'lower {name}.batch_size to at most {per_rank}, or use a larger data set'
           if size else f'check {name}.dataset (data_root, ann_file, indices)')
    return (f'{name} yields no batch per epoch: its data set has {size} samples'
            f'{ranks}, batch_size={batch_size} and drop_last={drop_last}, so '
            'training would run zero iterations and save untrained checkpoints. '
            f'{fix.capitalize()}.')


def check_queue_batches(model: nn.Module, loader, world_size: int) -> None:
    """Check, before training, that every batch fits the model's feature queues.

    A :class:`~slimselfsup.models.utils.FeatureQueue` (MoCo, SlimCLR-MoCo, SEED)
    writes each global batch of keys at its pointer, as MoCo does: its length must
    be a multiple of the global batch size, and a partial last batch
    (``drop_last=False``) would leave the pointer between two batch slots, so that
    a later full batch no longer fits. Without this check such runs fail after a
    whole epoch with a shape error.

    Args:
        model (nn.Module): The (possibly wrapped) model.
        loader: The train dataloader.
        world_size (int): Number of processes.

    Raises:
        ValueError: Naming the queue length, batch size, world size, data set size
            and ``drop_last``, and what to change.
    """
    module = model.module if is_model_wrapper(model) else model
    queues = [(name, m) for name, m in module.named_modules()
              if isinstance(m, FeatureQueue)]
    batch = getattr(loader, 'batch_size', None)
    if not queues or not batch:  # no queue, or a custom batch sampler
        return
    full = world_size * batch
    sampler, per_rank, last = loader.sampler, 0, 0
    if not loader.drop_last and not isinstance(sampler, InfiniteSampler) and \
            hasattr(sampler, '__len__'):
        per_rank = len(sampler)
        last = per_rank % batch
    for name, queue in queues:
        where = (f'{type(module).__name__}: the queue `{name}` (model.queue_len='
                 f'{queue.length})')
        if queue.length % full:
            raise ValueError(
                f'{where} must be a multiple of the global batch size, batch_size='
                f'{batch} x {world_size} process(es) = {full}. Change model.queue_len '
                'or train_dataloader.batch_size so that they divide evenly.')
        if last:
            raise ValueError(
                f'{where} takes whole global batches of {full} keys, but the last '
                f'batch of every epoch holds {last} x {world_size} process(es) = '
                f'{last * world_size}: train_dataloader.drop_last=False keeps the '
                f'{last} samples per process that batch_size={batch} leaves of '
                f'{per_rank} ({len(loader.dataset)} in the data set), and the queue '
                'pointer would no longer line up with the batches. Set '
                'train_dataloader.drop_last=True (as MoCo does), or a batch size that '
                'divides the samples per process.')
