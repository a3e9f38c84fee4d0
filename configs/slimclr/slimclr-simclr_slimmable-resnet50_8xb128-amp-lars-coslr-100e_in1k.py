_base_ = [
    '../_base_/models/slimclr-simclr_slimmable-resnet50.py',
    '../_base_/datasets/imagenet_bs256_simclr.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# Slimmable SimCLR, 100 epochs (reference scripts/simclr.sh, case 02): total batch 1024
# = 8 GPUs x 128, LARS lr 2.4 (= 0.075 * sqrt(1024); momentum 0.9, wd 1e-6; BN and bias
# excluded), 10 warm-up epochs then cosine, per iteration, AMP, SyncBN; T=0.1; the
# sub-networks join at epoch 50. Deliberate difference: the LR stays continuous at
# epoch 50 (the script falls back to --slim_start_lr 1e-4 there, a bug; see README).
max_epochs = 100
warmup_epochs = 10
model = dict(slim_start_epoch=max_epochs // 2)
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=2.4, momentum=0.9, weight_decay=1e-6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=1024, mode='sqrt')
sync_bn = 'torch'  # SyncBN in distributed runs (the switchable BNs' inner BNs)
# before slow start the sub-width-only BNs get no gradient
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
