"""SimCLR: contrast two views of every image against the rest of the batch."""
from typing import Dict, List

import torch
from mmengine.dist import get_rank
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import nn

from slimselfsup.registry import MODELS
from ..data_preprocessors import concat_views
from ..utils import all_gather_with_grad


def split_pos_neg(sim: torch.Tensor, pos_col: torch.Tensor,
                  self_col: torch.Tensor) -> tuple:
    """Split a similarity matrix into positives and negatives.

    The negatives are gathered with column indices computed on the device (each
    row's kept columns in order), not selected with a boolean mask, whose output
    size a GPU would have to report to the host every step (forward and backward).

    Args:
        sim (torch.Tensor): ``(N, M)`` similarities of N anchors to M candidates.
        pos_col (torch.Tensor): ``(N,)`` column of each anchor's positive.
        self_col (torch.Tensor, optional): ``(N,)`` column of each anchor itself,
            dropped from the negatives; ``None`` when anchors are not candidates.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``pos (N, 1)`` and ``neg (N, M - k)`` with
        ``k`` = 1 or 2 dropped columns per row, in column order.
    """
    n, m = sim.shape
    rows = torch.arange(n, device=sim.device)
    pos = sim[rows, pos_col].unsqueeze(1)
    dropped = [pos_col] if self_col is None else [torch.minimum(pos_col, self_col),
                                                  torch.maximum(pos_col, self_col)]
    cols = torch.arange(m - len(dropped), device=sim.device).expand(n, -1)
    for col in dropped:  # ascending: shift the indices at or past each dropped column
        cols = cols + (cols >= col[:, None])
    return pos, sim.gather(1, cols)


@MODELS.register_module()
class SimCLR(BaseSelfSupervisor):
    """SimCLR from `A Simple Framework for Contrastive Learning of Visual
    Representations <https://arxiv.org/abs/2002.05709>`_.

    Each rank scores its own ``2B`` anchors against the ``2B * world_size``
    embeddings of the global batch (gathered with gradient), which equals one
    process holding the whole batch at ``1 / world_size`` of the compute. With
    ``NCEHead(loss=FlatNCELoss)`` this is FlatCLR (arXiv 2107.01152).

    Args:
        backbone (dict): Backbone config.
        neck (dict): Projection head config (e.g. ``NonLinearNeck``).
        head (dict): Head config, e.g. ``NCEHead`` with ``InfoNCELoss(T=0.1)``.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the SimCLR loss of a batch of two views.

        Args:
            inputs (list[torch.Tensor]): Two views, each ``(B, C, H, W)``.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: Loss and monitored values.
        """
        b = inputs[0].shape[0]
        z = self.neck(self.backbone(concat_views(inputs[:2])))[0]
        z = nn.functional.normalize(z, dim=1)
        candidates = all_gather_with_grad(z)
        offset = get_rank() * 2 * b
        local = torch.arange(2 * b, device=z.device)
        self_col = offset + local
        pos_col = offset + (local + b) % (2 * b)
        pos, neg = split_pos_neg(z @ candidates.t(), pos_col, self_col)
        return self.head.loss(pos, neg)
