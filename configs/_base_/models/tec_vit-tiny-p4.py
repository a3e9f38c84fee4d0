# TEC on 32x32 images: a masked ViT-Tiny/4 (64 tokens, MLP cls token) learns from a
# frozen ViT-Tiny/4 base model (e.g. from mae_vit-tiny-p4_*_cifar10.py). Top-5 of 64
# patches as relation rows (the reference's 15 of 196 at the same ratio), att_tau 1.8
# (MAE base), decoder width 128 with 4 heads, 2 shared blocks.
_base_ = ['./tec_vit-base-p16.py']
model = dict(
    backbone=dict(arch='deit-tiny', img_size=32, patch_size=4),
    neck=dict(num_patches=64, embed_dims=192, target_dims=192, target_heads=3,
              decoder_embed_dims=128, decoder_num_heads=4),
    target_generator=dict(
        base_model=dict(arch='deit-tiny', img_size=32, patch_size=4),
        checkpoint='work_dirs/mae_vit-tiny-p4_1xb256-amp-coslr-400e_cifar10/'
        'epoch_400.pth',
        topk=5))
