"""timm networks as backbones that return timm's pooled pre-logits features."""
from typing import Tuple

import torch
from mmpretrain.models.backbones import TIMMBackbone

from slimselfsup.registry import MODELS


@MODELS.register_module()
class TIMMPreLogits(TIMMBackbone):
    """mmpretrain's :class:`~mmpretrain.models.backbones.TIMMBackbone`, returning
    ``forward_head(forward_features(x), pre_logits=True)``: the pooled ``(B, C)``
    vector a timm classifier would feed its last linear layer.

    ``TIMMBackbone`` removes the pooling and returns the un-pooled map after the
    head's layers, which for MobileNetV3 applies the 960->1280 ``conv_head`` and
    hard-swish to every position instead of to the pooled vector. SEED's students
    (EfficientNet-B0/B1: 1280-d, MobileNetV3-Large: 1280-d after the 960->1280
    head layer) take their MLP head on the pooled vector, which this gives. Use a
    neck without average pooling (e.g. ``MoCoV2Neck(with_avg_pool=False)``).

    Args:
        model_name (str): timm model name, e.g. ``'efficientnet_b0'``,
            ``'mobilenetv3_large_100'``.
        global_pool (str): timm pooling type. Defaults to ``'avg'``.
        **kwargs: Other arguments of ``TIMMBackbone`` / ``timm.create_model``
            (``pretrained`` must stay False: nothing downloads at run time).
    """

    def __init__(self, model_name: str, global_pool: str = 'avg', **kwargs) -> None:
        if kwargs.get('features_only'):
            raise ValueError('TIMMPreLogits returns pooled features; for feature '
                             'maps use TIMMBackbone(features_only=True)')
        super().__init__(model_name=model_name, **kwargs)
        self.timm_model.reset_classifier(0, global_pool)
        self.feat_dim = self.timm_model.num_features
        if hasattr(self.timm_model, 'head_hidden_size'):
            self.feat_dim = self.timm_model.head_hidden_size

    def train(self, mode: bool = True) -> 'TIMMPreLogits':
        """Like ``nn.Module.train``, returning ``self`` (mmpretrain's returns None)."""
        super().train(mode)
        return self

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        feats = self.timm_model.forward_features(x)
        return (self.timm_model.forward_head(feats, pre_logits=True), )
