"""Logging diagnostics of contrastive training every N iterations."""
from typing import Dict, List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from slimselfsup.analysis.monitors import (DEFAULT_MAX_UNIFORMITY, DEFAULT_MIN_EFFECTIVE_RANK,
                                           collapse_problems, embedding_monitors,
                                           similarity_monitors)
from slimselfsup.registry import HOOKS


@HOOKS.register_module()
class ContrastiveMonitorHook(Hook):
    """InfoNCE vs its bound, FlatNCE's ``log xi``, positive/hardest-negative cosine,
    alignment, uniformity and effective rank of one batch every ``interval``
    iterations (see :mod:`slimselfsup.analysis.monitors`; FlatNCE, arXiv 2107.01152;
    Wang & Isola 2020; Roy & Vetterli 2007).

    On a due iteration, forward hooks keep the first ``(pos, neg)`` similarities the
    head's loss module receives and the first output of ``embed_module`` (for
    SlimCLR both are the full width's, which runs first). After the iteration the
    values are computed on the device and read back in one transfer; other
    iterations cost one Python comparison, so there is no per-step host
    synchronisation. Scalars ``monitor/<name>`` go to the message hub, the
    visualizer (step = iteration) and one log line. Only the main process measures
    (its shard of the batch).

    A value that says the embeddings collapsed (``effective_rank`` below
    ``min_effective_rank`` or ``uniformity`` above ``max_uniformity``) is warned
    about once per metric, naming it and its value.

    Args:
        interval (int): Measure every ``interval`` iterations. Defaults to 50.
        embed_module (str): Dotted name of the submodule whose output is the
            embedding (first item of a tuple output), L2-normalised before use.
            Defaults to ``'neck'``.
        loss_module (str): Dotted name of the module called with ``(pos, neg)``.
            Defaults to ``'head.loss_module'`` (``NCEHead``).
        min_effective_rank (float, optional): Collapse threshold; None disables.
            Defaults to 1.5.
        max_uniformity (float, optional): Collapse threshold; None disables.
            Defaults to -0.05.
        uniformity_t (float): ``t`` of the uniformity loss. Defaults to 2.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 50,
                 embed_module: str = 'neck',
                 loss_module: str = 'head.loss_module',
                 min_effective_rank: Optional[float] = DEFAULT_MIN_EFFECTIVE_RANK,
                 max_uniformity: Optional[float] = DEFAULT_MAX_UNIFORMITY,
                 uniformity_t: float = 2.0) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.embed_module = embed_module
        self.loss_module = loss_module
        self.min_effective_rank = min_effective_rank
        self.max_uniformity = max_uniformity
        self.uniformity_t = uniformity_t
        self._armed = False
        self._pos = self._neg = self._emb = None
        self._temperature: Optional[float] = None
        self._handles: List = []
        self._warned: set = set()
        self.last_values: Dict[str, float] = {}

    def before_train(self, runner) -> None:
        """Attach forward hooks to the loss module and the embedding module."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        loss = _submodule(model, self.loss_module)
        embed = _submodule(model, self.embed_module)
        if loss is None and embed is None:
            raise ValueError(
                f'ContrastiveMonitorHook: {type(model).__name__} has neither '
                f'{self.loss_module!r} (a loss called with (pos, neg) similarities, as '
                f"NCEHead's) nor {self.embed_module!r}; set loss_module/embed_module to "
                'the right submodules or remove the hook')
        if loss is not None:
            temperature = getattr(loss, 'temperature', None)
            self._temperature = float(temperature) if isinstance(
                temperature, (int, float)) else None
            self._handles.append(loss.register_forward_hook(self._keep_similarities))
        if embed is not None:
            self._handles.append(embed.register_forward_hook(self._keep_embeddings))

    def _keep_similarities(self, module: nn.Module, inputs: tuple, output) -> None:
        if self._armed and self._pos is None and len(inputs) >= 2:
            self._pos, self._neg = inputs[0].detach(), inputs[1].detach()

    def _keep_embeddings(self, module: nn.Module, inputs: tuple, output) -> None:
        if self._armed and self._emb is None:
            out = output[0] if isinstance(output, (tuple, list)) else output
            if isinstance(out, torch.Tensor):
                self._emb = out.detach().flatten(1)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Arm the capture on due iterations (main process only)."""
        self._armed = is_main_process() and self.every_n_train_iters(runner,
                                                                     self.interval)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Compute, read back once, log and check for collapse."""
        if not self._armed:
            return
        self._armed = False
        values: Dict[str, torch.Tensor] = {}
        with torch.no_grad():
            if self._pos is not None:
                values.update(similarity_monitors(self._pos, self._neg, self._temperature))
            if self._emb is not None and self._emb.shape[0] >= 2:
                values.update(embedding_monitors(self._emb, self.uniformity_t))
        self._pos = self._neg = self._emb = None
        if not values:
            return
        host = torch.stack(list(values.values())).tolist()  # the one sync
        step = runner.iter + 1
        self.last_values = dict(zip(values, host))
        scalars = {f'monitor/{k}': v for k, v in self.last_values.items()}
        for name, value in scalars.items():
            runner.message_hub.update_scalar(name, value)
        runner.visualizer.add_scalars(scalars, step=step)
        runner.logger.info(f'Iter(monitor) [{step}] ' + '  '.join(
            f'{k}: {v:.4g}' for k, v in self.last_values.items()))
        for problem in collapse_problems(self.last_values, self.min_effective_rank,
                                         self.max_uniformity):
            metric = problem.split('=')[0]
            if metric not in self._warned:
                self._warned.add(metric)
                runner.logger.warning(
                    f'ContrastiveMonitorHook at iteration {step}: {problem}. Check the '
                    'learning rate, temperature and augmentations (warned once per '
                    'metric).')

    def after_train(self, runner) -> None:
        """Detach the forward hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []


def _submodule(model: nn.Module, name: str) -> Optional[nn.Module]:
    module = model
    for part in name.split('.'):
        module = getattr(module, part, None)
        if not isinstance(module, nn.Module):
            return None
    return module
