temperature = 1.0
model = dict(
    type='MoCoV3',
    base_momentum=0.99,
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
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
