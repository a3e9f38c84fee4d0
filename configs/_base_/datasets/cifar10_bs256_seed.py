# SEED single-view distillation data on CIFAR-10 class folders: the MoCo v2 CIFAR
# augmentation of cifar10_bs256_mocov2.py (no blur at 32 px), one view shared by student and
# teacher.
_base_ = './cifar10_bs256_mocov2.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=1, transforms=[_base_.view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
