_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# FlatCLR's regime: a small batch (128) where InfoNCE's gradient vanishes. The LR follows
# the square-root rule lr = 0.075 * sqrt(B) (1.2 at B=256 -> 0.85 at B=128); with
# `--auto-scale-lr` it is rescaled the same way for other batch sizes or GPU counts.
model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, norm_cfg=dict(type='BN'),
                  zero_init_residual=True),
    neck=dict(_delete_=True, type='MoCoV2Neck', in_channels=512, hid_channels=512,
              out_channels=128, with_avg_pool=True),
    head=dict(loss=dict(_delete_=True, type='FlatNCELoss', temperature=0.1)))
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=0.075 * 128**0.5))
auto_scale_lr = dict(base_batch_size=128, mode='sqrt')
