"""Optimizers and optimizer wrappers registered in slimselfsup's registries."""
from .bf16_optim_wrapper import BF16OptimWrapper
from .lars import LARS

__all__ = ['BF16OptimWrapper', 'LARS']
