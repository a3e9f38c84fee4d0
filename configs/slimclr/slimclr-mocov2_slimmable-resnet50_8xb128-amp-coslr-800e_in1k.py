_base_ = './slimclr-mocov2_slimmable-resnet50_8xb128-amp-coslr-200e_in1k.py'
# SlimCLR-MoCo v2, 800 epochs (reference scripts/mocov2.sh, case 02): as the 200-epoch
# recipe, with 10 warm-up epochs, cosine over the remaining 790 and the sub-networks
# joining at epoch 400.
max_epochs = 800
warmup_epochs = 10
model = dict(slim_start_epoch=max_epochs // 2)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
