# TEC ViT-B/16 from a MoCo v3 ViT-B/16 trained with this toolbox
# (configs/mocov3/mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k.py), 300 epochs.
# The reference has no MoCo v3 base: its iBoT-base settings (top-9 relation rows,
# att_tau 1.0) are kept, iBoT being the published base closest to MoCo v3 (a contrastive
# ViT whose cls token attends sharply); our choice, not measured.
# The base model is the run's base encoder (`backbone.*`, a MoCoV3ViT: fixed sin-cos
# position embedding, no mask token), read through the mocov3-vit converter, which drops
# the projector (and its BNs), the predictor and the momentum encoder; the same converter
# reads official facebookresearch/moco-v3 checkpoints (module.base_encoder.*).
_base_ = ['./tec-ibot_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py']
model = dict(
    target_generator=dict(
        checkpoint='work_dirs/mocov3_vit-base-p16_16xb256-amp-coslr-300e_in1k/'
        'epoch_300.pth',
        converter='mocov3-vit'))
