# Fine-tuning of TEC ViT-L/16 (the paper's 86.5): 8 GPUs x 64 x 2 accumulation =
# 1024, lr 4e-3 (1e-3 x 1024 / 256), layer decay 0.65, drop path 0.1 (the reference
# default), 5 warm-up epochs of 50, cosine to 1e-5.
_base_ = ['./vit-base-p16_8xb128-ld065-coslr-100e_in1k.py']
model = dict(backbone=dict(arch='large'), head=dict(in_channels=1024))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=1e-3 * 1024 / 256), accumulative_counts=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=45, by_epoch=True, begin=5, end=50,
         eta_min=1e-5, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=50)
