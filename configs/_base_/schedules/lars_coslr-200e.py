# SimCLR schedule (Chen et al., 2020, arXiv:2002.05709, and its official code): LARS
# (momentum 0.9, trust coefficient 0.001) lr 4.8 = 0.3 * 4096 / 256, wd 1e-6, BN and
# biases excluded from weight decay and from the trust-ratio adaptation, 10 linear
# warm-up epochs, then cosine; both per iteration, as the reference.
# Not mmpretrain's imagenet_lars_coslr_200e.py: that one has no exclusions and a cosine
# per epoch, and an `mmpretrain::` base would pin the optimizer wrapper to mmpretrain's
# registry (BF16OptimWrapper, ours, would not be found).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=4.8, momentum=0.9, weight_decay=1e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            # the BN layers of ResNet shortcuts are named `downsample.1`
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=190, by_epoch=True, begin=10, end=200,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
auto_scale_lr = dict(enable=False, base_batch_size=4096, mode='linear')
