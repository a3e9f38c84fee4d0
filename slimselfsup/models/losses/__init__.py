from .flat_nce import FlatNCELoss
from .info_nce import InfoNCELoss, info_nce
from .soft_distill import SoftDistillLoss

__all__ = ['FlatNCELoss', 'InfoNCELoss', 'info_nce', 'SoftDistillLoss']
