# Switchable linear probe of a SlimCLR-MoCo v2 slimmable ResNet-50 (SlimCLR,
# arXiv 2209.15525, `main_ssl_lincls.py`): frozen backbone kept in eval mode, one
# independent linear layer per width (`supervised_switch`), every width forwarded
# each step with the "inplace distillation mixed" loss
#   CE(z_1.0, y) + sum_{w<1} 0.5 * [softCE(z_w, sg softmax(z_1.0)) + CE(z_w, y)].
# SGD lr 60, momentum 0.9, wd 0, x0.1 at epochs 60 and 80, 100 epochs, total batch
# 1024 (8 GPUs x 128); RandomResizedCrop 224 + flip, val Resize 256 / CenterCrop 224.
# Top-1/top-5 are reported per width (accuracy_w1.0/top1, ..., accuracy_w0.25/top5).
# The pretraining checkpoint loads as is (the online encoder lives under `backbone.`):
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
# `widths` must equal the pretraining run's width list (same BN count and order).
# One width alone (its own probe, the other widths' BNs loaded but unused):
#   --cfg-options model.backbone.width=0.5
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    '../../_base_/default_runtime.py',
]

widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    type='SlimmableClassifier',
    backbone=dict(
        type='SlimmableResNet',
        depth=50,
        widths=widths,
        width=None,  # all widths; one width: --cfg-options model.backbone.width=W
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='SwitchableLinearClsHead',
        num_classes=1000,
        in_channels=2048,
        widths=widths,
        switchable=True,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    loss_mode='inplace_distill_mixed',
    distill_alpha=0.5)

train_dataloader = dict(batch_size=128, num_workers=8)
val_dataloader = dict(batch_size=128, num_workers=8)
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='SlimmableAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=60., momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.1)
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=1024)

default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=3, save_best='accuracy/top1',
                    rule='greater'))
