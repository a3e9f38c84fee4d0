_base_ = [
    '../_base_/models/mocov3_resnet50.py',
    '../_base_/datasets/imagenet_bs512_mocov3.py',
    '../_base_/schedules/adamw_coslr-300e.py',
    '../_base_/default_runtime.py',
]
# MoCo v3 ViT-S/16 (CONFIG.md): batch 4096, AdamW lr 2.4e-3 (= 1.5e-4 * B / 256), wd 0.1,
# T=0.2, m 0.99 -> 1, frozen random patch projection, 3-layer projector, 300 epochs,
# RandomResizedCrop scale (0.08, 1) (the code's default; the ResNet recipe uses 0.2).
temperature = 0.2
model = dict(
    backbone=dict(_delete_=True, type='MoCoV3ViT', arch='mocov3-small', img_size=224,
                  patch_size=16, stop_grad_conv1=True),
    neck=dict(in_channels=384, num_layers=3, with_avg_pool=False),
    head=dict(loss=dict(temperature=temperature, loss_weight=2 * temperature)))
view_pipeline1 = [dict(_base_.view_pipeline1[0], crop_ratio_range=(0.08, 1.))
                  ] + _base_.view_pipeline1[1:]
view_pipeline2 = [dict(_base_.view_pipeline2[0], crop_ratio_range=(0.08, 1.))
                  ] + _base_.view_pipeline2[1:]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1], transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=256, dataset=dict(pipeline=train_pipeline))
