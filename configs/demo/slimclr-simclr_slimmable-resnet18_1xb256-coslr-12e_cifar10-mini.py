_base_ = [
    '../_base_/models/slimclr-simclr_slimmable-resnet50.py',
    '../_base_/datasets/cifar10_bs512_simclr.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/default_runtime.py',
]
# The pipeline demo (tools/pipeline.py, README "From pretraining to a report"):
# slimmable SimCLR (SlimCLR, arXiv 2209.15525) of a slimmable ResNet-18 at widths
# 1.0 / 0.5 / 0.25 on the 2,000 CIFAR-10 images of demo/cifar10-mini, kNN at every width
# on its 1,000 test images every 3 epochs, four checkpoints kept for the trajectory
# figure. Sized for a 2-core CPU like the SimCLR demo next to it: the ImageNet stem
# (stride 4) keeps 32 px inputs cheap; the CIFAR recipes use the 3x3 stem instead. The
# sub-networks join after 4 epochs (SlimCLR's slow start), with online distillation.
data_root = 'demo/cifar10-mini'
max_epochs = 12
widths = (1.0, 0.5, 0.25)
model = dict(
    slim_start_epoch=4,
    backbone=dict(depth=18, widths=widths),
    neck=dict(in_channels=512, hid_channels=512, widths=widths),
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
         interval=3, k=200, temperature=0.07, widths=widths)
]
default_hooks = dict(
    logger=dict(interval=7),
    checkpoint=dict(interval=3, max_keep_ckpts=4))
randomness = dict(seed=0)
