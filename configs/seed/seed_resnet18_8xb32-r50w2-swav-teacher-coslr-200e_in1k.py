_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed-swav.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED: ResNet-18 student, SwAV ResNet-50 w2 teacher (convert with
# `tools/convert_ckpt.py swav-teacher`); the reference's SwAV augmentation
# (RandomResizedCrop scale 0.14-1).
model = dict(
    teacher_ckpt='checkpoints/seed_teachers/swav_r50w2_400ep.pth',
    teacher=dict(
        _delete_=True,
        # SwAV's ResNet-50 w2 widens every stage (stem 128, stage outputs 512..4096);
        # its head is Linear(4096, 8192) - BN - ReLU - Linear(8192, 128).
        backbone=dict(
            type='ResNet',
            depth=50,
            stem_channels=128,
            base_channels=128,
            out_indices=(3, ),
            norm_cfg=dict(type='BN')),
        neck=dict(
            type='NonLinearNeck',
            in_channels=4096,
            hid_channels=8192,
            out_channels=128,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_last_bias=True,
            norm_cfg=dict(type='BN1d'))))
