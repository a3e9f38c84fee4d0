# SEED single-view distillation data on ImageNet-1k (mmpretrain's ImageNet layout).
# Student and teacher see the SAME crop. Augmentation the reference uses for MoCo v2
# teachers (MoCo v2's): RandomResizedCrop 224 scale (0.2, 1), colour jitter
# (0.4, 0.4, 0.4, 0.1) p=0.8, grayscale p=0.2, Gaussian blur sigma in [0.1, 2]
# p=0.5, horizontal flip. Batch 8 GPUs x 32 = 256.
dataset_type = 'ImageNet'
data_root = 'data/imagenet/'
train_batch_size_per_gpu = 32

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

color_pipeline = [
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
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.),
        backend='pillow',
        interpolation='bilinear'),
] + color_pipeline

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=1, transforms=[view_pipeline]),
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
