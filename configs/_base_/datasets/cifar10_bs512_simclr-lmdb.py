# SimCLR CIFAR-10 pretraining data read from an LMDB of the JPEGs
# (tools/dataset_converters/folder2lmdb.py data/cifar10/train data/cifar10_lmdb/train)
# instead of class folders; augmentation unchanged (cifar10_bs512_simclr.py).
_base_ = ['./cifar10_bs512_simclr.py']

train_pipeline = [
    dict(type='DecodeImage'),  # the LMDB holds the files' bytes
    dict(type='MultiView', num_views=2, transforms=[{{_base_.view_pipeline}}]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='LMDBDataset',
        data_root='data/cifar10_lmdb',
        data_prefix='train',
        pipeline=train_pipeline))
