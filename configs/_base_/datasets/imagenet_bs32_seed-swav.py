# SEED single-view data for SwAV teachers: the reference's `swav_aug`, i.e. the MoCo v2
# colour/blur/flip recipe after a RandomResizedCrop 224 with scale (0.14, 1).
_base_ = './imagenet_bs32_seed.py'

view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.14, 1.),
        backend='pillow',
        interpolation='bilinear'),
] + _base_.color_pipeline

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=1, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
