_base_ = [
    '../_base_/models/slimclr-mocov2_slimmable-resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SlimCLR-MoCo v2, 200 epochs (reference scripts/mocov2.sh, case 01): total batch 1024
# (the script's 4 GPUs x 256, here 8 GPUs x 128: see README), SGD lr 0.2 (momentum
# 0.9, wd 1e-4 on every parameter, as MoCo), 10 warm-up epochs then cosine, per
# iteration, AMP; widths 1.0 .75 .5 .25, the sub-networks join at epoch 100 (slow
# start). Deliberate differences: 8 x 128 instead of 4 x 256, and the LR stays
# continuous at epoch 100 (the script falls back to --slim_start_lr 1e-4 there, a
# bug; see README).
max_epochs = 200
warmup_epochs = 10
model = dict(slim_start_epoch=max_epochs // 2)
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024)
# before slow start the sub-width-only BNs get no gradient
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
