# MoCo v2 two-view pretraining data on CIFAR-10 with the whole data set on the GPU:
# CIFARTensorDataset decodes the JPEGs once (a pack made by
# tools/dataset_converters/pack_cifar_for_gpu.py, or class folders
# <data_root>/train/<class>/*.jpg) and keeps them as one uint8 tensor; the views are
# made on the GPU by GPUMultiViewDataPreprocessor with the augmentation of
# cifar10_bs256_mocov2.py (RandomResizedCrop 32 scale (0.2, 1), colour jitter
# (0.4, 0.4, 0.4, 0.1) with p=0.8, grayscale p=0.2, flip; no blur).
data_root = 'data/cifar10_jpeg.npz'
train_batch_size_per_gpu = 256

data_preprocessor = dict(
    type='GPUMultiViewDataPreprocessor',
    # CIFAR-10 mean/std (RGB, 0-255 scale); the tensor data set is BGR, hence to_rgb
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True,
    views=[
        dict(
            num_views=2,
            crop_size=32,
            scale=(0.2, 1.),
            flip_prob=0.5,
            jitter_prob=0.8,
            brightness=0.4,
            contrast=0.4,
            saturation=0.4,
            hue=0.1,
            gray_prob=0.2)
    ])

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=0,  # the images are already on the device
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pre_batched_collate'),
    dataset=dict(type='CIFARTensorDataset', data_root=data_root, split='train',
                 pipeline=[]))
