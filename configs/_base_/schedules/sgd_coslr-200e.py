# MoCo v2 schedule: SGD lr 0.03 for a total batch of 256, cosine per epoch to 0, as
# mmpretrain's imagenet_sgd_coslr_200e.py (which configs/mocov2 inherits) plus the
# LR-scaling rule. Not inherited here: an `mmpretrain::` base pins the optimizer
# wrapper to mmpretrain's registry, so configs on this base could not switch to
# BF16OptimWrapper (ours).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03, weight_decay=1e-4, momentum=0.9))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
# `--auto-scale-lr` rescales lr for other total batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=256, mode='linear')
