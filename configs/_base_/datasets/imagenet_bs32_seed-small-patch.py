# SEED small-patch multi-view data (the reference's 800-epoch / SwAV-teacher recipe):
# per image one 224 crop (`swav_aug`: RandomResizedCrop scale (0.14, 1)) and 6 crops
# of 96x96 (`swav_small_aug`: scale (0.05, 0.14)), both with the MoCo v2 colour
# jitter, grayscale, blur and flip. Inputs reach the model as [big, small_1..small_6];
# use with `model.small_patches=True`.
_base_ = './imagenet_bs32_seed-swav.py'

small_view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=96,
        crop_ratio_range=(0.05, 0.14),
        backend='pillow',
        interpolation='bilinear'),
] + _base_.color_pipeline

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiView',
        num_views=[1, 6],
        transforms=[_base_.view_pipeline, small_view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
