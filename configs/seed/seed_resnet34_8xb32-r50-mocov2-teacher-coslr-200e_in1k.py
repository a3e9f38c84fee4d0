_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED: ResNet-34 student (512-d features, MLP head 512-512-128), ResNet-50 MoCo v2
# teacher.
model = dict(
    teacher_ckpt='checkpoints/seed_teachers/mocov2_r50_200ep.pth',
    backbone=dict(depth=34))
