_base_ = './mocov2_resnet50_8xb32-coslr-200e_in1k.py'
# MoCo v2, 800-epoch schedule (71.1 top-1 in the paper).
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=800, by_epoch=True, begin=0, end=800)
]
train_cfg = dict(max_epochs=800)
