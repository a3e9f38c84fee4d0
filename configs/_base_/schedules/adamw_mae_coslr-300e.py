# MAE / TEC pretraining schedule: AdamW betas (0.9, 0.95), wd 0.05 except on norms
# and biases (timm's add_weight_decay, as the TEC reference), lr = 1.5e-4 x B / 256
# (B = 4096 -> 2.4e-3), 40 linear warm-up epochs, half-cycle cosine to 0, per
# iteration, mixed precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1.5e-4 * 4096 / 256, betas=(0.9, 0.95),
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=260, by_epoch=True, begin=40, end=300,
         eta_min=0., convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(enable=False, base_batch_size=4096, mode='linear')
