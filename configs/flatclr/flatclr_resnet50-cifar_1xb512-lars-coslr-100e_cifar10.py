_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# The FlatCLR reference's CIFAR-10 run (its defaults, which its README commands use):
# ResNet-50 with a CIFAR stem, batch 512, LARS lr 0.6, wd 1e-6, T=0.1, projection
# Linear(d, d)-ReLU-Linear(d, 128), 10 warm-up epochs, 100 epochs.
model = dict(
    # the reference's ResNet: 3x3 stem without max-pool, no zero-init residual BN
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=50, norm_cfg=dict(type='BN'),
                  zero_init_residual=False),
    neck=dict(_delete_=True, type='MoCoV2Neck', in_channels=2048, hid_channels=2048,
              out_channels=128, with_avg_pool=True),
    head=dict(loss=dict(_delete_=True, type='FlatNCELoss', temperature=0.1)))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=10, end=100,
         eta_min=1e-6, convert_to_iter_based=True)  # the reference decays to 1e-6
]
train_cfg = dict(max_epochs=100)
auto_scale_lr = dict(base_batch_size=512, mode='linear')
