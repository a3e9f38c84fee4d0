"""Saving and restoring the random number generators with every checkpoint."""
import random
import warnings
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import IterBasedTrainLoop

from slimselfsup.registry import HOOKS


def get_rng_state() -> dict:
    """The states of Python's, numpy's and torch's global generators of this process.

    Everything is stored as plain Python values and tensors, so the checkpoint still
    loads with ``torch.load(weights_only=True)``.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and ``cuda`` (a list, empty without
        CUDA) states.
    """
    np_state = np.random.get_state(legacy=False)
    np_state['state']['key'] = torch.from_numpy(
        np_state['state']['key'].astype(np.int64))
    return dict(
        python=random.getstate(),
        numpy=np_state,
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])


def set_rng_state(state: dict) -> None:
    """Restore the generators from a :func:`get_rng_state` result.

    Args:
        state (dict): As returned by :func:`get_rng_state`, possibly after a
            round trip through ``torch.save``/``torch.load``.
    """
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np_state = dict(state['numpy'])
    np_state['state'] = dict(np_state['state'])
    np_state['state']['key'] = np.asarray(np_state['state']['key'], dtype=np.uint32)
    np.random.set_state(np_state)
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda') or []
    if cuda and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])
        else:
            warnings.warn(f'RNGStateHook: the checkpoint holds {len(cuda)} CUDA '
                          f'generator states but {torch.cuda.device_count()} '
                          'devices are visible; CUDA generators are not restored')


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make resumed training draw the same random numbers as uninterrupted training.

    mmengine's ``Runner.resume`` restores weights, optimiser, schedulers and the
    message hub, but not the random generators: after ``--resume`` they restart
    from the seed, so random augmentations (crops, flips, colour jitter run in the
    main process when ``num_workers=0``) and torch draws in the model (e.g. MoCo's
    shuffle-BN permutation) differ from those of a run that was never stopped.

    This hook stores the states of Python's ``random``, numpy's and torch's (CPU and
    CUDA) global generators of every rank in each checkpoint, under
    ``checkpoint['rng_state']`` (a list indexed by rank), and restores this rank's
    entry when training resumes. Restoring happens in ``after_load_checkpoint`` and
    again in ``before_train``, because ``Runner.resume`` re-seeds the generators
    after loading when the checkpoint's seed differs from the configured one (e.g.
    ``randomness=dict(seed=None)``). Checkpoints loaded with ``load_from`` but
    without ``resume`` (initialisation from another run) leave the generators
    alone.

    With this hook an epoch-based run resumed from an end-of-epoch checkpoint
    reproduces the uninterrupted run exactly (on deterministic kernels).
    Dataloader worker processes (``num_workers > 0``) have generators of their own,
    which no checkpoint captures; ``SelfSupRunner`` re-seeds them from the epoch
    instead (:mod:`slimselfsup.engine.runner.worker_seeding`).
    ``IterBasedTrainLoop`` re-runs the pipeline over the batches it skips on resume
    (drawing random numbers); the generators are restored again after that skip,
    right before the first new batch is loaded.
    A checkpoint saved with a different world size restores no generator (with a
    warning).

    Example:
        >>> custom_hooks = [dict(type='RNGStateHook')]
    """

    # runs before CheckpointHook (VERY_LOW), so states are gathered before saving
    priority = 'LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._gathered: Optional[tuple] = None  # (iter, states of all ranks)
        self._ckpt_hook: Optional[CheckpointHook] = None

    def _gather(self, runner) -> None:
        self._gathered = (runner.iter, all_gather_object(get_rng_state()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Gather all ranks' states at the iterations an iter-based checkpoint is
        saved (only rank 0 runs ``save_checkpoint``, so it cannot gather there)."""
        hook = self._ckpt_hook
        if get_world_size() > 1 and hook is not None and not hook.by_epoch and (
                self.every_n_train_iters(runner, hook.interval)
                or self.is_last_train_iter(runner)):
            self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        """Gather all ranks' states at the end of each epoch (one small collective)."""
        if get_world_size() > 1:
            self._gather(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the generator states of all ranks in ``checkpoint['rng_state']``.

        mmengine saves on rank 0 only; the other ranks' states were gathered by all
        ranks just before (end of epoch, or the checkpoint iteration).

        Args:
            runner (Runner): The runner of the training process.
            checkpoint (dict): The checkpoint about to be saved.
        """
        if get_world_size() == 1:
            checkpoint['rng_state'] = [get_rng_state()]
        elif self._gathered is not None and self._gathered[0] == runner.iter:
            checkpoint['rng_state'] = self._gathered[1]
        else:
            warnings.warn('RNGStateHook: no gathered generator states for iteration '
                          f'{runner.iter}; this checkpoint resumes without them')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore this rank's generators from a checkpoint loaded to resume.

        Args:
            runner (Runner): The runner of the training process.
            checkpoint (dict): The loaded checkpoint.
        """
        self._pending = None
        states = checkpoint.get('rng_state')
        if not states or not getattr(runner, '_resume', True):
            return
        if len(states) != get_world_size():
            warnings.warn(f'RNGStateHook: the checkpoint was saved by {len(states)} '
                          f'processes, this run has {get_world_size()}; random '
                          'generators are not restored')
            return
        self._pending = states[get_rank()]
        set_rng_state(self._pending)

    def before_train(self, runner) -> None:
        """Re-apply the restored states after ``Runner.resume`` finished.

        Args:
            runner (Runner): The runner of the training process.
        """
        self._ckpt_hook = next(
            (h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        if self._pending is not None:
            set_rng_state(self._pending)
            loop = runner.train_loop
            if isinstance(loop, IterBasedTrainLoop) and runner.iter > 0:
                loop.dataloader_iterator = _RestoreAfterSkip(
                    loop, runner.iter, self._pending)
            self._pending = None


class _RestoreAfterSkip:
    """Proxy of ``IterBasedTrainLoop.dataloader_iterator`` that restores the
    generators after the ``skip`` batches the loop re-loads on resume, then puts the
    original iterator back."""

    def __init__(self, loop, skip: int, state: dict) -> None:
        self._loop, self._it, self._skip, self._state = \
            loop, loop.dataloader_iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0:
            set_rng_state(self._state)
            self._loop.dataloader_iterator = self._it
        self._skip -= 1
        return next(self._it)

    def __getattr__(self, name: str):
        return getattr(self._it, name)
