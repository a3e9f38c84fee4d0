_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/default_runtime.py',
]
# The README's main job: SimCLR pretraining of a ResNet-18 on the 2,000-image CIFAR-10
# subset shipped in demo/cifar10-mini, then kNN on its 1,000 test images. Sized to
# finish in about 5 minutes on a 2-core CPU. The ImageNet stem (stride 4) keeps 32 px
# inputs cheap on a CPU; the CIFAR recipes use the 3x3 stem instead.
data_root = 'demo/cifar10-mini'
max_epochs = 12
model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN'), zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=512, norm_cfg=dict(type='BN1d')),
    head=dict(loss=dict(temperature=0.2)))
train_dataloader = dict(
    batch_size=256, num_workers=2, dataset=dict(data_root=data_root))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
knn_loader = dict(
    batch_size=250,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageFolder', data_root=data_root,
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'],
                                                        data_prefix='train')),
         val_dataloader=dict(knn_loader, dataset=dict(knn_loader['dataset'],
                                                      data_prefix='test')),
         interval=max_epochs, k=200, temperature=0.07)
]
default_hooks = dict(
    logger=dict(interval=7),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
