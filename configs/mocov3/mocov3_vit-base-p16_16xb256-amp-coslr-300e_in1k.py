_base_ = './mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py'
# MoCo v3 ViT-B/16: as ViT-S, with the base architecture.
model = dict(backbone=dict(arch='base'), neck=dict(in_channels=768))
