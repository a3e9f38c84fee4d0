from .feature_queue import FeatureQueue
from .gather import all_gather_with_grad, concat_all_gather
from .momentum_encoder import MomentumEncoder, check_momentum

__all__ = [
    'FeatureQueue', 'MomentumEncoder', 'all_gather_with_grad', 'check_momentum',
    'concat_all_gather'
]
