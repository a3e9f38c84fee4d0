# Linear probing of a TEC ViT-B/16 (MAE's protocol, as mmpretrain's MAE linear
# config): frozen encoder, cls token after the final norm, BatchNorm without affine,
# one linear layer; LARS lr 6.4 (0.1 x 16384 / 256), no weight decay, 10 warm-up
# epochs of 90, 8 GPUs x 2048. Keep the final norm when converting:
#   python tools/convert_ckpt.py tec-finetune PRETRAIN.pth ckpt.pth --option keep_norm=True
_base_ = [
    '../../_base_/datasets/imagenet_bs128_mae-finetune.py',
    '../../_base_/default_runtime.py',
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=2048, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        frozen_stages=12,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=768),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=6.4, weight_decay=0.0, momentum=0.9),
    # MAE's LARS leaves 1-d parameters (the head's bias) out of the trust ratio
    paramwise_cfg=dict(custom_keys={
        'bn': dict(decay_mult=0, lars_exclude=True),
        'bias': dict(decay_mult=0, lars_exclude=True)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=80, by_epoch=True, begin=10, end=90,
         eta_min=0.0, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3, save_best='auto'))
auto_scale_lr = dict(enable=False, base_batch_size=16384, mode='linear')
