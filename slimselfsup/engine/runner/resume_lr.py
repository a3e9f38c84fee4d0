"""A learning rate given at resume takes effect (mmengine keeps the checkpoint's).

mmengine restores the optimizer's param groups, so the checkpoint's learning rate
silently wins over ``--cfg-options optim_wrapper.optimizer.lr=...`` at resume or an
edited config. ``SelfSupRunner.resume`` reads the configured base learning rates
before the checkpoint is loaded (:func:`configured_lrs`) and rescales the restored
param groups and schedulers to them afterwards (:func:`apply_configured_lrs`).
"""
from typing import List, Tuple

from .lr_scaling import optim_wrappers


def configured_lrs(optim_wrapper) -> List[List[Tuple[str, float]]]:
    """``(key, value)`` of each param group's base learning rate as built from the
    config (after ``auto_scale_lr``), before a checkpoint overwrites it: the
    schedulers' ``initial_lr`` where set, else ``lr``."""
    return [[('initial_lr', g['initial_lr']) if 'initial_lr' in g else ('lr', g['lr'])
             for g in wrapper.param_groups] for wrapper in optim_wrappers(optim_wrapper)]


def apply_configured_lrs(optim_wrapper, param_schedulers, configured: list,
                         filename: str, logger) -> None:
    """Rescale each param group whose configured base learning rate differs from the
    checkpoint's by configured / checkpoint.

    Its current ``lr``, ``initial_lr`` and the schedulers' base and last values are
    scaled, so the schedule continues where it was, at the new scale (exact for
    schedulers without an absolute ``eta_min``). Each override is logged.

    Args:
        optim_wrapper: The runner's (resumed) optimizer wrapper(s).
        param_schedulers (list | dict | None): The runner's parameter schedulers.
        configured (list): :func:`configured_lrs` before the checkpoint was loaded.
        filename (str): The checkpoint, named in the warning.
        logger: Where the warning goes.
    """
    schedulers = param_schedulers or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    for wrapper, groups in zip(optim_wrappers(optim_wrapper), configured):
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
        logger.warning(
            f'resume: the configured learning rate ({key} {value:g}{where}) differs '
            f"from the checkpoint's ({value / ratios[first]:g}) in {filename}; using "
            'the configured one: the learning rate of each param group and the '
            f"schedulers' base values are scaled by x{ratios[first]:g} (lr now "
            f"{wrapper.param_groups[first]['lr']:.4g}).")
