# Step 2 of the CIFAR-10 recipe: TEC ViT-Tiny/4 from the MAE ViT-Tiny/4 of step 1
# (target_generator.checkpoint points at its epoch_400.pth). 200 epochs, batch 256,
# AdamW lr 1.5e-3, 20 warm-up epochs; kNN every 10 epochs.
# Step 3: python tools/convert_ckpt.py tec-finetune work_dirs/<this>/epoch_200.pth \
#     checkpoints/tec_vit-tiny-p4_cifar10.pth
# then configs/tec/benchmarks/vit-tiny-p4_1xb256-ld065-coslr-100e_cifar10.py.
_base_ = [
    '../_base_/models/tec_vit-tiny-p4.py',
    '../_base_/datasets/cifar10_bs256_mae.py',
    '../_base_/schedules/adamw_mae_coslr-300e.py',
    '../_base_/default_runtime.py',
]
optim_wrapper = dict(optimizer=dict(lr=1.5e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=20,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=180, by_epoch=True, begin=20, end=200,
         eta_min=0., convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=200)
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=2))
