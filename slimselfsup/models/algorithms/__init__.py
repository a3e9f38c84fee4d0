from .mocov2 import MoCoV2
from .mocov3 import MoCoV3
from .simclr import SimCLR

__all__ = ['MoCoV2', 'MoCoV3', 'SimCLR']
