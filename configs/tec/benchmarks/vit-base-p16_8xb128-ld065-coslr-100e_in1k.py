# Fine-tuning of a TEC ViT-B/16 pretrained 300 epochs from MAE (the paper's 84.7):
# global average pooling + fc_norm, drop path 0.1, label smoothing 0.1, Mixup 0.8,
# CutMix 1.0, RandAugment, random erasing 0.25; AdamW lr 2e-3 (5e-4 x 1024 / 256),
# layer decay 0.65, 20 warm-up epochs of 100, 8 GPUs x 128.
# Weights: python tools/convert_ckpt.py tec-finetune PRETRAIN.pth checkpoints/tec_ft.pth
#   --cfg-options model.backbone.init_cfg.checkpoint=checkpoints/tec_ft.pth
_base_ = [
    '../../_base_/datasets/imagenet_bs128_mae-finetune.py',
    '../../_base_/schedules/adamw_layer-decay_coslr-100e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=80, by_epoch=True, begin=20, end=100,
         eta_min=1e-6, convert_to_iter_based=True)
]
train_cfg = dict(val_interval=1)
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=3, save_best='auto'))
randomness = dict(seed=0, diff_rank_seed=True)
