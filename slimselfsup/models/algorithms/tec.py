"""TEC: MAE-style pretraining of a new model from a frozen base model."""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from slimselfsup.registry import MODELS


@MODELS.register_module()
class TEC(BaseSelfSupervisor):
    """Target-Enhanced Conditional pretraining from `Towards Sustainable
    Self-supervised Learning <https://arxiv.org/abs/2210.11016>`_ (Gao et al.).

    A masked ViT (``backbone``, e.g. :class:`TECViT`, mask ratio 0.75) learns from a
    frozen, already pretrained base model (``target_generator``,
    :class:`TECTargetGenerator`, e.g. an MAE or iBoT ViT) that sees the full image.
    The conditional adapter (MLP cls token in the backbone, encoder adaptor in the
    ``neck``, :class:`TECDecoder`) lets the new model fit the base model's targets:
    its features (mean of the last layers, loss on masked patches) and its
    patch relations (attention logits of the cls token and of its most attended
    patches). ``head`` (:class:`TECHead`) holds the two losses.

    Args:
        backbone (dict): Masked encoder config.
        neck (dict): Adaptor + decoder config.
        head (dict): Loss config.
        target_generator (dict): Frozen base model config.
        data_preprocessor (dict, optional): Defaults to None
            (``SelfSupDataPreprocessor``).
        init_cfg (dict | list[dict], optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 target_generator: dict,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(backbone=backbone, neck=neck, head=head,
                         target_generator=target_generator,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self._check_shapes()

    def _check_shapes(self) -> None:
        """Fail at build time when the decoder cannot predict the base model's
        targets."""
        gen, neck = self.target_generator, self.neck
        problems = []
        if neck.target_dims != gen.embed_dims:
            problems.append(f'neck.target_dims={neck.target_dims} but the base model '
                            f'width is {gen.embed_dims}')
        with_att = neck.att_branch is not None
        if with_att != gen.with_relation or with_att != (self.head.att_loss is not None):
            problems.append('relation targets must be on or off everywhere: '
                            f'target_generator.with_relation={gen.with_relation}, '
                            f'neck.predict_relation={with_att}, head.att_loss='
                            f'{type(self.head.att_loss).__name__}')
        if with_att and neck.target_heads != gen.num_heads:
            problems.append(f'neck.target_heads={neck.target_heads} but the base model '
                            f'has {gen.num_heads} heads')
        if neck.num_patches != self.backbone.num_patches:
            problems.append(f'neck.num_patches={neck.num_patches} but the backbone has '
                            f'{self.backbone.num_patches} patches')
        if problems:
            raise ValueError('TEC config mismatch: ' + '; '.join(problems))

    def extract_feat(self, inputs: torch.Tensor):
        """Unmasked features of the new model (cls token by default)."""
        return self.backbone(inputs, mask=None)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Losses of a batch.

        Args:
            inputs (torch.Tensor): Images ``(B, 3, H, W)``; the base model and the
                new model see the same crop.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_feat`` and (with relations) ``loss_att``.
        """
        target_feat, target_att, topk_idx = self.target_generator(inputs)
        layer_outputs, mask, ids_restore = self.backbone(inputs)
        pred_feat, pred_att = self.neck(layer_outputs, ids_restore, topk_idx)
        return self.head.loss(pred_feat, target_feat, mask, pred_att, target_att)
