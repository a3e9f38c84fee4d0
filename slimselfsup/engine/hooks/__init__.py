from .knn_hook import KNNHook
from .rng_state_hook import RNGStateHook

__all__ = ['KNNHook', 'RNGStateHook']
