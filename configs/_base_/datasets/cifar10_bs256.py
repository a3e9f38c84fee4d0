# CIFAR-10 evaluation data: the kNN loaders of cifar10_bs256_knn.py plus a linear probe
# (train: RandomCrop 32 with 4 px padding and horizontal flip; val/test: plain)
# for an ImageClassifier on frozen features. Class folders
# <data_root>/{train,test}/<class>/*.jpg.
_base_ = ['./cifar10_bs256_knn.py']

# A linear probe reports accuracy itself; it does not need the kNN monitor.
custom_hooks = []

dataset_type = 'ImageFolder'  # slimselfsup's: clear errors for missing/empty folders
data_root = 'data/cifar10'

data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=10,
    # CIFAR-10 mean/std (RGB, 0-255 scale); images are loaded BGR, hence to_rgb
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix='test',
        pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
