# Mask R-CNN R-50-FPN on COCO, 1x (12 epochs), fine-tuning a self-supervised backbone.
# Transfer protocol of MoCo (He et al., 2020, arXiv:1911.05722): every stage trains
# (frozen_stages=-1), BN statistics update (norm_eval=False) and SyncBN normalises
# the backbone, the FPN and the RoI heads (4conv1fc box head, mask head).
# Schedule of SlimCLR's Mask R-CNN runs (mask_rcnn_r50_fpn_1x_8gpu_bs64): 8 GPUs x 8
# images, SGD lr 0.08, momentum 0.9, wd 1e-4, grad clip 35, linear warm-up over 500
# iterations from 0.001, lr x0.1 after epochs 8 and 11; 1333x800, flip 0.5.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

# `import slimselfsup` lets torch>=2.6 load our checkpoints (mmengine's
# message hub in them) with weights_only loading left on.
custom_imports = dict(imports=['slimselfsup'], allow_failed_imports=False)

# The output of configs/mocov2/mocov2_resnet50_8xb32-coslr-200e_in1k.py; the launchers
# replace it: `--cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN`.
pretrained = 'work_dirs/mocov2_resnet50_8xb32-coslr-200e_in1k/epoch_200.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        # our algorithms store the online backbone under `backbone.`
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead', conv_out_channels=256, norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))

train_dataloader = dict(batch_size=8, num_workers=4)
optim_wrapper = dict(
    optimizer=dict(lr=0.08), clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=64)
