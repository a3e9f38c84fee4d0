# MoCo v3 asymmetric two-view pretraining data on CIFAR-10 class folders
# (<data_root>/train/<class>/*.jpg). MoCo v3's (BYOL's) views (Chen et al., 2021,
# arXiv:2104.02057) at 32 px: RandomResizedCrop scale (0.08, 1) (the official code's
# default, used by its ViT recipes and by solo-learn's CIFAR MoCo v3; its ResNet-50
# recipe uses 0.2), colour jitter (0.4, 0.4, 0.2, 0.1) with p=0.8, grayscale p=0.2,
# flip; view 1 solarize p=0, view 2 solarize p=0.2 (threshold 128). MoCo v3 has no
# CIFAR recipe; its Gaussian blur (p=1.0 / 0.1) is left out on 32 px images, so the
# views differ only in solarization.
dataset_type = 'ImageFolder'  # slimselfsup's: clear errors for missing/empty folders
data_root = 'data/cifar10'
train_batch_size_per_gpu = 256

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    # CIFAR-10 mean/std (RGB, 0-255 scale); images are loaded BGR, hence to_rgb
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

view_pipeline1 = [
    # bilinear is torchvision's RandomResizedCrop default used by MoCo v3's code
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.08, 1.),
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
    dict(type='Solarize', thr=128, prob=0.),
    dict(type='RandomFlip', prob=0.5),
]
# view 2: the same crop, jitter and grayscale, solarized with p=0.2
view_pipeline2 = view_pipeline1[:3] + [
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
    num_workers=4,
    drop_last=True,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
