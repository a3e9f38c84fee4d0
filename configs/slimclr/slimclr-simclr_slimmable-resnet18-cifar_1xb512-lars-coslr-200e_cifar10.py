_base_ = [
    '../_base_/models/slimclr-simclr_slimmable-resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# Slimmable SimCLR on CIFAR-10 for small runs: the SimCLR CIFAR recipe of
# configs/simclr (batch 512, LARS lr 0.6, wd 1e-6, T=0.2, head 512-2048-128, 10 warm-up
# epochs, 200 epochs) with a slimmable ResNet-18 (3x3 stem, widths 1.0 .75 .5 .25) and
# SlimCLR's training: sub-networks join at epoch 100, distillation tau 5/5 with alpha
# 0.5, loss weights `full_plus_others`. Schedules per iteration. Online weighted kNN (k=200) of the
# full width every 10 epochs.
max_epochs = 200
warmup_epochs = 10
widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    slim_start_epoch=max_epochs // 2,
    backbone=dict(_delete_=True, type='SlimmableResNetCIFAR', depth=18, widths=widths,
                  zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=2048, widths=widths),
    head=dict(loss=dict(temperature=0.2)))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=512)
sync_bn = 'torch'
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader={{_base_.knn_train_dataloader}},
         val_dataloader={{_base_.knn_val_dataloader}},
         interval=10, k=200, temperature=0.1, widths=widths)
]
