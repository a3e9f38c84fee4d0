# SimCLR ResNet-18 on CIFAR-10 with everything on one GPU: the data set decoded once
# into GPU memory, views made on the GPU (GPUMultiViewDataPreprocessor, the same
# augmentation as the CPU recipe), bf16 autocast without loss scaler, channels-last,
# kNN every 10 epochs. Model, loss, optimizer and schedule are those of
# simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py. Make the data pack first:
#   python tools/dataset_converters/pack_cifar_for_gpu.py data/cifar10 data/cifar10_jpeg.npz
_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr-gpu.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/lars_coslr-200e.py',
    '../_base_/fast_runtime.py',
]
data_preprocessor = dict(channels_last=True)
model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, norm_cfg=dict(type='BN'),
                  zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=2048, norm_cfg=dict(type='BN1d')),
    head=dict(loss=dict(temperature=0.2)))
optim_wrapper = dict(type='BF16OptimWrapper', optimizer=dict(lr=0.6))
auto_scale_lr = dict(base_batch_size=512)
custom_hooks = [
    dict(type='ChannelsLastHook'),
    dict(  # the kNN monitor of cifar10_bs256_knn.py
        type='KNNHook',
        train_dataloader={{_base_.knn_train_dataloader}},
        val_dataloader={{_base_.knn_val_dataloader}},
        interval=10,
        k=200,
        temperature=0.07),
]
