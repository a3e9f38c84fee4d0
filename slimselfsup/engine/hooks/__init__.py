from .knn_hook import KNNHook
from .rng_state_hook import RNGStateHook
from .slim_grad_hook import SlimGradHook

__all__ = ['KNNHook', 'RNGStateHook', 'SlimGradHook']
