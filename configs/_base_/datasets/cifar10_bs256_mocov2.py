# MoCo v2 two-view pretraining data on CIFAR-10 class folders
# (<data_root>/train/<class>/*.jpg). Augmentation of MoCo v2 (Chen et al., 2020,
# arXiv:2003.04297): RandomResizedCrop scale (0.2, 1), colour jitter
# (0.4, 0.4, 0.4, 0.1) with p=0.8, grayscale p=0.2, horizontal flip. MoCo v2's
# Gaussian blur (sigma in [0.1, 2], p=0.5) is left out: a sigma of up to 2 px is far
# too strong for 32 px images, and CIFAR recipes (SimCLR's CIFAR setup, the MoCo
# CIFAR-10 demo) drop it.
dataset_type = 'ImageFolder'  # slimselfsup's: clear errors for missing/empty folders
data_root = 'data/cifar10'
train_batch_size_per_gpu = 256  # the CIFAR recipes set 512 (one GPU)

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    # CIFAR-10 mean/std (RGB, 0-255 scale); images are loaded BGR, hence to_rgb
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

view_pipeline = [
    # bilinear is torchvision's RandomResizedCrop default used by MoCo's code
    dict(
        type='RandomResizedCrop',
        scale=32,
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
    dict(type='RandomFlip', prob=0.5),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
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
