# SEED single-view data read from the reference's TSV format: <data_root>/train.tsv
# (key, label, base64 JPEG per line) with train.lineidx beside it; make them with
#   python tools/dataset_converters/folder2tsv.py data/imagenet/train data/imagenet/train.tsv
# The data set decodes the images, so the pipeline starts after LoadImageFromFile.
_base_ = './imagenet_bs32_seed.py'

train_pipeline = [
    dict(type='MultiView', num_views=1, transforms=[_base_.view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='TSVDataset',
        data_root='data/imagenet/',
        ann_file='train.tsv',
        pipeline=train_pipeline))
