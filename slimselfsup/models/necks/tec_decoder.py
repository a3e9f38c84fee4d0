"""TEC's decoder: encoder adaptor, shared transformer blocks, feature and
patch-relation branches."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmpretrain.models.backbones.vision_transformer import TransformerEncoderLayer
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from torch import nn

from slimselfsup.registry import MODELS
from .tec_adapter import TECEncoderAdaptor


class DecoderBranch(nn.Module):
    """One head of the decoder: its own embedding, mask token, norm and output layer.

    Args:
        in_dims (int): Encoder width.
        decoder_dims (int): Decoder width.
        out_dims (int): Output width.
        eps (float): LayerNorm epsilon.
    """

    def __init__(self, in_dims: int, decoder_dims: int, out_dims: int,
                 eps: float) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dims, decoder_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dims))
        self.norm = nn.LayerNorm(decoder_dims, eps=eps)
        self.pred = nn.Linear(decoder_dims, out_dims)


@MODELS.register_module()
class TECDecoder(BaseModule):
    """Decoder of `Towards Sustainable Self-supervised Learning
    <https://arxiv.org/abs/2210.11016>`_ (TEC).

    The encoder adaptor fuses all encoder layers; two branches then each embed the
    visible tokens, add their own mask tokens, unshuffle (as MAE) and run the
    *shared* decoder blocks. The feature branch predicts the base model's feature
    target for every patch; the relation branch predicts ``q`` and ``k`` for the
    base model's heads and returns the relation logits of the cls token and of the
    base model's top-K patches to all patches, ``q k^T / sqrt(target_dims)``
    (scaled by the full width, as the reference).

    Args:
        num_patches (int): Patches per image. Defaults to 196.
        embed_dims (int): Encoder width. Defaults to 768.
        num_layers (int): Encoder depth (inputs of the adaptor). Defaults to 12.
        target_dims (int, optional): Base model width; defaults to ``embed_dims``.
        target_heads (int): Base model heads. Defaults to 12.
        decoder_embed_dims (int): Decoder width. Defaults to 512.
        decoder_depth (int): Shared decoder blocks. Defaults to 2.
        decoder_num_heads (int): Decoder heads. Defaults to 16.
        mlp_ratio (float): Decoder MLP ratio. Defaults to 4.
        layers_per_group (int): Adaptor group size. Defaults to 3.
        predict_relation (bool): Build the relation branch (``--pred_att``).
            Defaults to True.
        eps (float): LayerNorm epsilon of the decoder. Defaults to 1e-6.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 num_patches: int = 196,
                 embed_dims: int = 768,
                 num_layers: int = 12,
                 target_dims: Optional[int] = None,
                 target_heads: int = 12,
                 decoder_embed_dims: int = 512,
                 decoder_depth: int = 2,
                 decoder_num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 layers_per_group: int = 3,
                 predict_relation: bool = True,
                 eps: float = 1e-6,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_patches = num_patches
        self.target_dims = target_dims or embed_dims
        self.target_heads = target_heads
        if self.target_dims % target_heads:
            raise ValueError(f'TECDecoder: target_dims={self.target_dims} is not '
                             f'divisible by target_heads={target_heads}')
        self.adaptor = TECEncoderAdaptor(embed_dims, num_layers, layers_per_group,
                                         hidden_dims=int(4 * decoder_embed_dims))
        self.decoder_blocks = nn.ModuleList(
            TransformerEncoderLayer(decoder_embed_dims, decoder_num_heads,
                                    int(mlp_ratio * decoder_embed_dims),
                                    norm_cfg=dict(type='LN', eps=eps))
            for _ in range(decoder_depth))
        self.decoder_pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, decoder_embed_dims), requires_grad=False)
        self.feat_branch = DecoderBranch(embed_dims, decoder_embed_dims,
                                         self.target_dims, eps)
        self.att_branch = DecoderBranch(embed_dims, decoder_embed_dims,
                                        2 * self.target_dims, eps) \
            if predict_relation else None

    def init_weights(self) -> None:
        """Fixed 2-D sin-cos decoder position embedding, N(0, 0.02) mask tokens."""
        super().init_weights()
        pos = build_2d_sincos_position_embedding(
            int(self.num_patches**.5), self.decoder_pos_embed.shape[-1], cls_token=True)
        self.decoder_pos_embed.data.copy_(pos.float())
        for branch in (self.feat_branch, self.att_branch):
            if branch is not None:
                nn.init.normal_(branch.mask_token, std=.02)

    def decode(self, branch: DecoderBranch, latent: torch.Tensor,
               ids_restore: torch.Tensor) -> torch.Tensor:
        """Embed, fill in mask tokens, unshuffle, shared blocks, branch norm.

        Returns:
            torch.Tensor: ``(B, 1 + L, decoder_embed_dims)``, cls first.
        """
        x = branch.embed(latent)
        B, T, C = x.shape
        masks = branch.mask_token.expand(B, ids_restore.shape[1] + 1 - T, -1)
        x_ = torch.cat([x[:, 1:], masks], dim=1)
        x_ = torch.gather(x_, 1, ids_restore.unsqueeze(-1).expand(-1, -1, C))
        x = torch.cat([x[:, :1], x_], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return branch.norm(x)

    def forward(self, layer_outputs: Sequence[torch.Tensor], ids_restore: torch.Tensor,
                topk_idx: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Predict the targets.

        Args:
            layer_outputs (Sequence[Tensor]): Encoder layer outputs ``(B, T, D)``.
            ids_restore (Tensor): ``(B, L)`` unshuffling indices.
            topk_idx (Tensor, optional): ``(B, K)`` patch indices (0-based, cls
                excluded) of the relation rows; needed by the relation branch.

        Returns:
            tuple: Feature predictions ``(B, L, target_dims)`` and relation logits
            ``(B, H, 1 + K, L)`` (None without the relation branch).
        """
        latent = self.adaptor(layer_outputs)
        feat = self.feat_branch.pred(
            self.decode(self.feat_branch, latent, ids_restore))[:, 1:]
        if self.att_branch is None:
            return feat, None
        if topk_idx is None:
            raise ValueError('TECDecoder: the relation branch needs topk_idx from the '
                             'target generator')
        x = self.decode(self.att_branch, latent, ids_restore)
        B, T, _ = x.shape
        H = self.target_heads
        q, k = self.att_branch.pred(x).reshape(B, T, 2, H, -1).unbind(2)
        rows = torch.gather(q[:, 1:], 1, topk_idx[:, :, None, None].expand(
            -1, -1, H, q.shape[-1]))
        q = torch.cat([q[:, :1], rows], dim=1)  # (B, 1 + K, H, dh)
        logits = torch.einsum('bqhd,bkhd->bhqk', q, k[:, 1:])
        return feat, logits * self.target_dims**-0.5
