"""bf16 mixed precision without a loss scaler, so the step never waits on the host."""
from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from slimselfsup.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` that runs the forward in bf16 autocast.

    bfloat16 has float32's exponent range, so gradients need no loss scaling.
    mmengine's ``AmpOptimWrapper(dtype='bfloat16')`` still steps through a
    ``GradScaler``, whose inf check reads a value back to the host every step;
    this wrapper only adds ``torch.autocast(dtype=torch.bfloat16)`` around the
    model's forward (``optim_context``) and otherwise is the plain wrapper.

    Args:
        *args: Arguments of :class:`~mmengine.optim.OptimWrapper`.
        **kwargs: Keyword arguments of :class:`~mmengine.optim.OptimWrapper`.
    """

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator:
        """Gradient-accumulation context of the parent plus bf16 autocast."""
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type=device,
                                                          dtype=torch.bfloat16):
            yield
