# Mask R-CNN R-50-FPN on COCO, 1x (12 epochs), fine-tuning a self-supervised backbone,
# with the protocol of SlimCLR's Mask R-CNN runs (mzhaoshuai/SlimCLR,
# benchmark/configs/mask_rcnn_r50_fpn_1x_8gpu_bs64.py): mmdet's plain FPN and heads
# (2fc box head, no normalisation in FPN or heads), every stage trained
# (frozen_stages=-1) with BN statistics updated (norm_eval=False); 8 GPUs x 8 images,
# SGD lr 0.08, momentum 0.9, wd 1e-4, grad clip 35, linear warm-up over 500 iterations
# from 0.001, lr x0.1 after epochs 8 and 11; 1333x800, flip 0.5. One deliberate
# difference: SyncBN in the backbone where SlimCLR's BNs are per GPU (README).
# MoCo's protocol with SyncBN also in the FPN and a 4conv1fc box head, about 1 AP
# higher: mask-rcnn_r50-fpn-4conv1fc_syncbn_8xb8-1x_coco.py.
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
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')))
# the FPN, Shared2FCBBoxHead and FCNMaskHead stay mmdet's, without normalisation

train_dataloader = dict(batch_size=8, num_workers=4)
optim_wrapper = dict(
    optimizer=dict(lr=0.08), clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=64)
