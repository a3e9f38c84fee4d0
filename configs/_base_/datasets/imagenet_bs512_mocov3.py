# MoCo v3 asymmetric two-view pretraining data on ImageNet-1k (mmpretrain's
# ImageNet layout: <data_root>/train/<class>/*.JPEG, or meta/train.txt).
# Augmentation of MoCo v3's ResNet-50 recipe (Chen et al., 2021, arXiv:2104.02057;
# BYOL's views; the official main_moco.py with --crop-min=.2 as its CONFIG.md runs
# every ResNet-50): RandomResizedCrop 224 scale (0.2, 1), colour jitter
# (0.4, 0.4, 0.2, 0.1) with p=0.8, grayscale p=0.2, flip; view 1: Gaussian blur
# p=1.0, solarize p=0; view 2: blur p=0.1, solarize p=0.2 (threshold 128). The ViT
# recipes use the code's default crop scale (0.08, 1) instead (configs/mocov3/*vit*).
# 512 images per GPU as mmpretrain's file of the same name; not inherited from it, for
# the reason given in imagenet_bs32_mocov2.py.
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
train_batch_size_per_gpu = 512

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    # ImageNet mean/std (RGB, 0-255 scale); images are loaded BGR, hence to_rgb
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline1 = [
    # bilinear is torchvision's RandomResizedCrop default used by MoCo v3's code
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
                saturation=0.2,
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
        prob=1.),
    dict(type='Solarize', thr=128, prob=0.),
    dict(type='RandomFlip', prob=0.5),
]
# view 2: the same crop, jitter and grayscale; weaker blur, some solarization
view_pipeline2 = view_pipeline1[:3] + [
    dict(view_pipeline1[3], prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
    dict(type='RandomFlip', prob=0.5),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=8,
    drop_last=True,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
