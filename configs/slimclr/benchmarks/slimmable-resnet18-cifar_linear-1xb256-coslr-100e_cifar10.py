# Switchable linear probe on CIFAR-10 for the CIFAR SlimCLR pretraining recipes
# (SlimCLR, arXiv 2209.15525): slimmable ResNet-18 with the 3x3 CIFAR stem, frozen
# in eval mode, one independent linear layer per width trained with the "inplace
# distillation mixed" loss; SGD lr 0.1, wd 0, cosine, 100 epochs, as the non-slim
# CIFAR probe (configs/mocov2/benchmarks/). Pass the checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
# and keep `widths` equal to the pretraining run's width list.
# One width alone (its own probe, the other widths' BNs loaded but unused):
#   --cfg-options model.backbone.width=0.5
_base_ = [
    '../../_base_/datasets/cifar10_bs256.py',
    '../../_base_/default_runtime.py',
]

widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    type='SlimmableClassifier',
    backbone=dict(
        type='SlimmableResNetCIFAR',
        depth=18,
        widths=widths,
        width=None,  # all widths; one width: --cfg-options model.backbone.width=W
        frozen_stages=4,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='SwitchableLinearClsHead',
        num_classes=10,
        in_channels=512,
        widths=widths,
        switchable=True,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    loss_mode='inplace_distill_mixed',
    distill_alpha=0.5)

val_evaluator = dict(type='SlimmableAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100)
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
custom_hooks = []
default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=3, save_best='accuracy/top1',
                    rule='greater'))
