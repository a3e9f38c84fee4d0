# Fine-tuning of TEC ViT-B/16 pretrained 300 epochs from iBoT (the paper's 84.8):
# layer decay 0.50, 5 warm-up epochs.
_base_ = ['./vit-base-p16_8xb128-ld065-coslr-100e_in1k.py']
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.50))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, by_epoch=True, begin=5, end=100,
         eta_min=1e-6, convert_to_iter_based=True)
]
