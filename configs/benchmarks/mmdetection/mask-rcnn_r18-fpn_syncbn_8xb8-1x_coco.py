# Mask R-CNN R-18-FPN on COCO, 1x: SEED students (ResNet-18) and other ResNet-18s
# pretrained here (e.g. MoCo v2). Protocol and schedule as the R-50-FPN 1x config; the
# FPN takes ResNet-18's 64/128/256/512 channels.
# The checkpoint prefix is where the pretraining stored the network to transfer:
# `backbone.` for our MoCo/SimCLR; for a SEED checkpoint the student's backbone
# prefix of that algorithm (`--cfg-options model.backbone.init_cfg.prefix=...`); the
# original SEED release (torchvision layout) loads with `module.student.`.
_base_ = './mask-rcnn_r50-fpn_syncbn_8xb8-1x_coco.py'

pretrained = 'work_dirs/seed_resnet18/epoch_200.pth'
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
