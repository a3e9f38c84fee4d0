"""Logging the gradient imbalance between the widths of a slimmable network."""
import json
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn

from slimselfsup.analysis.grad_stats import (SLIM_LAYERS, SliceRecorder, fc_slices, find_fc,
                                             slim_grad_stats, slim_layers, stats_to_record,
                                             width_key)
from slimselfsup.registry import HOOKS


def infer_widths(model: nn.Module) -> tuple:
    """The width list of the first module of ``model`` that has one."""
    for module in model.modules():
        widths = getattr(module, 'widths', None)
        if isinstance(widths, (tuple, list)) and widths:
            return tuple(sorted((float(w) for w in widths), reverse=True))
    raise ValueError('found no module with a `widths` list; pass `widths` to '
                     'SlimGradHook')


@HOOKS.register_module()
class SlimGradHook(Hook):
    """Per-width gradient norms of a slimmable model during training.

    The gradient-imbalance diagnostics of SlimCLR (`arXiv 2209.15525
    <https://arxiv.org/abs/2209.15525>`_): every ``interval`` iterations, the mean
    L2 norm over the slimmable conv/linear weights of the gradient sub-block each
    width uses, and its ratio to the norm of the whole gradient (see
    :func:`~slimselfsup.analysis.grad_stats.slim_grad_stats`), plus the top-2
    singular values of the last linear layer's gradient. Scalars go to the message
    hub and the visualizer (``grad/norm_w0.5``, ``grad/ratio_w0.5``,
    ``grad/fc_sv1_w0.5``, ``grad/fc_sv2_w0.5``, ``grad/norm_full``), and one JSON
    line per record (``iter`` 1-based, ``epoch`` 0-based as ``runner.epoch``,
    ``norm``, ``ratio``, ``rest``, ``norm_full``, ``fc_sv``, ``fc_name``,
    ``widths``) is appended to ``work_dir/slim_grads.jsonl`` (appended, so a
    resumed run continues the file). With ``save_fc_interval`` the whole gradient
    matrix of that linear layer is kept every ``save_fc_interval`` iterations and
    written to ``work_dir/fc_grads.npz`` (keys ``iters``, ``grads``, ``widths``,
    ``rows``, ``cols``: the sub-block of each width) for the "gradient direction
    divergence" PCA of ``tools/analysis_tools/plot_slim_grads.py``; the matrices
    stay in memory until written (after every epoch and at the end).

    Where the gradients are read: mmengine's ``OptimWrapper.update_params`` runs
    ``backward``, ``step`` and ``zero_grad`` inside ``train_step``, so no runner
    hook point sees them. This hook registers a torch optimizer *step pre-hook*
    (``Optimizer.register_step_pre_hook``), which runs inside ``OptimWrapper.step``
    after backward, AMP unscaling and gradient clipping and before the update and
    ``zero_grad``: with ``clip_grad`` the clipped gradients are measured (global
    norm clipping scales every block alike, so the ratios are unchanged). With
    gradient accumulation (or an AMP step skipped for overflow) the record is taken
    at the first real optimizer step at or after the requested iteration, on the
    accumulated gradient. The slice each layer uses at each width is recorded by
    forward hooks (:class:`SliceRecorder`), so layers with a fixed input (stem, a
    MoCo v3 predictor) are measured correctly. Only the main process records (the
    gradients are already all-reduced).

    Args:
        interval (int): Record every ``interval`` iterations. Defaults to 50.
        widths (Sequence[float], optional): Widths to measure. Defaults to None,
            meaning the model's width list.
        fc_name (str, optional): Layer for the singular values and saved
            gradients. Defaults to None (the last slimmable linear layer).
        max_norm (float, optional): Per-layer clamp of the norms, as in the
            reference code. Defaults to 1000.
        save_fc_interval (int): Save the fc gradient every this many iterations;
            0 disables. Defaults to 0.
        record_slices (bool): Record the real slices with forward hooks instead of
            the static rule. Defaults to True.
        out_file (str): JSON-lines file in the work dir. Defaults to
            ``'slim_grads.jsonl'``.
        fc_file (str): ``.npz`` file in the work dir. Defaults to
            ``'fc_grads.npz'``.

    Example:
        >>> custom_hooks = [dict(type='SlimGradHook', interval=100,
        ...                      save_fc_interval=500)]
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 widths: Optional[Sequence[float]] = None,
                 fc_name: Optional[str] = None,
                 max_norm: Optional[float] = 1000.0,
                 save_fc_interval: int = 0,
                 record_slices: bool = True,
                 out_file: str = 'slim_grads.jsonl',
                 fc_file: str = 'fc_grads.npz') -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        if save_fc_interval < 0:
            raise ValueError(f'save_fc_interval must be >= 0, got {save_fc_interval}')
        self.interval = interval
        self.widths = tuple(float(w) for w in widths) if widths else None
        self.fc_name = fc_name
        self.max_norm = max_norm
        self.save_fc_interval = save_fc_interval
        self.record_slices = record_slices
        self.out_file = out_file
        self.fc_file = fc_file
        self._handles, self._recorder, self._model = [], None, None
        self._want_stats = self._want_fc = self._stepped = False
        self._stats, self._fc_iters, self._fc_grads = None, [], []
        self._fc_name, self._fc_slices = None, {}
        self._iter = 0

    def before_train(self, runner) -> None:
        """Find the model, its widths and optimizers; attach the hooks."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._model = model
        self.widths = self.widths or infer_widths(model)
        if self.record_slices:
            self._recorder = SliceRecorder(model, layer_types=SLIM_LAYERS)
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) \
            else [wrapper]
        self._handles = [w.optimizer.register_step_pre_hook(self._before_step)
                         for w in wrappers]

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Arm the recording for this iteration when it is due."""
        self._stepped = False
        self._iter = runner.iter + 1
        if not is_main_process():
            return
        if self.every_n_train_iters(runner, self.interval):
            self._want_stats = True
        if self.save_fc_interval and self.every_n_train_iters(runner,
                                                              self.save_fc_interval):
            self._want_fc = True

    def _before_step(self, optimizer, args, kwargs) -> None:
        """Optimizer step pre-hook: the gradients are complete and not yet zeroed."""
        if self._stepped or not (self._want_stats or self._want_fc):
            return
        self._stepped = True  # several optimizers: read the gradients once
        slices = self._recorder.slices if self._recorder else None
        if self._want_stats:
            self._stats = slim_grad_stats(self._model, self.widths, slices,
                                          self.fc_name, self.max_norm)
            self._want_stats = False
        if self._want_fc:
            layers = slim_layers(self._model)
            name = find_fc(layers, self.fc_name)
            if name is not None:
                self._fc_name = name
                self._fc_slices = fc_slices(layers[name], self.widths,
                                            (slices or {}).get(name))
                grad = layers[name].weight.grad.detach().float().flatten(1)
                self._fc_grads.append(grad.cpu().numpy().copy())
                self._fc_iters.append(self._iter)
            self._want_fc = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Publish a record taken during this iteration."""
        if self._stats is None:
            return
        stats, self._stats = self._stats, None
        scalars = {'grad/norm_full': stats['norm_full']}
        for w in stats['widths']:
            key = width_key(w)
            scalars[f'grad/norm_w{key}'] = stats['norm'][w]
            scalars[f'grad/ratio_w{key}'] = stats['ratio'][w]
            for i, sv in enumerate(stats['fc_sv'].get(w, [])[:2]):
                scalars[f'grad/fc_sv{i + 1}_w{key}'] = sv
        for name, value in scalars.items():
            runner.message_hub.update_scalar(name, value)
        runner.visualizer.add_scalars(scalars, step=self._iter)
        record = dict(iter=self._iter, epoch=runner.epoch, **stats_to_record(stats))
        with open(osp.join(runner.work_dir, self.out_file), 'a') as f:
            f.write(json.dumps(record) + '\n')
        ratios = ', '.join(f'w{width_key(w)} {stats["ratio"][w]:.4f}'
                           for w in stats['widths'])
        runner.logger.info(f'Iter(slim grads) [{self._iter}] ratio to full: {ratios}')

    def after_train_epoch(self, runner) -> None:
        """Write the saved fc gradients (also done at the end of training)."""
        self._write_fc(runner)

    def after_train(self, runner) -> None:
        """Write the fc gradients and detach every hook."""
        self._write_fc(runner)
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._recorder is not None:
            self._recorder.remove()
            self._recorder = None

    def _write_fc(self, runner) -> None:
        if not self._fc_grads or not is_main_process():
            return
        path = osp.join(runner.work_dir, self.fc_file)
        tmp = path + '.tmp.npz'
        widths = list(self._fc_slices)
        np.savez(tmp, iters=np.asarray(self._fc_iters), grads=np.stack(self._fc_grads),
                 widths=np.asarray(widths),
                 rows=np.asarray([self._fc_slices[w][0] for w in widths]),
                 cols=np.asarray([self._fc_slices[w][1] for w in widths]),
                 name=np.asarray(self._fc_name))
        os.replace(tmp, path)
