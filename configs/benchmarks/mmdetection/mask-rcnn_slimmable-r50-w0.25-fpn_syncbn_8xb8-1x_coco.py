# Mask R-CNN R-50-FPN on COCO, 1x, from width 0.25 of a SlimCLR slimmable ResNet-50.
_base_ = './mask-rcnn_slimmable-r50-w1.0-fpn_syncbn_8xb8-1x_coco.py'

width = 0.25
model = dict(
    backbone=dict(width=width),
    neck=dict(in_channels=[int(c * width) for c in (256, 512, 1024, 2048)]))
