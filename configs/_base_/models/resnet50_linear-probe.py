# Linear probe of a pretrained ResNet-50: mmpretrain's ImageClassifier (ResNet-50,
# global pooling, one linear layer) with every stage frozen and its BN in eval mode,
# the backbone loaded from a pretraining checkpoint, where our algorithms keep the
# encoder under `backbone.`:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_N.pth
_base_ = 'mmpretrain::_base_/models/resnet50.py'
model = dict(
    backbone=dict(
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
