"""mmengine Runner with linear or square-root LR scaling and CPU-safe DDP."""
import contextlib
import datetime
import os
import os.path as osp
import re
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dataset import InfiniteSampler
from mmengine.dist import is_distributed
from mmengine.model import (MMDistributedDataParallel, is_model_wrapper,
                            revert_sync_batchnorm)
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import HOOKS, MODEL_WRAPPERS, OPTIMIZERS, Registry
from mmengine.runner import BaseLoop, Runner
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn
from torch.utils.data import DataLoader

from slimselfsup.apis.config import check_call_arguments
from slimselfsup.registry import RUNNERS
from ..hooks.nonfinite_loss_hook import NonFiniteStateError, first_bad_tensor, resume_advice
from .checkpoint_io import (check_checkpoint, commit, find_resumable_checkpoint,
                            remove_stale_tmp_files, tmp_path_for)
from .lr_scaling import lr_scale_factor
from .worker_seeding import seed_workers_per_epoch


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None):
    """mmengine's loader of local checkpoint files (``load_from``, ``init_cfg``
    ``Pretrained``, ``load_checkpoint``), checking the file first: a truncated file
    or an image raises an error naming it, not torch's "failed finding central
    directory"."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):  # mmengine's error type for this case
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    check_checkpoint(filename)
    return torch.load(filename, map_location=map_location)


def init_distributed(launcher: str, env_cfg: Optional[Dict] = None) -> None:
    """Start the process group as the Runner does, for code that runs before or
    without one (``tools/pipeline.py``'s kNN stage); nothing for ``'none'`` or when
    it is already started.

    Without CUDA, ``'pytorch'`` (torchrun) starts gloo: mmengine's launcher calls
    ``torch.cuda.set_device``, which fails there.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        env_cfg (dict, optional): The config's ``env_cfg`` (its ``dist_cfg``).
    """
    if launcher == 'none' or is_distributed():
        return
    dist_cfg = dict((env_cfg or {}).get('dist_cfg', {}))
    if launcher == 'pytorch' and not torch.cuda.is_available():
        kwargs = {}
        if dist_cfg.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
        torch_dist.init_process_group(
            backend='gloo', rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']), **kwargs)
    else:
        from mmengine.dist import init_dist
        init_dist(launcher, **dist_cfg)


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

    Checkpoints in local folders are written atomically (temporary file, fsync,
    rename), and ``resume=True`` without a path skips a truncated or corrupt latest
    checkpoint with a warning and resumes from the newest intact one. Resuming is
    exact with dataloader workers and with ``seed=None`` too (workers re-seeded per
    epoch, the checkpoint's seed taken before the dataloader is built).

    Mistakes that mmengine would report late or without naming them fail when the
    runner is built or training starts: hook arguments the hook does not take, text
    where a hook or the optimizer takes a number, and batches that do not fit a
    MoCo-style queue (``drop_last=False`` with a partial last batch).
    """

    def setup_env(self, env_cfg: Dict) -> None:
        if (self.distributed and not is_distributed() and self.launcher == 'pytorch'
                and not torch.cuda.is_available()):
            init_distributed(self.launcher, env_cfg)
        super().setup_env(env_cfg)

    def test(self) -> dict:
        """mmengine's ``test``, without building the training loop (and so its data
        set): a ``window_size='global'`` log setting reads ``runner.iter``, which
        builds an unbuilt train loop, so testing failed after evaluating every
        image when the training split does not exist."""
        with self._train_loop_hidden():
            return super().test()

    def val(self) -> dict:
        """mmengine's ``val``, without building the training loop (see ``test``)."""
        with self._train_loop_hidden():
            return super().val()

    @contextlib.contextmanager
    def _train_loop_hidden(self):
        loop = self._train_loop
        if isinstance(loop, BaseLoop) or loop is None:
            yield
            return
        self._train_loop = None  # runner.iter / epoch read 0, as in a test-only Runner
        try:
            yield
        finally:
            self._train_loop = loop

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

    @staticmethod
    def build_dataloader(dataloader, seed: Optional[int] = None,
                         diff_rank_seed: bool = False):
        """mmengine's ``build_dataloader``; with its default ``worker_init_fn``,
        workers are re-seeded from the epoch (:mod:`.worker_seeding`), so resuming is
        exact with ``num_workers > 0`` and persistent workers too."""
        loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        if isinstance(dataloader, dict) and 'worker_init_fn' not in dataloader:
            seed_workers_per_epoch(loader, seed)
        return loader

    def build_train_loop(self, loop):
        """mmengine's ``build_train_loop``, after taking the seed of the checkpoint
        to resume from; then checks the batches: a data loader that yields no batch
        per pass is an error (an epoch-based run would otherwise finish with zero
        iterations and save untrained checkpoints, or fail in a parameter scheduler
        with an unrelated assertion), and so are batches that do not fit the
        model's queues."""
        if not isinstance(loop, dict):
            return super().build_train_loop(loop)
        if self._resume:
            self._adopt_resumed_seed()
        loop = super().build_train_loop(loop)
        problem = empty_loader_problem(loop.dataloader, self.world_size)
        if problem:
            raise ValueError(problem)
        check_queue_batches(self.model, loop.dataloader, self.world_size)
        return loop

    def build_optim_wrapper(self, optim_wrapper):
        """mmengine's, after checking that numeric optimizer arguments are numbers:
        ``--cfg-options optim_wrapper.optimizer.lr=abc`` names ``lr`` here instead
        of failing inside torch with a comparison error."""
        optimizer = optim_wrapper.get('optimizer') if isinstance(optim_wrapper, dict) \
            else None
        if isinstance(optimizer, dict):
            cls = _resolve(OPTIMIZERS, optimizer.get('type'))
            if cls is not None:
                check_call_arguments(cls, optimizer, 'optim_wrapper.optimizer',
                                     unknown=False)
        return super().build_optim_wrapper(optim_wrapper)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        """mmengine's ``register_hooks``, after checking every hook config against
        its class's arguments: a typo such as ``default_hooks.checkpoint.
        max_keep_ckpt`` fails here, not at the first save after an epoch of work
        (mmengine's ``CheckpointHook`` takes any keyword)."""
        entries = [(f'default_hooks.{name}', cfg)
                   for name, cfg in (default_hooks or {}).items()]
        entries += [(f'custom_hooks.{i}', cfg) for i, cfg in enumerate(custom_hooks or [])]
        for where, cfg in entries:
            if isinstance(cfg, dict):
                cls = _resolve(HOOKS, cfg.get('type'))
                if cls is not None:
                    check_call_arguments(cls, cfg, where, ignore=('type', 'priority'))
        super().register_hooks(default_hooks, custom_hooks)

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """mmengine's ``save_checkpoint`` into a temporary file that is fsynced and
        renamed to ``filename``: a kill during the save never leaves a truncated
        checkpoint under the final name. Remote ``out_dir`` (``s3://``...) and
        non-default backends keep mmengine's direct write.

        A model whose parameters or buffers are not finite (or beyond
        ``MAX_ABS``) is never saved: :class:`NonFiniteStateError` names the first
        such tensor and stops training, so every checkpoint a run leaves (and
        ``last_checkpoint``) is one to resume from. A NaN loss is caught earlier by
        ``NonFiniteLossHook``; this catches damage that leaves the loss finite
        (BN statistics, one-iteration epochs)."""
        model = self.model.module if is_model_wrapper(self.model) else self.model
        bad = first_bad_tensor(model)
        if bad is not None:
            by_epoch = kwargs.get('by_epoch', args[4] if len(args) > 4 else True)
            done = self.iter if by_epoch else self.iter + 1  # as mmengine's meta
            raise NonFiniteStateError(
                f'{filename} was not saved: {bad}, after {done} iterations; training '
                f'stopped; {resume_advice(self)}.')
        if '://' in str(out_dir) or kwargs.get('backend_args') or (
                len(args) > 0 and args[0] is not None) or kwargs.get('file_client_args'):
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        final = osp.join(out_dir, filename)
        tmp = tmp_path_for(final)
        try:
            super().save_checkpoint(out_dir, osp.basename(tmp), *args, **kwargs)
            if osp.exists(tmp):  # only the main process writes
                commit(tmp, final)
                # the temporary files of saves killed earlier (by this run or
                # one it resumes) are of no use to anyone
                for path in remove_stale_tmp_files(out_dir):
                    self.logger.info(f'removed {path}, left by a save that was killed')
        finally:
            if osp.exists(tmp):
                os.remove(tmp)

    def _latest_intact_checkpoint(self) -> Optional[str]:
        """:func:`find_resumable_checkpoint` of ``work_dir``, looked up once."""
        if not hasattr(self, '_latest_intact'):
            self._latest_intact = find_resumable_checkpoint(self.work_dir)
        return self._latest_intact

    def _adopt_resumed_seed(self) -> None:
        """Take the seed of the checkpoint to resume from before the train dataloader
        is built.

        mmengine's ``resume`` switches to the checkpoint's seed only after the
        dataloader exists, so its sampler and workers keep this process's seed (a
        new random one with ``randomness=dict(seed=None)``) and the resumed run
        would load other batches than the interrupted one.
        """
        path = self._load_from if self._load_from is not None else \
            self._latest_intact_checkpoint()
        if path is None or '://' in str(path):
            return
        try:  # mmap: reads the small meta pickle, not the tensors
            meta = torch.load(path, map_location='cpu', weights_only=True,
                              mmap=True).get('meta') or {}
        except Exception:  # load_or_resume reports unreadable files
            return
        seed, current = meta.get('seed'), self._randomness_cfg.get('seed')
        if seed is None or seed == current:
            return
        if current is not None:
            self.logger.warning(f'resume: the checkpoint was trained with seed {seed}, '
                                f'the config says {current}; continuing with {seed}')
        self._randomness_cfg.update(seed=seed)
        self.set_randomness(**self._randomness_cfg)

    def load_or_resume(self) -> None:
        """mmengine's ``load_or_resume``, checking checkpoint files first.

        ``resume=True`` without ``load_from`` resumes from the newest intact
        checkpoint of ``work_dir`` (``last_checkpoint`` first, then ``epoch_*.pth`` /
        ``iter_*.pth`` by decreasing number), warning for each corrupt one skipped.
        An explicit but unreadable checkpoint raises an error that names it.
        """
        if self._has_loaded:
            return None
        if self._resume and self._load_from is None:
            latest = self._latest_intact_checkpoint()
            if latest is None:
                self.logger.info(f'resume: no intact checkpoint in {self.work_dir}; '
                                 'training starts from scratch')
                return None
            self._load_from = latest
            self.logger.info(f'Auto resumed from the latest intact checkpoint {latest}.')
        if self._load_from is not None and '://' not in str(self._load_from) and \
                osp.splitext(str(self._load_from))[1] in ('.pth', '.pt', '.ckpt'):
            check_checkpoint(self._load_from, '--resume / load_from')
        return super().load_or_resume()

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location='default') -> None:
        """mmengine's ``resume``, except that a learning rate configured differently
        from the checkpoint's (``--cfg-options optim_wrapper.optimizer.lr=...`` at
        resume, or an edited config) takes effect.

        mmengine restores the optimizer's param groups, so the checkpoint's
        learning rate silently wins over the config. Here each param group whose
        configured base learning rate (``initial_lr``, set by the schedulers, else
        ``lr``) differs from the checkpoint's is rescaled by configured /
        checkpoint: its current ``lr``, ``initial_lr`` and the schedulers' base
        and last values, so the schedule continues where it was, at the new
        scale (exact for schedulers without an absolute ``eta_min``). Each
        override is logged.
        """
        configured = self._configured_lrs() if resume_optimizer else None
        super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        if configured:
            self._apply_configured_lrs(configured, filename)

    def _lr_wrappers(self) -> list:
        wrapper = self.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            return list(wrapper.values())
        return [wrapper] if isinstance(wrapper, OptimWrapper) else []

    def _configured_lrs(self) -> list:
        """``(key, value)`` of each param group's base learning rate as built from
        this config (after ``auto_scale_lr``), before the checkpoint overwrites it."""
        return [[('initial_lr', g['initial_lr']) if 'initial_lr' in g else ('lr', g['lr'])
                 for g in wrapper.param_groups] for wrapper in self._lr_wrappers()]

    def _apply_configured_lrs(self, configured: list, filename: str) -> None:
        schedulers = self.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        for wrapper, groups in zip(self._lr_wrappers(), configured):
            if len(groups) != len(wrapper.param_groups):
                continue
            ratios = []
            for group, (key, value) in zip(wrapper.param_groups, groups):
                old = group.get(key)
                ratios.append(value / old if old and key in group else 1.)
            if all(abs(r - 1) < 1e-9 for r in ratios):
                continue
            for i, (group, ratio) in enumerate(zip(wrapper.param_groups, ratios)):
                group['lr'] *= ratio
                if 'initial_lr' in group:
                    group['initial_lr'] *= ratio
                for scheduler in schedulers:
                    if scheduler.param_name == 'lr' and scheduler.optimizer in (
                            wrapper, wrapper.optimizer):
                        scheduler.base_values[i] *= ratio
                        if getattr(scheduler, '_last_value', None):
                            scheduler._last_value[i] *= ratio
            first = next(i for i, r in enumerate(ratios) if abs(r - 1) >= 1e-9)
            key, value = groups[first]
            where = f' in param group {first}' if len(ratios) > 1 else ''
            self.logger.warning(
                f'resume: the configured learning rate ({key} {value:g}{where}) differs '
                f"from the checkpoint's ({value / ratios[first]:g}) in {filename}; using "
                'the configured one: the learning rate of each param group and the '
                f"schedulers' base values are scaled by x{ratios[first]:g} (lr now "
                f"{wrapper.param_groups[first]['lr']:.4g}).")

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """mmengine's ``load_checkpoint``, strict when resuming.

        mmengine loads non-strictly and only logs mismatching keys, so resuming
        from a checkpoint of another architecture would silently continue with
        partly random weights. ``load_from`` without ``resume`` (initialisation
        from a different model) stays non-strict.
        """
        if not (self._resume and not strict):
            return super().load_checkpoint(filename, map_location, strict, revise_keys)
        try:
            return super().load_checkpoint(filename, map_location, True, revise_keys)
        except RuntimeError as err:
            if 'do not match' not in str(err) and 'size mismatch' not in str(err):
                raise
            raise RuntimeError(
                f'cannot resume from {filename}: it does not fit this model (a '
                f'checkpoint of another architecture or config?). {err}\nTo '
                'initialise a different model from it, set load_from without '
                "--resume, or the backbone's init_cfg=dict(type='Pretrained', "
                "checkpoint=..., prefix='backbone.').") from err

    def _init_model_weights(self) -> None:
        """mmengine's weight initialisation; a ``Pretrained`` ``init_cfg`` whose
        ``prefix`` matches no key raises an error naming the file and the prefixes
        it does have (mmengine asserts ``'<prefix> is not in the pretrained
        model'``)."""
        try:
            super()._init_model_weights()
        except AssertionError as err:
            m = re.match(r'^(.*) is not in the pretrained model$', str(err))
            if not m:
                raise
            raise ValueError(wrong_prefix_message(self.model, m.group(1))) from err


def _resolve(registry: Registry, type_) -> Optional[type]:
    """The class a config's ``type`` names in the current scope, or None."""
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    with registry.switch_scope_and_registry(None) as scoped:
        cls = scoped.get(type_)
    return cls if isinstance(cls, type) else None


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
    from slimselfsup.models.utils import FeatureQueue
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


def wrong_prefix_message(model: nn.Module, prefix: str) -> str:
    """What to tell a user whose ``init_cfg`` prefix matches no checkpoint key."""
    ckpt = next((cfg.get('checkpoint') for cfg in (
        getattr(m, 'init_cfg', None) for m in model.modules())
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
        and cfg.get('prefix') == prefix), None)
    heads = []
    try:
        state = torch.load(ckpt, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
        heads = sorted({'.'.join(k.split('.')[:2 if k.startswith('module.') else 1])
                        + '.' for k in state})
    except Exception:  # unreadable: the message still names file and prefix
        pass
    return (f"init_cfg=dict(type='Pretrained', prefix={prefix!r}) matches no key of "
            f'{ckpt}; its keys start with {heads[:8]}. Set `prefix` to the part '
            "holding the backbone (our pretraining checkpoints: 'backbone.'), or "
            'convert the file with tools/convert_ckpt.py (strip-prefix or a converter '
            'for its layout).')
