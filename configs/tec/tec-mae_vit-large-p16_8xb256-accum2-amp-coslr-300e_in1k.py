# TEC ViT-L/16 from the official MAE ViT-L/16, 300 epochs (the paper's 86.5 row):
# att_tau 1.4, decoder width 768, adaptor of 8 groups of 3 layers.
# Base model: python tools/convert_ckpt.py mae mae_pretrain_vit_large.pth \
#     checkpoints/mae_vit-large-p16.pth
_base_ = ['./tec-mae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py']
model = dict(
    backbone=dict(arch='l'),
    neck=dict(embed_dims=1024, num_layers=24, target_dims=1024, target_heads=16,
              decoder_embed_dims=768),
    head=dict(att_loss=dict(tau=1.4)),
    target_generator=dict(base_model=dict(arch='l'),
                          checkpoint='checkpoints/mae_vit-large-p16.pth'))
