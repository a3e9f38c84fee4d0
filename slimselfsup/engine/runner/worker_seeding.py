"""Dataloader workers seeded per epoch, so that ``--resume`` is exact with workers.

mmengine seeds each worker once, when it starts, with ``seed + worker_id + rank *
num_workers``. Non-persistent workers restart every epoch, so every epoch's random
streams equal the first one's (the same crop parameters for the k-th sample a
worker loads, every epoch). Persistent workers (``persistent_workers=True``) carry
their generators across epochs, and a resumed run's fresh workers cannot: its
augmentations differ from the uninterrupted run's, and no checkpoint can capture
generators that live in other processes.

:func:`seed_workers_per_epoch` makes the generators a function of the epoch
instead: the sampler's ``set_epoch`` (called by ``DistSamplerSeedHook`` before
every epoch, and with the restored epoch after a resume) writes the epoch into
shared memory, and each worker re-seeds Python's, numpy's and torch's generators
from ``(seed, epoch, rank, worker_id)`` before the first batch it loads in a new
epoch. Workers get their batches round-robin from worker 0 in every epoch, so an
uninterrupted and a resumed run load every batch with the same random numbers.

The data loader also gets a generator of its own: each new iterator draws a base
seed from it, which would otherwise come from the global torch generator, once per
epoch with non-persistent workers but only once per run with persistent ones
(shifting the main process's draws, e.g. MoCo's shuffle-BN permutation, after a
resume).
"""
import multiprocessing
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from torch.utils.data import DataLoader, get_worker_info


def worker_seed(seed: int, epoch: int, rank: int, worker_id: int) -> int:
    """The 64-bit seed of worker ``worker_id`` of ``rank`` in ``epoch``."""
    words = np.random.SeedSequence([seed, epoch, rank, worker_id]).generate_state(2)
    return int(words[0]) | (int(words[1]) << 32)


class _ReseedingFetch:
    """Stands in for the data set's ``__getitems__`` inside a worker: re-seeds the
    generators when the shared epoch changed, then fetches the batch."""

    def __init__(self, dataset, epoch, seed: int, rank: int, worker_id: int) -> None:
        self.getitems = getattr(dataset, '__getitems__', None)
        self.dataset, self.epoch = dataset, epoch
        self.seed, self.rank, self.worker_id = seed, rank, worker_id
        self.seen: Optional[int] = None

    def __call__(self, indices):
        epoch = self.epoch.value
        if epoch != self.seen:
            self.seen = epoch
            s = worker_seed(self.seed, epoch, self.rank, self.worker_id)
            random.seed(s)
            np.random.seed(s & 0xFFFFFFFF)
            torch.manual_seed(s)
        if self.getitems is not None:
            return self.getitems(indices)
        return [self.dataset[i] for i in indices]


class _WorkerInit:
    """``worker_init_fn``: mmengine's seeding, then the per-epoch re-seeding."""

    def __init__(self, init_fn, epoch, seed: int, rank: int) -> None:
        self.init_fn, self.epoch, self.seed, self.rank = init_fn, epoch, seed, rank

    def __call__(self, worker_id: int) -> None:
        if self.init_fn is not None:
            self.init_fn(worker_id)
        dataset = get_worker_info().dataset
        # torch's map-style fetcher calls `dataset.__getitems__` when it exists
        dataset.__getitems__ = _ReseedingFetch(dataset, self.epoch, self.seed,
                                               self.rank, worker_id)


def _publishing_set_epoch(set_epoch, shared):
    def wrapped(epoch: int, *args, **kwargs):
        shared.value = int(epoch)
        return set_epoch(epoch, *args, **kwargs)
    return wrapped


def seed_workers_per_epoch(loader: DataLoader, seed: Optional[int]) -> DataLoader:
    """Seed ``loader``'s workers from the epoch (see the module docstring).

    Args:
        loader (DataLoader): A loader built by mmengine's ``build_dataloader`` with
            its default ``worker_init_fn``.
        seed (int, optional): The run's seed; None leaves the loader as it is.

    Returns:
        DataLoader: ``loader``, changed in place.
    """
    if seed is None:
        return loader
    loader.generator = torch.Generator().manual_seed(int(seed))
    if loader.num_workers == 0:
        return loader
    samplers = [s for s in (loader.sampler, getattr(loader.batch_sampler, 'sampler',
                                                    None)) if hasattr(s, 'set_epoch')]
    context = loader.multiprocessing_context
    if isinstance(context, str):
        context = multiprocessing.get_context(context)
    shared = (context or multiprocessing).Value(
        'q', int(getattr(samplers[0], 'epoch', 0)) if samplers else 0, lock=False)
    for sampler in {id(s): s for s in samplers}.values():
        sampler.set_epoch = _publishing_set_epoch(sampler.set_epoch, shared)
    loader.worker_init_fn = _WorkerInit(loader.worker_init_fn, shared, int(seed),
                                        get_rank())
    return loader
