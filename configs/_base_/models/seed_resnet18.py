# SEED (Fang et al., ICLR 2021, arXiv:2101.04731), reference code defaults: the student
# (here ResNet-18) with a MoCo v2 MLP head d -> d -> 128 learns the similarity
# distribution of a frozen teacher (here ResNet-50 MoCo v2 with its MLP head) over the
# current teacher embedding and a queue of 65536 teacher embeddings; student
# temperature 0.2, teacher temperature 1e-4. The teacher's weights come from
# `teacher_ckpt` (convert published checkpoints with tools/convert_ckpt.py):
#   --cfg-options model.teacher_ckpt=checkpoints/mocov2_r50_200ep_teacher.pth
model = dict(
    type='SEED',
    queue_len=65536,
    feat_dim=128,
    teacher_ckpt=None,
    backbone=dict(
        type='ResNet',
        depth=18,
        in_channels=3,
        out_indices=(3, ),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck',
        in_channels=512,
        hid_channels=512,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='SEEDHead',
        loss=dict(type='SEEDLoss', student_temperature=0.2, teacher_temperature=1e-4)),
    teacher=dict(
        backbone=dict(
            type='ResNet', depth=50, out_indices=(3, ), norm_cfg=dict(type='BN')),
        neck=dict(
            type='MoCoV2Neck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128,
            with_avg_pool=True)))
