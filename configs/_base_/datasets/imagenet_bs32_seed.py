# SEED single-view distillation data on ImageNet-1k: the MoCo v2 augmentation of
# imagenet_bs32_mocov2.py (what the reference uses for MoCo v2 teachers:
# RandomResizedCrop 224 scale (0.2, 1), colour jitter (0.4, 0.4, 0.4, 0.1) p=0.8,
# grayscale p=0.2, Gaussian blur sigma in [0.1, 2] p=0.5, horizontal flip), one view
# that student and teacher both see. Batch 8 GPUs x 32 = 256.
_base_ = './imagenet_bs32_mocov2.py'

# everything after the crop; the SwAV variants put their own crops in front of it
color_pipeline = _base_.view_pipeline[1:]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=1, transforms=[_base_.view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
