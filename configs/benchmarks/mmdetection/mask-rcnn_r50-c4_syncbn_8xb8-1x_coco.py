# Mask R-CNN R-50-C4 on COCO, 1x, fine-tuning a self-supervised backbone: stages 1-3
# are the backbone, stage 4 (res5) is the RoI head's shared head; both load the
# pretrained weights (prefix `backbone.`; the shared head takes the `layer4.*` keys).
# MoCo's C4 protocol (facebookresearch/moco detection/configs: SyncBN in the backbone
# and the res5 head, all stages trained) with the schedule of
# mask-rcnn_r50-fpn_syncbn_8xb8-1x_coco.py (8 x 8 images, lr 0.08, single scale
# 1333x800; MoCo's own runs use 16 images at lr 0.02 and multi-scale training, see
# the README's differences). mmdet's C4 base is
# caffe-style with BGR caffe normalisation and frozen BN; our backbones are
# pytorch-style (stride in the 3x3 conv) and expect RGB ImageNet mean/std.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py'

custom_imports = dict(imports=['slimselfsup'], allow_failed_imports=False)

# The launchers replace both checkpoints (backbone and shared head).
pretrained = 'work_dirs/mocov2_resnet50_8xb32-coslr-200e_in1k/epoch_200.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        style='pytorch',
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    roi_head=dict(
        shared_head=dict(
            style='pytorch',
            norm_cfg=norm_cfg,
            norm_eval=False,
            init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.'))))

train_dataloader = dict(batch_size=8, num_workers=4)
optim_wrapper = dict(
    optimizer=dict(lr=0.08), clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=64)
