# SlimCLR-MoCo v2 (arXiv 2209.15525) on a slimmable ResNet-50, as the reference
# code (mzhaoshuai/SlimCLR, models/s_moco.py + scripts/mocov2.sh): widths
# 1.0 .75 .5 .25, K=65536, m=0.999, T=0.2, MLP head 2048w-2048w-128 with biases and
# no BN (Linear init N(0, 0.01)), zero-init of every width's last residual BN. Online
# distillation from the full width (soft CE, tau 5/5, alpha 0.5) and loss weights
# `full_plus_others` ((2.5, 1, 1, 1), the reference's mode 5); the sub-networks join
# at `slim_start_epoch` (half of training, set per schedule). To change the widths,
# set them in backbone and neck.
widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    type='SlimCLRMoCoV2',
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
    slim_start_epoch=100,
    distill=True,
    distill_alpha=0.5,
    distill_loss=dict(
        type='SoftDistillLoss', teacher_temperature=5.0, student_temperature=5.0),
    loss_weights='full_plus_others',  # the reference's --slim_loss_weighted 5
    backbone=dict(
        type='SlimmableResNet',
        depth=50,
        widths=widths,
        out_indices=(3, ),
        zero_init_residual=True),
    neck=dict(
        type='SlimmableMLPNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        widths=widths,
        with_bias=True,
        with_hidden_bn=False,
        with_last_bias=True,
        with_last_bn=False,
        with_avg_pool=True,
        init_cfg=dict(type='Normal', std=0.01, bias=0., layer='Linear')),
    head=dict(type='NCEHead', loss=dict(type='InfoNCELoss', temperature=0.2)))
