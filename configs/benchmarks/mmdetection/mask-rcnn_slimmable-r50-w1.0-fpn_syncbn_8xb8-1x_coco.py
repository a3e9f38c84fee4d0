# Mask R-CNN R-50-FPN on COCO, 1x, from one width of a SlimCLR slimmable ResNet-50.
# DetSlimmableResNet runs the sub-network of the chosen width as a plain ResNet and
# slices it out of the slimmable checkpoint at load time (no conversion step). The
# FPN's in_channels are the stage outputs at that width: int(C * width) for
# C = 256, 512, 1024, 2048. Protocol and schedule as the R-50-FPN 1x config.
# Widths 0.75/0.5/0.25: the sibling configs.
_base_ = './mask-rcnn_r50-fpn_syncbn_8xb8-1x_coco.py'

custom_imports = dict(
    imports=['slimselfsup', 'slimselfsup.models.backbones.det_slimmable_resnet'],
    allow_failed_imports=False)

pretrained = ('work_dirs/slimclr-mocov2_slimmable-resnet50_8xb128-amp-coslr-200e_in1k/'
              'epoch_200.pth')
width = 1.0
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetSlimmableResNet',
        depth=50,
        width=width,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[int(c * width) for c in (256, 512, 1024, 2048)]))
