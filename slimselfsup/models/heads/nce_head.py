"""Head that scores positive/negative similarities with an NCE-style loss."""
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from slimselfsup.registry import MODELS


@MODELS.register_module()
class NCEHead(BaseModule):
    """Contrastive head over explicit positive and negative similarities.

    Used by MoCo v2/v3 and SimCLR; the objective is pluggable, e.g.
    ``dict(type='InfoNCELoss', temperature=0.2)`` or ``dict(type='FlatNCELoss')``
    (FlatCLR = SimCLR with FlatNCE).

    Args:
        loss (dict): Config of the loss module; it takes ``(pos, neg)`` and returns
            a tensor or a dict with a ``loss`` entry. Defaults to InfoNCE, T=0.1.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 loss: dict = dict(type='InfoNCELoss', temperature=0.1),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)

    def loss(self, pos: torch.Tensor,
             neg: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Compute the loss.

        Args:
            pos (torch.Tensor): Positive similarities, shape ``(N, 1)``.
            neg (torch.Tensor): Negative similarities, shape ``(N, K)``.

        Returns:
            dict[str, torch.Tensor]: ``loss`` plus any monitored values.
        """
        out = self.loss_module(pos, neg)
        return out if isinstance(out, dict) else dict(loss=out)
