_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/imagenet_bs32_seed-small-patch.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED small-patch multi-view recipe of the best EfficientNet-B0 result (67.6 top-1,
# 800 epochs): one 224 crop + 6 crops of 96 px per image, SEED loss on each with its
# own queue (small_patches=True). SwAV ResNet-50 w2 teacher.
model = dict(
    teacher_ckpt='checkpoints/seed_teachers/swav_r50w2_400ep.pth',
    small_patches=True,
    # the reference's (lukemelas) EfficientNet: dropout 0.2 before the head,
    # drop-connect 0.2, BN eps 1e-3 and momentum 0.01 (TF's 0.99)
    backbone=dict(_delete_=True, type='TIMMPreLogits', model_name='efficientnet_b0',
                  drop_rate=0.2, drop_path_rate=0.2, bn_eps=1e-3, bn_momentum=0.01),
    neck=dict(in_channels=1280, hid_channels=1280, with_avg_pool=False),
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
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=800, by_epoch=True, begin=0, end=800)
]
train_cfg = dict(max_epochs=800)
