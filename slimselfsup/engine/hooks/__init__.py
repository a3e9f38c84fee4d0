from .knn_hook import KNNHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .rng_state_hook import RNGStateHook
from .slim_grad_hook import SlimGradHook

__all__ = ['KNNHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'RNGStateHook',
           'SlimGradHook']
