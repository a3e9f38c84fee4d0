# MoCo v2 two-view pretraining data on ImageNet-1k (mmpretrain's ImageNet layout:
# <data_root>/train/<class>/*.JPEG, or meta/train.txt). Augmentation of MoCo v2
# (Chen et al., 2020, arXiv:2003.04297): RandomResizedCrop 224 scale (0.2, 1),
# colour jitter (0.4, 0.4, 0.4, 0.1) with p=0.8, grayscale p=0.2, Gaussian blur
# sigma in [0.1, 2] with p=0.5, horizontal flip. Batch 8 GPUs x 32 = 256.
# The same recipe as mmpretrain's imagenet_bs32_mocov2.py, but not inherited from it:
# `mmpretrain::` bases tag every transform with `_scope_='mmpretrain'`, which builds
# mmpretrain's ColorJitter, whose hue shift raises OverflowError under numpy >= 2 on
# about a third of the draws; ours (slimselfsup's ColorJitter) does not. The same holds
# for every base here with hue jitter (SimCLR, MoCo v3).
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
train_batch_size_per_gpu = 32

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    # ImageNet mean/std (RGB, 0-255 scale); images are loaded BGR, hence to_rgb
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    # bilinear is torchvision's RandomResizedCrop default used by MoCo's code
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.),
        backend='pillow',
        interpolation='bilinear'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
                hue=0.1)
        ],
        prob=0.8),
    # ITU-R 601 luma weights in BGR order
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    # sigma drawn uniformly from [0.1, 2.0] (magnitude_std='inf')
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=8,
    drop_last=True,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
