"""The mmengine Runner with the changes that need the runner; each concern's logic
lives in its own module, which the overrides below call."""
import contextlib
import os.path as osp
import re
from typing import Dict, Optional

import torch
from mmengine.dist import is_distributed
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop, Runner
from torch import nn

from slimselfsup.registry import RUNNERS
from slimselfsup.utils.checkpoint_io import (atomic_write, check_checkpoint, checkpoint_meta,
                                             find_resumable_checkpoint)
from ..hooks.nonfinite_loss_hook import NonFiniteStateError, first_bad_tensor, resume_advice
from .config_checks import check_hook_configs, check_optimizer_config, wrong_prefix_message
from .cpu_ddp import init_gloo_process_group, wrap_cpu_ddp
from .loader_checks import check_queue_batches, empty_loader_problem
from .lr_scaling import lr_scale_factor, scale_lrs
from .resume_lr import apply_configured_lrs, configured_lrs
from .run_names import unique_timestamp
from .worker_seeding import seed_workers_per_epoch


@RUNNERS.register_module()
class SelfSupRunner(Runner):
    """The mmengine :class:`~mmengine.runner.Runner` with these changes, one concern
    each (the method, then the module that holds the logic):

    * **CPU distributed runs** (``setup_env``, ``wrap_model``; :mod:`.cpu_ddp`):
      without CUDA, ``--launcher pytorch`` (``tools/dist_train.sh``) runs on gloo,
      SyncBN falls back to BN and DDP wraps the CPU model.
    * **One log per run** (``setup_env``; :mod:`.run_names`): a Runner built in the
      same second as an earlier one of the process gets its own name and log file.
    * **Square-root LR scaling** (``scale_lr``; :mod:`.lr_scaling`):
      ``auto_scale_lr = dict(enable=True, base_batch_size=256, mode='sqrt')``
      scales every learning rate by ``sqrt(world_size * batch_size / 256)``;
      ``mode='linear'`` (the default) is mmengine's rule. The factor is logged.
    * **Atomic checkpoints of finite models** (``save_checkpoint``;
      :func:`~slimselfsup.utils.checkpoint_io.atomic_write`, and
      :func:`~slimselfsup.engine.hooks.nonfinite_loss_hook.first_bad_tensor`).
    * **Resume fallback** (``load_or_resume``;
      :func:`~slimselfsup.utils.checkpoint_io.find_resumable_checkpoint`):
      ``resume=True`` without a path skips a truncated or corrupt latest checkpoint
      with a warning; an explicit unreadable one is named.
    * **Strict resume** (``load_checkpoint``): a checkpoint of another architecture
      is refused instead of loaded partly.
    * **Learning rate at resume** (``resume``; :mod:`.resume_lr`): a configured
      learning rate that differs from the checkpoint's takes effect.
    * **Exact resume** (``build_dataloader``, ``build_train_loop``;
      :mod:`.worker_seeding`): dataloader workers are re-seeded per epoch, and the
      checkpoint's seed is taken before the dataloader is built (also with
      ``seed=None``).
    * **Empty epochs and queue batches** (``build_train_loop``;
      :mod:`.loader_checks`): a loader that yields no batch, or batches that do
      not fit a MoCo-style queue, fail before training.
    * **Hook and optimizer arguments, init_cfg prefixes** (``register_hooks``,
      ``build_optim_wrapper``, ``_init_model_weights``; :mod:`.config_checks`):
      typos and text where numbers belong fail when built, and a ``Pretrained``
      prefix that matches nothing is named with the file's prefixes.
    * **Test and val without the training data** (``test``, ``val``): the training
      loop is not built, so a missing training split does not fail evaluation.
    """

    # -- CPU distributed runs ------------------------------------------------------
    def setup_env(self, env_cfg: Dict) -> None:
        if (self.distributed and not is_distributed() and self.launcher == 'pytorch'
                and not torch.cuda.is_available()):
            init_gloo_process_group(env_cfg)  # mmengine's would call cuda.set_device
        super().setup_env(env_cfg)
        self._timestamp = unique_timestamp(self._timestamp)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        if not self.distributed or torch.cuda.is_available() or is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        self.logger.info('CPU distributed run: SyncBN layers revert to BN and DDP '
                         'wraps the CPU model (no device_ids).')
        return wrap_cpu_ddp(model, model_wrapper_cfg,
                            self.cfg.get('find_unused_parameters', False))

    # -- LR scaling ---------------------------------------------------------------
    def scale_lr(self, optim_wrapper, auto_scale_lr: Optional[Dict] = None) -> None:
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
        scale_lrs(optim_wrapper, factor)
        self.logger.info(
            f'auto_scale_lr ({mode}): total batch {total} vs base '
            f"{auto_scale_lr['base_batch_size']}, learning rates x{factor:.4g}")

    # -- atomic checkpoints of finite models ----------------------------------------
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """mmengine's ``save_checkpoint`` through :func:`atomic_write`: a kill during
        the save never leaves a truncated checkpoint under the final name, and the
        temporary files of saves killed earlier (by this run or one it resumes) are
        removed. Remote ``out_dir`` (``s3://``...) and non-default backends keep
        mmengine's direct write.

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
        save = super().save_checkpoint
        if '://' in str(out_dir) or kwargs.get('backend_args') or (
                len(args) > 0 and args[0] is not None) or kwargs.get('file_client_args'):
            return save(out_dir, filename, *args, **kwargs)
        # only the main process writes; the others leave no file to commit
        removed = atomic_write(
            osp.join(out_dir, filename),
            lambda tmp: save(out_dir, osp.basename(tmp), *args, **kwargs),
            clean_folder=True)
        for path in removed:
            self.logger.info(f'removed {path}, left by a save that was killed')

    # -- resume: fallback, strictness, learning rate, seed ------------------------------
    def _latest_intact_checkpoint(self) -> Optional[str]:
        """:func:`find_resumable_checkpoint` of ``work_dir``, looked up once."""
        if not hasattr(self, '_latest_intact'):
            self._latest_intact = find_resumable_checkpoint(self.work_dir)
        return self._latest_intact

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

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True, map_location='default') -> None:
        """mmengine's ``resume``, except that a learning rate configured differently
        from the checkpoint's (``--cfg-options optim_wrapper.optimizer.lr=...`` at
        resume, or an edited config) takes effect, schedulers included
        (:mod:`.resume_lr`)."""
        configured = configured_lrs(self.optim_wrapper) if resume_optimizer else None
        super().resume(filename, resume_optimizer, resume_param_scheduler, map_location)
        if configured:
            apply_configured_lrs(self.optim_wrapper, self.param_schedulers, configured,
                                 filename, self.logger)

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
        seed, current = checkpoint_meta(path).get('seed'), self._randomness_cfg.get('seed')
        if seed is None or seed == current:
            return
        if current is not None:
            self.logger.warning(f'resume: the checkpoint was trained with seed {seed}, '
                                f'the config says {current}; continuing with {seed}')
        self._randomness_cfg.update(seed=seed)
        self.set_randomness(**self._randomness_cfg)

    # -- data: exact resume with workers, empty epochs, queue batches ------------------
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
        to resume from; then checks that the loader yields batches and that they
        fit the model's queues (:mod:`.loader_checks`)."""
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

    # -- config mistakes ------------------------------------------------------------
    def build_optim_wrapper(self, optim_wrapper):
        """mmengine's, after :func:`check_optimizer_config`."""
        check_optimizer_config(optim_wrapper)
        return super().build_optim_wrapper(optim_wrapper)

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        """mmengine's ``register_hooks``, after :func:`check_hook_configs`."""
        check_hook_configs(default_hooks, custom_hooks)
        super().register_hooks(default_hooks, custom_hooks)

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

    # -- evaluation without the training data ---------------------------------------
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
