from .feature_queue import FeatureQueue, compute_dtype
from .gather import all_gather_with_grad, concat_all_gather, shuffle_batch, unshuffle_batch
from .momentum_encoder import MomentumEncoder, check_momentum

__all__ = [
    'FeatureQueue', 'MomentumEncoder', 'all_gather_with_grad', 'check_momentum',
    'compute_dtype', 'concat_all_gather', 'shuffle_batch', 'unshuffle_batch'
]
