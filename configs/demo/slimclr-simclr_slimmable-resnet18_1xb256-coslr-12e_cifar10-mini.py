_base_ = [
    '../_base_/models/slimclr_simclr_resnet50.py',
    '../_base_/datasets/cifar10_simclr.py',
    '../_base_/default_runtime.py',
]
# The README's main job: SlimCLR (arXiv 2209.15525), slimmable SimCLR flavour, on the
# 2,000 CIFAR-10 images of demo/cifar10-mini. One run trains a slimmable ResNet-18 at
# widths 1.0, 0.5 and 0.25 together; it ends with one table of kNN top-1 on the 1,000
# test images at every width, next to the same widths with random weights. Sized for a
# few minutes on a 2-core CPU: the ImageNet stem (stride 4) keeps 32 px inputs cheap,
# and all widths train from the first step (no slow start in so short a run), with
# SlimCLR's distillation (tau 5, alpha 0.5) and loss weights mode 5 (1.75, 1, 1).
data_root = 'demo/cifar10-mini'
max_epochs = 12
widths = (1.0, 0.5, 0.25)
model = dict(
    slim_start_epoch=0,
    backbone=dict(depth=18, widths=widths, zero_init_residual=True),
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
         interval=max_epochs, k=200, temperature=0.07, widths=widths,
         random_baseline=True)
]
default_hooks = dict(
    logger=dict(interval=7),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
