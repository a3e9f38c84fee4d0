# Step 3 of the CIFAR-10 recipe: fine-tune a ViT-Tiny/4 (from TEC after
# `tools/convert_ckpt.py tec-finetune`, or directly from the MAE base checkpoint) with
# the MAE/TEC recipe at 32 px: global pooling + fc_norm, drop path 0.1, label
# smoothing 0.1, Mixup 0.8, CutMix 1.0, RandAugment, random erasing 0.25; AdamW
# lr 1e-3, layer decay 0.65, 5 warm-up epochs of 100, batch 256.
_base_ = [
    '../../_base_/datasets/cifar10_bs256_mae-finetune.py',
    '../../_base_/schedules/adamw_layer-decay_coslr-100e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='deit-tiny',
        img_size=32,
        patch_size=4,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=192,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=256)
custom_hooks = []
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2, save_best='auto'))
