"""Learning-rate scaling by total batch size (linear or square-root rule)."""
import math
from typing import List

from mmengine.optim import OptimWrapper, OptimWrapperDict


def lr_scale_factor(total_batch_size: int, base_batch_size: int,
                    mode: str = 'linear') -> float:
    """Factor to multiply a learning rate tuned at ``base_batch_size`` by.

    ``linear``: ``B / B0`` (Goyal et al., 2017; SimCLR's ``0.3 * B / 256``).
    ``sqrt``: ``sqrt(B / B0)`` (SimCLR's ``0.075 * sqrt(B)`` for small batches and
    LARS, also recommended by FlatNCE).

    Args:
        total_batch_size (int): Batch size summed over all processes.
        base_batch_size (int): Batch size the configured learning rate is for.
        mode (str): ``'linear'`` or ``'sqrt'``. Defaults to ``'linear'``.

    Returns:
        float: The multiplier.
    """
    if total_batch_size <= 0 or base_batch_size <= 0:
        raise ValueError('batch sizes must be positive, got '
                         f'{total_batch_size} and {base_batch_size}')
    ratio = total_batch_size / base_batch_size
    if mode == 'linear':
        return ratio
    if mode == 'sqrt':
        return math.sqrt(ratio)
    raise ValueError(f"auto_scale_lr mode must be 'linear' or 'sqrt', got {mode!r}")


def optim_wrappers(optim_wrapper) -> List[OptimWrapper]:
    """The optimizer wrappers of a run: the members of an ``OptimWrapperDict``, else
    the wrapper itself (none for an unbuilt config)."""
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.values())
    return [optim_wrapper] if isinstance(optim_wrapper, OptimWrapper) else []


def scale_lrs(optim_wrapper, factor: float) -> None:
    """Multiply the learning rate of every param group of every wrapper by ``factor``."""
    for wrapper in optim_wrappers(optim_wrapper):
        for group in wrapper.optimizer.param_groups:
            group['lr'] *= factor
