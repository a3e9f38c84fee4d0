_base_ = [
    '../seed/seed_resnet18_8xb32-r50-mocov2-teacher-coslr-200e_in1k.py',
    '../_base_/models/slimseed_slimmable-student.py',
]
# Slimmable SEED on ImageNet-1k: SEED's recipe (K=65536, tau_S=0.2, tau_T=1e-4, SGD lr
# 0.03 @ batch 256, wd 1e-4, cosine, 200 epochs, one crop shared by student and teacher,
# MoCo v2 augmentation) with a slimmable ResNet-50 student (widths 1.0 .75 .5 .25, the
# widths of SlimCLR's ResNet-50) and SlimCLR's training of the widths: slow start at
# epoch 100, in-place distillation from the full width (tau 5/5, alpha 0.5), loss
# weights `full_plus_others` (2.5, 1, 1, 1). Teacher: MoCo v2 ResNet-50, 800 epochs
# (facebookresearch/moco `moco_v2_800ep_pretrain.pth.tar`), converted with
#   python tools/convert_ckpt.py moco-teacher moco_v2_800ep_pretrain.pth.tar \
#       checkpoints/seed_teachers/mocov2_r50_800ep.pth
# Width 1.0 is the teacher's own architecture (self-distillation); widths 0.5 and 0.25
# (1.05 / 0.28 GFLOPs) are the small students SEED is for.
model = dict(
    _base_.slimseed,
    teacher_ckpt='checkpoints/seed_teachers/mocov2_r50_800ep.pth',
    backbone=dict(
        _delete_=True,
        type='SlimmableResNet',
        depth=50,
        widths=_base_.widths,
        out_indices=(3, ),
        zero_init_residual=False),  # SEED's student init
    neck=dict(_base_.slimseed_neck, in_channels=2048, hid_channels=2048))
# before slow start the sub-width-only BNs get no gradient
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
