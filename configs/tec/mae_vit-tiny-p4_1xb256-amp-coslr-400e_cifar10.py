# Step 1 of the CIFAR-10 recipe: an MAE ViT-Tiny/4 base model (mmpretrain's MAE).
# 400 epochs, batch 256, AdamW lr 1.5e-3 (betas 0.9/0.95, wd 0.05), 40 warm-up
# epochs; kNN on the cls token every 10 epochs. Its last checkpoint is the base model
# of tec-mae_vit-tiny-p4_1xb256-amp-coslr-200e_cifar10.py.
_base_ = [
    '../_base_/models/mae_vit-tiny-p4.py',
    '../_base_/datasets/cifar10_bs256_mae.py',
    '../_base_/schedules/adamw_mae_coslr-300e.py',
    '../_base_/default_runtime.py',
]
optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=360, by_epoch=True, begin=40, end=400,
         eta_min=0., convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=400)
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=2))
