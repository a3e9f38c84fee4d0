from .mocov2 import MoCoV2
from .mocov3 import MoCoV3
from .seed import SEED
from .simclr import SimCLR
from .slimclr_base import LOSS_WEIGHT_MODES, SlimCLRMixin, slim_loss_weights
from .slimclr_mocov2 import SlimCLRMoCoV2
from .slimclr_mocov3 import SlimCLRMoCoV3
from .slimclr_simclr import SlimCLRSimCLR
from .slimseed import SlimSEED
from .tec import TEC

__all__ = [
    'MoCoV2', 'MoCoV3', 'SimCLR', 'SlimCLRMixin', 'SlimCLRMoCoV2', 'SlimCLRMoCoV3',
    'SlimCLRSimCLR', 'slim_loss_weights', 'LOSS_WEIGHT_MODES', 'TEC', 'SEED',
    'SlimSEED'
]
