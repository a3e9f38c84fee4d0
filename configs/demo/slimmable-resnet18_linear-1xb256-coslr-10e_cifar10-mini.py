_base_ = [
    '../_base_/datasets/cifar10_bs256.py',
    '../_base_/default_runtime.py',
]
# Switchable linear probe of the pipeline demo
# (slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini.py): the frozen
# slimmable ResNet-18 (ImageNet stem, widths 1.0 / 0.5 / 0.25) with one linear layer per
# width, trained with SlimCLR's "inplace distillation mixed" loss on the 2,000 training
# images of demo/cifar10-mini for 10 epochs and tested on its 1,000 test images.
# tools/pipeline.py sets model.backbone.init_cfg.checkpoint to the pretraining
# checkpoint; by hand: --cfg-options model.backbone.init_cfg.checkpoint=...
data_root = 'demo/cifar10-mini'
widths = (1.0, 0.5, 0.25)
max_epochs = 10
model = dict(
    type='SlimmableClassifier',
    backbone=dict(
        type='SlimmableResNet',
        depth=18,
        widths=widths,
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
train_dataloader = dict(num_workers=2, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=250, num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(type='SlimmableAccuracy', topk=(1, 5))
test_evaluator = val_evaluator
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
custom_hooks = []
default_hooks = dict(
    logger=dict(interval=4),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
