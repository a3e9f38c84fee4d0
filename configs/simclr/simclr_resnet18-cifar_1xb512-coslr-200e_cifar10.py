_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# CIFAR-10 recipe: ResNet-18 with a 3x3 stem, batch 512, LARS lr 0.6 (= 0.3 * B / 256),
# T=0.2 (our CIFAR choice; SimCLR's README runs CIFAR-10 at 0.5 with batch 512 for 1000
# epochs, the ImageNet recipe uses 0.1).
model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, norm_cfg=dict(type='BN'),
                  zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=2048, norm_cfg=dict(type='BN1d')),
    head=dict(loss=dict(temperature=0.2)))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.6))
auto_scale_lr = dict(base_batch_size=512)
