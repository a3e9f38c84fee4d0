_base_ = [
    '../_base_/models/slimclr-mocov3_slimmable-resnet50.py',
    '../_base_/datasets/imagenet_bs512_mocov3.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SlimCLR-MoCo v3, 300 epochs (reference scripts/mocov3.sh, case 01): total batch 1024
# = 8 GPUs x 128, LARS lr 1.2 (momentum 0.9, wd 1e-6; BN and bias excluded from wd and
# adaptation), 10 warm-up epochs then cosine, per iteration, AMP, SyncBN; T=1.0,
# momentum 0.99 -> 1; the sub-networks join at epoch 150.
# LR coupling of the reference: from the slow-start epoch on, the cosine's base LR is
# --slim_start_lr 3.2 instead of 1.2 while the cosine keeps its phase, i.e. the LR jumps
# by 3.2 / 1.2 = 8/3 at epoch 150 (0.63 -> 1.69). Here a MultiStepLR with that
# milestone and gamma is stacked on the cosine; both are chainable, so after epoch 150
# lr = 0.5 * 3.2 * (1 + cos(pi * (t - t_warmup) / (T - t_warmup))), as the reference.
max_epochs = 300
warmup_epochs = 10
slim_start_epoch = 150
lr = 1.2
slim_start_lr = 3.2
model = dict(slim_start_epoch=slim_start_epoch)
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=lr, momentum=0.9, weight_decay=1e-6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[slim_start_epoch], gamma=slim_start_lr / lr,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024)
sync_bn = 'torch'  # SyncBN in distributed runs (the switchable BNs' inner BNs)
# before slow start the sub-width-only BNs get no gradient
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
