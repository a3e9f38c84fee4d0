"""The masked ViT encoder of TEC (MAE's encoder plus the MLP cls token)."""
from typing import List, Optional, Tuple, Union

import torch
from mmpretrain.models.selfsup import MAEViT
from mmpretrain.models.utils import resize_pos_embed

from slimselfsup.registry import MODELS
from ..necks.tec_adapter import ClsTokenMLP


@MODELS.register_module()
class TECViT(MAEViT):
    """Encoder of `Towards Sustainable Self-supervised Learning
    <https://arxiv.org/abs/2210.11016>`_ (TEC).

    mmpretrain's :class:`MAEViT` (fixed sin-cos position embedding, random masking
    of ``mask_ratio`` of the patches, encoder on the visible ones) with two changes:
    the cls token can go through an MLP (the input adaptor, ``mlp_token``), and the
    masked forward returns the output of every layer (the last one after the final
    LayerNorm) for the encoder adaptor. Parameter names equal mmpretrain's
    ``VisionTransformer`` plus ``cls_token_mlp.*``.

    Args:
        arch (str | dict): ViT architecture. Defaults to 'b'.
        img_size (int): Input size. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        out_indices (int | list[int]): Outputs of the unmasked forward.
            Defaults to -1.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
        norm_cfg (dict): Norm layers. Defaults to ``dict(type='LN', eps=1e-6)``.
        out_type (str): Unmasked output (``'cls_token'``, ``'raw'``, ``'featmap'``).
            Defaults to ``'cls_token'``.
        mask_ratio (float): Fraction of masked patches. Defaults to 0.75.
        mlp_token (bool): Pass the cls token through :class:`ClsTokenMLP`.
            Defaults to True.
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 out_indices: Union[int, List[int]] = -1,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 out_type: str = 'cls_token',
                 mask_ratio: float = 0.75,
                 mlp_token: bool = True,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if out_type == 'avg_featmap':
            raise ValueError("TECViT: out_type='avg_featmap' adds a norm the masked "
                             "forward never uses; use 'cls_token', 'raw' or 'featmap'")
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size,
                         out_indices=out_indices, drop_path_rate=drop_path_rate,
                         norm_cfg=norm_cfg, final_norm=True, out_type=out_type,
                         mask_ratio=mask_ratio, init_cfg=init_cfg)
        self.cls_token_mlp = ClsTokenMLP(self.embed_dims) if mlp_token else None

    def cls_embedding(self) -> torch.Tensor:
        """The ``(1, 1, D)`` cls token the encoder sees (before position embedding)."""
        if self.cls_token_mlp is None:
            return self.cls_token
        return self.cls_token_mlp(self.cls_token)

    def forward(self, x: torch.Tensor, mask: Optional[bool] = True
                ) -> Union[Tuple[List[torch.Tensor], torch.Tensor, torch.Tensor],
                           Tuple[torch.Tensor, ...]]:
        """Masked forward (``mask=True``) or plain feature extraction.

        Returns:
            With ``mask``: ``(layer_outputs, mask, ids_restore)``: a list of
            ``(B, 1 + L_vis, D)`` tensors, one per layer; the ``(B, L)`` mask (1 =
            masked) and the unshuffling indices. Without: the tuple of
            ``VisionTransformer`` outputs selected by ``out_indices``/``out_type``.
        """
        B = x.shape[0]
        if not mask:
            x, hw = self.patch_embed(x)
            x = torch.cat((self.cls_embedding().expand(B, -1, -1), x), dim=1)
            x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, hw,
                                     mode=self.interpolate_mode, num_extra_tokens=1)
            outs = []
            for i, layer in enumerate(self.layers):
                x = layer(x)
                if i == len(self.layers) - 1:
                    x = self.ln1(x)
                if i in self.out_indices:
                    outs.append(self._format_output(x, hw))
            return tuple(outs)

        x = self.patch_embed(x)[0] + self.pos_embed[:, 1:, :]
        x, mask, ids_restore = self.random_masking(x, self.mask_ratio)
        cls = self.cls_embedding() + self.pos_embed[:, :1, :]
        x = torch.cat((cls.expand(B, -1, -1), x), dim=1)
        layer_outputs = []
        for layer in self.layers:
            x = layer(x)
            layer_outputs.append(x)
        layer_outputs[-1] = self.ln1(x)
        return layer_outputs, mask, ids_restore
