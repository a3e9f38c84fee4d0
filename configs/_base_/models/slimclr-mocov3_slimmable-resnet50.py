# SlimCLR-MoCo v3 (arXiv 2209.15525) on a slimmable ResNet-50, as the reference
# code (models/s_mocov3.py + scripts/mocov3.sh): widths 1.0 .75 .5 .25, T=1.0 (loss
# x 2T), momentum 0.99 -> 1 (cosine), projector 2048w-4096w-256 (last BN without
# affine, Linear init N(0, 0.01)), predictor 256-4096w-256 (only the hidden layer is
# slimmed, PyTorch default init). Online distillation of the full width's q.k/T
# (soft CE, tau 1/1, alpha 0.5), loss weights `full_plus_others` (the reference's
# mode 5); the sub-networks join at `slim_start_epoch` (half of training).
widths = (1.0, 0.75, 0.5, 0.25)
temperature = 1.0
model = dict(
    type='SlimCLRMoCoV3',
    base_momentum=0.99,
    slim_start_epoch=150,
    distill=True,
    distill_alpha=0.5,
    distill_loss=dict(
        type='SoftDistillLoss', teacher_temperature=1.0, student_temperature=1.0),
    loss_weights='full_plus_others',  # the reference's --slim_loss_weighted 5
    backbone=dict(
        type='SlimmableResNet', depth=50, widths=widths, zero_init_residual=True),
    neck=dict(
        type='SlimmableMLPNeck',  # projector
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        widths=widths,
        num_layers=2,
        with_bias=False,
        with_hidden_bn=True,
        with_last_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_avg_pool=True,
        init_cfg=dict(type='Normal', std=0.01, bias=0., layer='Linear')),
    predictor=dict(
        type='SlimmableMLPNeck',
        in_channels=256,
        hid_channels=4096,
        out_channels=256,
        widths=widths,
        num_layers=2,
        with_bias=False,
        with_hidden_bn=True,
        with_last_bias=False,
        with_last_bn=False,
        with_avg_pool=False),
    head=dict(
        type='NCEHead',
        loss=dict(
            type='InfoNCELoss',
            temperature=temperature,
            loss_weight=2 * temperature)))
