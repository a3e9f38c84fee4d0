# Plain (unaugmented) CIFAR-10 loaders for kNN evaluation of learned features:
# knn_train_dataloader (train split, the memory bank) and knn_val_dataloader (test
# split, the queries). Images only go through LoadImageFromFile and PackInputs
# (uint8 CHW tensors, the ToTensor equivalent); the model's data_preprocessor does
# the normalisation. Every name here starts with `knn_` so this file can sit
# next to a pretraining dataset base (e.g. cifar10_bs256_mocov2.py) in `_base_`.
knn_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]

knn_train_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageFolder',
        data_root='data/cifar10',
        data_prefix='train',
        pipeline=knn_pipeline))

knn_val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageFolder',
        data_root='data/cifar10',
        data_prefix='test',
        pipeline=knn_pipeline))

# The online kNN monitor itself: pretraining configs that list this file in `_base_`
# get kNN top-1/top-5 every 10 epochs and at the end of training.
custom_hooks = [
    dict(
        type='KNNHook',
        train_dataloader=knn_train_dataloader,
        val_dataloader=knn_val_dataloader,
        interval=10,
        k=200,
        temperature=0.07)
]
