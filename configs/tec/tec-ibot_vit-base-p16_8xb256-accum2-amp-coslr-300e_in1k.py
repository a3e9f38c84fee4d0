# TEC ViT-B/16 from the official iBoT ViT-B/16 teacher, 300 epochs (the paper's 84.8
# row): top-9 relation rows, att_tau 1.0.
# Base model: python tools/convert_ckpt.py ibot checkpoint_teacher.pth \
#     checkpoints/ibot_vit-base-p16.pth
_base_ = ['./tec-mae_vit-base-p16_8xb256-accum2-amp-coslr-300e_in1k.py']
model = dict(
    head=dict(att_loss=dict(tau=1.0)),
    target_generator=dict(checkpoint='checkpoints/ibot_vit-base-p16.pth', topk=9))
