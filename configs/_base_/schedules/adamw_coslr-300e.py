# MoCo v3 ViT schedule (official main_moco.py with CONFIG.md's ViT flags): AdamW
# (betas 0.9/0.999) lr 1.5e-4 * B / 256 (B = 4096 -> 2.4e-3), wd 0.1 on every
# parameter (the official code passes model.parameters() to AdamW: norms, biases and
# the cls token decay too), 40 linear warm-up epochs from 0, cosine, per iteration,
# mixed precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=2.4e-3, weight_decay=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=260, by_epoch=True, begin=40, end=300,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(enable=False, base_batch_size=4096, mode='linear')
