"""The conditional adapter of TEC: an MLP cls token and a multi-layer encoder adaptor.

From `Towards Sustainable Self-supervised Learning
<https://arxiv.org/abs/2210.11016>`_ (Gao et al.). The input adaptor passes the
learnable cls token through an MLP, so each base model's target gets its own input
condition; the encoder adaptor fuses all encoder layers before the decoders, so the
new model can match targets taken from several depths of the base model.
"""
from typing import List, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2``, without residual.

    Args:
        in_dims (int): Input and output width.
        hidden_dims (int): Hidden width.
    """

    def __init__(self, in_dims: int, hidden_dims: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dims, hidden_dims)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dims, in_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ClsTokenMLP(Mlp):
    """Input adaptor (``--mlp_token`` of the reference): ``cls = MLP(cls_token)``.

    Its input is a parameter, so its output is constant at inference and can be
    folded into a plain cls token (``tools/convert_ckpt.py tec-finetune``).

    Args:
        embed_dims (int): Token width ``D``.
        mlp_ratio (float): Hidden width ``mlp_ratio * D``. Defaults to 4.
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4.) -> None:
        super().__init__(embed_dims, int(embed_dims * mlp_ratio))


class TECEncoderAdaptor(BaseModule):
    """Encoder adaptor: fuse the outputs of all encoder layers.

    ``LN`` over the concatenation of the ``L`` layer outputs (``L * D`` channels),
    split into ``L / layers_per_group`` groups of consecutive layers; each group
    ``g``: ``y = Linear_g(x_g)``, ``y = y + MLP_g(y)``; the groups are summed and
    normalised.

    Args:
        embed_dims (int): Token width ``D``.
        num_layers (int): Number of encoder layers ``L``.
        layers_per_group (int): Layers fused by one linear layer. Defaults to 3.
        hidden_dims (int): Hidden width of the MLPs (the reference: 4 x decoder
            width). Defaults to 2048.
        eps (float): LayerNorm epsilon (the reference keeps PyTorch's default
            here). Defaults to 1e-5.
    """

    def __init__(self, embed_dims: int, num_layers: int, layers_per_group: int = 3,
                 hidden_dims: int = 2048, eps: float = 1e-5) -> None:
        super().__init__()
        if num_layers % layers_per_group:
            raise ValueError(f'TECEncoderAdaptor: num_layers={num_layers} is not a '
                             f'multiple of layers_per_group={layers_per_group}; use '
                             'a depth divisible by it or change layers_per_group')
        self.num_layers = num_layers
        groups = num_layers // layers_per_group
        self.norm_in = nn.LayerNorm(embed_dims * num_layers, eps=eps)
        self.fuse = nn.ModuleList(
            nn.Linear(embed_dims * layers_per_group, embed_dims) for _ in range(groups))
        self.mlps = nn.ModuleList(Mlp(embed_dims, hidden_dims) for _ in range(groups))
        self.norm_out = nn.LayerNorm(embed_dims, eps=eps)

    def forward(self, layer_outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Fuse ``L`` tensors ``(B, T, D)`` into one ``(B, T, D)``."""
        if len(layer_outputs) != self.num_layers:
            raise ValueError(f'TECEncoderAdaptor expects {self.num_layers} layer '
                             f'outputs, got {len(layer_outputs)}')
        chunks: List[torch.Tensor] = self.norm_in(torch.cat(list(layer_outputs), -1)
                                                  ).chunk(len(self.fuse), dim=-1)
        out = 0
        for chunk, fuse, mlp in zip(chunks, self.fuse, self.mlps):
            y = fuse(chunk)
            out = out + y + mlp(y)
        return self.norm_out(out)
