"""Optimizer wrappers registered in slimselfsup's OPTIM_WRAPPERS."""
from .bf16_optim_wrapper import BF16OptimWrapper

__all__ = ['BF16OptimWrapper']
