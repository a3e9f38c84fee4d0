# Slimmable SEED (configs/slimseed/README.md): what turns a SEED config into a Slimmable
# SEED one. A SlimSEED config lists this file after its SEED config in `_base_` and builds
# its model from the two pieces here (no key of this file is `model`, so the bases do not
# clash):
#   model = dict(_base_.slimseed, backbone=dict(_delete_=True, type='SlimmableResNet',
#                depth=50, widths=_base_.widths),
#                neck=dict(_base_.slimseed_neck, in_channels=2048, hid_channels=2048))
# `slimseed`: SlimCLR's training of the widths (arXiv 2209.15525, scripts/mocov2.sh):
# slow start at half of a 200-epoch schedule, in-place distillation from the full width
# (soft CE, tau 5/5, alpha 0.5), loss weights `full_plus_others` ((2.5, 1, 1, 1)).
# `slimseed_neck`: SEED's student head (MoCo v2 MLP d-d-128, biases, no BN, PyTorch's
# Linear init) slimmed on its input and hidden layer; its 128-d output, the teacher's
# space, is full at every width.
widths = (1.0, 0.75, 0.5, 0.25)
slimseed = dict(
    type='SlimSEED',
    slim_start_epoch=100,
    distill=True,
    distill_alpha=0.5,
    distill_loss=dict(
        type='SoftDistillLoss', teacher_temperature=5.0, student_temperature=5.0),
    loss_weights='full_plus_others')
slimseed_neck = dict(
    _delete_=True,
    type='SlimmableMLPNeck',
    out_channels=128,
    widths=widths,
    with_bias=True,
    with_hidden_bn=False,
    with_last_bias=True,
    with_last_bn=False,
    with_avg_pool=True)
