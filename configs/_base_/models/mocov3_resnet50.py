# MoCo v3 ResNet-50 (Chen et al., 2021, arXiv:2104.02057) as the official code
# (facebookresearch/moco-v3, moco/builder.py MoCo_ResNet): SyncBN, last BN of every
# residual block zero-initialised, projector 2048-4096-256 and predictor 256-4096-256
# (no biases, BN after every hidden layer; the projector ends in a BN without affine),
# T=1.0 with the loss scaled by 2T, momentum 0.99 -> 1 (cosine).
temperature = 1.0
model = dict(
    type='MoCoV3',
    base_momentum=0.99,
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=True),  # the official code's torchvision ResNet-50 setting
    neck=dict(
        type='NonLinearNeck',  # projector: 2048-4096-256, last BN without affine
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=True,
        norm_cfg=dict(type='SyncBN')),
    predictor=dict(
        type='NonLinearNeck',  # predictor: 256-4096-256, no last BN (paper code)
        in_channels=256,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        with_bias=False,
        with_last_bn=False,
        with_last_bias=False,
        with_avg_pool=False,
        norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='NCEHead',
        loss=dict(
            type='InfoNCELoss',
            temperature=temperature,
            loss_weight=2 * temperature)))
