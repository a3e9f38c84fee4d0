from .channels_last_hook import ChannelsLastHook
from .contrastive_monitor_hook import ContrastiveMonitorHook
from .knn_hook import KNNHook
from .nonfinite_loss_hook import NonFiniteLossError, NonFiniteLossHook, NonFiniteStateError
from .rng_state_hook import RNGStateHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .slim_grad_hook import SlimGradHook

__all__ = ['ChannelsLastHook', 'ContrastiveMonitorHook', 'KNNHook', 'NonFiniteLossError',
           'NonFiniteLossHook', 'NonFiniteStateError', 'RNGStateHook', 'SafeCheckpointHook',
           'SlimGradHook']
