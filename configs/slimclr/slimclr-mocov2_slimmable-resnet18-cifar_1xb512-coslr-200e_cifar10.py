_base_ = [
    '../_base_/models/slimclr-mocov2_slimmable-resnet50.py',
    '../_base_/datasets/cifar10_bs256_mocov2.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SlimCLR-MoCo v2 on CIFAR-10 for small runs: the MoCo v2 CIFAR recipe of
# configs/mocov2 (K=4096, m=0.99, T=0.1, SGD lr 0.06 @ batch 512, wd 5e-4, 200 epochs)
# with a slimmable ResNet-18 (3x3 stem, widths 1.0 .75 .5 .25) and SlimCLR's
# training: sub-networks join at epoch 100, distillation tau 5/5 with alpha 0.5, loss
# weights `full_plus_others` (mode 5). Cosine per iteration. Online weighted kNN
# (k=200) of the full width every 10 epochs.
max_epochs = 200
widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    queue_len=4096,
    momentum=0.99,
    slim_start_epoch=max_epochs // 2,
    backbone=dict(_delete_=True, type='SlimmableResNetCIFAR', depth=18, widths=widths,
                  zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=512, widths=widths),
    head=dict(loss=dict(temperature=0.1)))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.06, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=512)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader={{_base_.knn_train_dataloader}},
         val_dataloader={{_base_.knn_val_dataloader}},
         interval=10, k=200, temperature=0.1, widths=widths)
]
