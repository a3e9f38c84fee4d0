# Linear evaluation of a FlatCLR ResNet-50 with the reference's protocol (FlatCLR's
# main.py fc_* defaults, train_fc.py): frozen backbone, one linear layer, SGD lr 1.6,
# momentum 0.9, wd 0, cosine per iteration to 1e-6 without warm-up, 100 epochs,
# batch 4096 (8 GPUs x 512), RandomResizedCrop 224 (bicubic) + flip; val Resize 256 /
# CenterCrop 224. Pass the checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_100.pth
_base_ = [
    '../../_base_/models/resnet50_linear-probe.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_100e.py',
    '../../_base_/default_runtime.py',
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=512, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=1.6, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100,
         eta_min=1e-6, convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
