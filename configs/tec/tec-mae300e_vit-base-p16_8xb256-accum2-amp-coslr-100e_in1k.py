# TEC ViT-B/16 from a 300-epoch MAE ViT-B/16 (`mae1k300ep` of the reference, trained
# by its authors, not an official MAE release; e.g. train
# configs/mae in mmpretrain for 300 epochs), 100 epochs (the paper's 83.9 row).
# The reference README titles this block "ViT-L" but trains a ViT-B.
_base_ = ['./tec-mae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py']
model = dict(target_generator=dict(checkpoint='checkpoints/mae-300e_vit-base-p16.pth'))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=40,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=60, by_epoch=True, begin=40, end=100,
         eta_min=0., convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
