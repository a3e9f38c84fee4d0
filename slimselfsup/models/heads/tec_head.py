"""TEC's head: the feature loss plus the patch-relation loss."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from slimselfsup.registry import MODELS


@MODELS.register_module()
class TECHead(BaseModule):
    """Losses of `Towards Sustainable Self-supervised Learning
    <https://arxiv.org/abs/2210.11016>`_ (TEC): ``loss_feat + loss_att`` (weights
    1 and 1 in the reference; set them with each loss's ``loss_weight``).

    Args:
        feat_loss (dict): Feature loss, e.g. ``dict(type='TokenNormMSELoss')``.
        att_loss (dict, optional): Relation loss, e.g.
            ``dict(type='RelationSoftCELoss', tau=1.8)``; None without relation
            targets. Defaults to None.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self, feat_loss: dict, att_loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.feat_loss = MODELS.build(feat_loss)
        self.att_loss = MODELS.build(att_loss) if att_loss is not None else None

    def loss(self, pred_feat: torch.Tensor, target_feat: torch.Tensor,
             mask: torch.Tensor, pred_att: Optional[torch.Tensor] = None,
             target_att: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Feature loss on masked patches, relation loss on the selected rows."""
        losses = dict(loss_feat=self.feat_loss(pred_feat, target_feat, mask))
        if self.att_loss is not None:
            if pred_att is None or target_att is None:
                raise ValueError('TECHead has a relation loss but got no relation '
                                 'prediction/target')
            losses['loss_att'] = self.att_loss(pred_att, target_att)
        return losses
