_base_ = [
    '../_base_/models/mocov3_resnet50.py',
    '../_base_/datasets/imagenet_bs512_mocov3.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# MoCo v3 R-50 (arXiv 2104.02057): batch 4096, LARS lr 9.6 (= 0.6 * B / 256), wd 1e-6,
# T=1.0, m 0.99 -> 1 (cosine), 10 warm-up epochs, 100 epochs.
train_dataloader = dict(batch_size=256)
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic',
                     optimizer=dict(lr=9.6, weight_decay=1e-6))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=10, end=100,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
