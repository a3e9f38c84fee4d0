# TEC (Gao et al., arXiv:2210.11016): a masked ViT-B/16 (mask ratio 0.75, MLP cls
# token) learns from a frozen ViT-B/16 base model. Targets: mean of the base model's
# last 2 layer outputs (loss on masked patches) and its last-layer attention logits of
# the cls token and its top-15 patches (softmax with att_tau 1.8 for an MAE base).
# Encoder adaptor over all 12 layers (4 groups of 3), 2 shared decoder blocks of width
# 512 with 16 heads, feature and relation branches. Losses 1:1.
# The base model is loaded from `target_generator.checkpoint`: convert the official
# weights first, e.g.
#   python tools/convert_ckpt.py mae mae_pretrain_vit_base.pth checkpoints/mae_vit-base-p16.pth
model = dict(
    type='TEC',
    backbone=dict(type='TECViT', arch='b', img_size=224, patch_size=16,
                  mask_ratio=0.75, mlp_token=True),
    neck=dict(
        type='TECDecoder',
        num_patches=196,
        embed_dims=768,
        num_layers=12,
        target_dims=768,
        target_heads=12,
        decoder_embed_dims=512,
        decoder_depth=2,
        decoder_num_heads=16,
        mlp_ratio=4.,
        layers_per_group=3,
        predict_relation=True),
    head=dict(
        type='TECHead',
        feat_loss=dict(type='TokenNormMSELoss', loss_weight=1.0),
        att_loss=dict(type='RelationSoftCELoss', tau=1.8, loss_weight=1.0)),
    target_generator=dict(
        type='TECTargetGenerator',
        base_model=dict(type='VisionTransformer', arch='b', img_size=224,
                        patch_size=16, out_type='raw'),
        checkpoint='checkpoints/mae_vit-base-p16.pth',
        last_layers=2,
        topk=15,
        with_relation=True),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
