# SimCLR two-view pretraining data on CIFAR-10 class folders
# (<data_root>/train/<class>/*.jpg). Augmentation of SimCLR (Chen et al., 2020,
# arXiv:2002.05709, appendix A and B.9): RandomResizedCrop scale (0.08, 1),
# horizontal flip, colour jitter (0.8s, 0.8s, 0.8s, 0.2s) with p=0.8 and
# grayscale p=0.2, with colour strength s=0.5 on CIFAR-10, and no Gaussian blur on
# CIFAR-10 (the paper drops it for 32 px images).
dataset_type = 'ImageFolder'  # slimselfsup's: clear errors for missing/empty folders
data_root = 'data/cifar10'
train_batch_size_per_gpu = 512
color_strength = 0.5

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    # CIFAR-10 mean/std (RGB, 0-255 scale); images are loaded BGR, hence to_rgb
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

view_pipeline = [
    # bilinear is torchvision's RandomResizedCrop default used by SimCLR ports
    dict(
        type='RandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.08, 1.),
        backend='pillow',
        interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.8 * color_strength,
                contrast=0.8 * color_strength,
                saturation=0.8 * color_strength,
                hue=0.2 * color_strength)
        ],
        prob=0.8),
    # ITU-R 601 luma weights in BGR order
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
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
