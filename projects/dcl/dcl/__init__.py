"""Decoupled contrastive learning on slimselfsup's SimCLR (an example project)."""
from .dcl_loss import DCLLoss

__all__ = ['DCLLoss']
