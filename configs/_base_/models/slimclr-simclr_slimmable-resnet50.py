# Slimmable SimCLR (SlimCLR, arXiv 2209.15525) on a slimmable ResNet-50, as the
# reference code (models/s_simclr.py + scripts/simclr.sh): widths 1.0 .75 .5 .25,
# T=0.1, head 2048w-2048w-128 (hidden: bias + BN; last: no bias, BN with affine;
# Linear init N(0, 0.01)). Online distillation of the full width's raw cosine matrix
# (soft CE, tau 5/5, alpha 0.5), loss weights `full_plus_others` (the reference's
# mode 5); the sub-networks join at `slim_start_epoch` (half of training).
widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    type='SlimCLRSimCLR',
    slim_start_epoch=50,
    distill=True,
    distill_alpha=0.5,
    distill_loss=dict(
        type='SoftDistillLoss', teacher_temperature=5.0, student_temperature=5.0),
    loss_weights='full_plus_others',  # the reference's --slim_loss_weighted 5
    backbone=dict(
        type='SlimmableResNet', depth=50, widths=widths, zero_init_residual=True),
    neck=dict(
        type='SlimmableMLPNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        widths=widths,
        num_layers=2,
        with_bias=True,
        with_hidden_bn=True,
        with_last_bias=False,
        with_last_bn=True,
        with_last_bn_affine=True,
        with_avg_pool=True,
        init_cfg=dict(type='Normal', std=0.01, bias=0., layer='Linear')),
    head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.1)))
