_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED: ResNet-18 student, ResNet-101 MoCo v2 teacher (200 ep; convert with
# `tools/convert_ckpt.py moco-teacher`).
model = dict(
    teacher_ckpt='checkpoints/seed_teachers/mocov2_r101_200ep.pth',
    teacher=dict(backbone=dict(depth=101)))
