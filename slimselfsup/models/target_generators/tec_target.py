"""TEC's targets: features and patch relations of a frozen base ViT."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.models.utils import resize_pos_embed
from torch import nn

from slimselfsup.registry import MODELS
from .frozen_teacher import FrozenTeacher

#: How to get a base-model checkpoint, in the error of an unfit one.
BASE_HINT = ('Convert official weights first with tools/convert_ckpt.py (mae, ibot, '
             'mocov3-vit, or tec-finetune --option keep_norm=True for a TEC model) or name '
             'that converter in model.target_generator.converter, and make base_model '
             'match their architecture.')


@MODELS.register_module()
class TECTargetGenerator(BaseModule):
    """Patch-relation enhanced targets of `Towards Sustainable Self-supervised
    Learning <https://arxiv.org/abs/2210.11016>`_ (TEC).

    A frozen base model (an mmpretrain ``VisionTransformer``, e.g. a converted MAE,
    iBoT or MoCo v3 ViT, or an earlier TEC model) sees the full image and gives:

    * the feature target: the mean of the outputs of its last ``last_layers``
      layers, patch tokens only, before the final norm, ``(B, L, D)``;
    * the relation target: the pre-softmax, ``head_dim^-1/2``-scaled attention
      logits of its last layer for the cls query and the ``topk`` patches with the
      largest head-averaged cls-to-patch logit, patch keys only, ``(B, H, 1 + K, L)``;
    * the indices of those patches, ``(B, K)``.

    The base model is a :class:`FrozenTeacher` (``self.base``): no gradients, always
    in eval mode, and kept out of ``parameters()`` and ``state_dict()`` so
    optimizers, DDP and checkpoints never see it; ``init_weights`` loads it from
    ``checkpoint`` (strictly).

    Args:
        base_model (dict): Config of the base ``VisionTransformer``.
        checkpoint (str, optional): Its weights: a file whose ``state_dict`` (or
            ``model``) holds ``prefix`` + ViT keys, e.g. from
            ``tools/convert_ckpt.py mae|ibot|mocov3-vit`` or an MAE or MoCo v3 run of
            this toolbox. None keeps random weights (tests and benchmarks only).
            Defaults to None.
        prefix (str): Key prefix of the base model in the checkpoint.
            Defaults to ``'backbone.'``.
        converter (str, optional): A converter run on ``checkpoint`` when loading, so
            an unconverted file serves: ``'mocov3-vit'`` (a MoCo v3 run, ours or
            official), ``'tec-finetune'`` with ``converter_options=dict(keep_norm=True)``
            (a TEC run: a second TEC round), ``'mae'``, ``'ibot'``. Defaults to None.
        converter_options (dict, optional): Options of ``converter``.
            Defaults to None.
        last_layers (int): Layers averaged into the feature target. Defaults to 2.
        topk (int): Patch rows of the relation target (``topkatt``).
            Defaults to 15.
        with_relation (bool): Build the relation target (``pred_att``).
            Defaults to True.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 base_model: dict,
                 checkpoint: Optional[str] = None,
                 prefix: str = 'backbone.',
                 converter: Optional[str] = None,
                 converter_options: Optional[dict] = None,
                 last_layers: int = 2,
                 topk: int = 15,
                 with_relation: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.base = FrozenTeacher(
            base_model, checkpoint=checkpoint, prefix=prefix, in_checkpoint=False,
            name='TEC base model', given_as='model.target_generator.checkpoint',
            hint=BASE_HINT, converter=converter, converter_options=converter_options,
            model_given_as='model.target_generator.base_model')
        model = self.base.model
        if not isinstance(getattr(model, 'layers', None), nn.ModuleList) or not all(
                hasattr(layer, 'attn') and hasattr(layer.attn, 'qkv')
                for layer in model.layers) or getattr(model, 'cls_token', None) is None:
            raise TypeError(f'TECTargetGenerator: base_model must be a ViT with a cls '
                            f'token and qkv attention (mmpretrain VisionTransformer), '
                            f'got {type(model).__name__}')
        num_patches = model.patch_resolution[0] * model.patch_resolution[1]
        if not 1 <= last_layers <= len(model.layers):
            raise ValueError(f'last_layers={last_layers} must be in [1, '
                             f'{len(model.layers)}]')
        if with_relation and not 1 <= topk <= num_patches:
            raise ValueError(f'topk={topk} must be in [1, {num_patches}] patches')
        self.last_layers = last_layers
        self.topk = topk
        self.with_relation = with_relation

    @property
    def base_model(self) -> nn.Module:
        """The frozen base ViT."""
        return self.base.model

    @property
    def embed_dims(self) -> int:
        return self.base_model.embed_dims

    @property
    def num_heads(self) -> int:
        return self.base_model.layers[-1].attn.num_heads

    @staticmethod
    def _attention_logits(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Pre-softmax scaled logits ``(B, H, T, T)`` of ``layer``'s attention."""
        attn = layer.attn
        B, T, _ = x.shape
        qkv = attn.qkv(layer.ln1(x)).reshape(B, T, 3, attn.num_heads, -1)
        q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
        return (q @ k.transpose(-2, -1)) * q.shape[-1]**-0.5

    @torch.no_grad()
    def forward(self, inputs: torch.Tensor
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """Targets of a batch of full (unmasked) images ``(B, 3, H, W)``.

        Returns:
            tuple: ``(features, relation_logits, topk_idx)``; the last two are None
            without ``with_relation``.
        """
        m = self.base_model
        B = inputs.shape[0]
        x, hw = m.patch_embed(inputs)
        x = torch.cat((m.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(m.pos_embed, m.patch_resolution, hw,
                                 mode=m.interpolate_mode, num_extra_tokens=1)
        x = m.pre_norm(m.drop_after_pos(x))
        n = len(m.layers)
        feats, logits = 0, None
        for i, layer in enumerate(m.layers):
            if i == n - 1 and self.with_relation:
                logits = self._attention_logits(layer, x)
            x = layer(x)
            if i >= n - self.last_layers:
                feats = feats + x[:, 1:]
        feats = feats / self.last_layers
        if logits is None:
            return feats, None, None
        topk_idx = logits[:, :, 0, 1:].mean(dim=1).topk(self.topk, dim=1).indices
        H, L = logits.shape[1], logits.shape[-1] - 1
        rows = torch.gather(logits[:, :, 1:, 1:], 2,
                            topk_idx[:, None, :, None].expand(B, H, -1, L))
        rows = torch.cat([logits[:, :, :1, 1:], rows], dim=2)
        return feats, rows, topk_idx
