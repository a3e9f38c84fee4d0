from .flat_nce import FlatNCELoss
from .info_nce import InfoNCELoss, info_nce
from .relation_soft_ce_loss import RelationSoftCELoss
from .seed_loss import SEEDLoss
from .soft_distill import SoftDistillLoss, soft_cross_entropy
from .token_norm_mse_loss import TokenNormMSELoss

__all__ = ['FlatNCELoss', 'InfoNCELoss', 'info_nce', 'SoftDistillLoss', 'RelationSoftCELoss',
           'SEEDLoss', 'TokenNormMSELoss', 'soft_cross_entropy']
