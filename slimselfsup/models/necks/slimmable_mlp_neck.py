"""Slimmable MLP projection / prediction head for SlimCLR."""
from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from slimselfsup.registry import MODELS
from ..slimmable import SlimmableLinear, SwitchableBatchNorm1d


@MODELS.register_module()
class SlimmableMLPNeck(BaseModule):
    """MLP whose hidden layers shrink with the width; its output never does.

    Covers the heads of SlimCLR (`arXiv 2209.15525
    <https://arxiv.org/abs/2209.15525>`_): MoCo v2 (``Linear-ReLU-Linear`` with biases,
    no BN), SimCLR (hidden BN, last BN) and MoCo v3 (projector with a last BN without
    affine, predictor without last BN). Hidden BNs are switchable (one per width); the
    last BN is switchable over the full output size.

    Args:
        in_channels (int): Full-width input channels (the input is sliced to what
            arrives, so a predictor with a fixed input works too).
        hid_channels (int): Full-width hidden channels.
        out_channels (int): Output channels, the same at every width.
        widths (Sequence[float]): The width list. Defaults to (1.0, 0.75, 0.5, 0.25).
        num_layers (int): Number of linear layers. Defaults to 2.
        with_bias (bool): Bias in the hidden linear layers. Defaults to False.
        with_hidden_bn (bool): BN after each hidden linear layer. Defaults to True.
        with_last_bias (bool): Bias in the last linear layer. Defaults to False.
        with_last_bn (bool): BN after the last linear layer. Defaults to True.
        with_last_bn_affine (bool): Affine transform in the last BN. Defaults to True.
        with_avg_pool (bool): Global-average-pool a 4-D input first. Defaults to True.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 widths: Sequence[float] = (1.0, 0.75, 0.5, 0.25),
                 num_layers: int = 2,
                 with_bias: bool = False,
                 with_hidden_bn: bool = True,
                 with_last_bias: bool = False,
                 with_last_bn: bool = True,
                 with_last_bn_affine: bool = True,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        widths = tuple(sorted((float(w) for w in widths), reverse=True))
        self.with_avg_pool = with_avg_pool
        layers = []
        dims = [in_channels] + [hid_channels] * (num_layers - 1)
        for i, d_in in enumerate(dims[:-1]):
            layers.append(SlimmableLinear(d_in, dims[i + 1], bias=with_bias))
            if with_hidden_bn:
                layers.append(SwitchableBatchNorm1d(dims[i + 1], widths))
            layers.append(nn.ReLU(inplace=True))
        layers.append(
            SlimmableLinear(dims[-1], out_channels, bias=with_last_bias, slim_out=False))
        if with_last_bn:
            layers.append(SwitchableBatchNorm1d(out_channels, widths, slim=False,
                                                affine=with_last_bn_affine))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Project the last backbone feature.

        Args:
            x (tuple[torch.Tensor]): Backbone outputs; the last one is used.

        Returns:
            tuple[torch.Tensor]: ``(B, out_channels)`` embeddings.
        """
        feat = x[-1]
        if self.with_avg_pool:
            feat = feat.mean(dim=(2, 3))
        return (self.mlp(feat), )
