# MAE (He et al., arXiv:2111.06377) with mmpretrain's MAE classes on 32x32 images:
# ViT-Tiny (DeiT-Ti: width 192, 12 layers, 3 heads) with 4x4 patches (64 tokens),
# mask ratio 0.75, a 4-block decoder of width 128, normalised-pixel L2 loss. The
# encoder's cls token is its feature output (for kNN monitoring and as a TEC base).
model = dict(
    type='MAE',
    backbone=dict(type='MAEViT', arch='deit-tiny', img_size=32, patch_size=4,
                  mask_ratio=0.75, out_type='cls_token'),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=64,
        patch_size=4,
        in_chans=3,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=4,
        decoder_num_heads=4,
        mlp_ratio=4.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
