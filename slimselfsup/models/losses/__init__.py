from .flat_nce import FlatNCELoss
from .info_nce import InfoNCELoss, info_nce

__all__ = ['FlatNCELoss', 'InfoNCELoss', 'info_nce']
