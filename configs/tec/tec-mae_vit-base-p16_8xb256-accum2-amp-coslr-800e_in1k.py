# TEC ViT-B/16 from the official MAE ViT-B/16, 800 epochs (the paper's 84.8 row).
_base_ = ['./tec-mae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=760, by_epoch=True, begin=40, end=800,
         eta_min=0., convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=800)
