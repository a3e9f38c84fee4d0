_base_ = [
    './datasets/cifar10_bs512_simclr.py',
    './default_runtime.py',
]
# What the demos in configs/demo share: SimCLR's two views of the 2,000 CIFAR-10 training
# images of demo/cifar10-mini, 12 epochs of SGD (lr 0.3, one warm-up epoch, cosine), and
# unaugmented loaders of its train and test images for the kNN evaluation at the end
# (each demo adds its KNNHook with knn_train_dataloader / knn_val_dataloader).
data_root = 'demo/cifar10-mini'
max_epochs = 12
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
knn_train_dataloader = dict(knn_loader, dataset=dict(knn_loader['dataset'], data_prefix='train'))
knn_val_dataloader = dict(knn_loader, dataset=dict(knn_loader['dataset'], data_prefix='test'))
default_hooks = dict(
    logger=dict(interval=7),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
