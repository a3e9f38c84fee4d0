# Linear evaluation of a pretrained ResNet-50 (SimCLR / MoCo v3 / FlatCLR protocol):
# frozen backbone, BN-free linear head, LARS lr 1.6 @ batch 4096, cosine, 90 epochs.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_lars_coslr_90e.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')))
train_dataloader = dict(batch_size=512)
val_dataloader = dict(batch_size=512)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
