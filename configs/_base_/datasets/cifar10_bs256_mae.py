# MAE / TEC pretraining data on CIFAR-10 class folders (<data_root>/train/<class>/*):
# one view, RandomResizedCrop 32 with scale (0.2, 1) (bicubic), horizontal flip.
_base_ = ['./cifar10_bs256_knn.py']  # the online kNN monitor of every CIFAR recipe
dataset_type = 'ImageFolder'
data_root = 'data/cifar10'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.2, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]

train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
