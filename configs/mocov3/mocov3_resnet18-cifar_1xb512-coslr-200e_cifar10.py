_base_ = [
    '../_base_/models/mocov3_resnet50.py',
    '../_base_/datasets/cifar10_bs256_mocov3.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# CIFAR-10 recipe: ResNet-18 with a 3x3 stem, batch 512, LARS lr 0.6, wd 1e-6, T=0.2,
# m 0.99 -> 1, projector 512-4096-256, predictor 256-4096-256.
temperature = 0.2
model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, norm_cfg=dict(type='BN1d')),
    predictor=dict(norm_cfg=dict(type='BN1d')),
    head=dict(loss=dict(temperature=temperature, loss_weight=2 * temperature)))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.6))
auto_scale_lr = dict(base_batch_size=512)
