# Supervised slimmable ResNet-18 (3x3 CIFAR stem) on CIFAR-10 (SlimCLR,
# arXiv 2209.15525): every width forwarded each step, label cross-entropy per width,
# losses summed, one shared slimmable fc. Hyper-parameters of the reference's
# supervised CIFAR runs (`visualize/cifar.py`: SGD lr 0.1, momentum 0.9, wd 1e-4,
# batch 256, cosine, 100 epochs, RandomCrop 32 pad 4 + flip); those used a ResNet-20
# x4 with widths 1.0/0.5, this config mmpretrain's ResNet-18 with SlimCLR's list.
# Per-width top-1/top-5 (accuracy_w{w}/top{k}) every 5 epochs.
_base_ = [
    '../../_base_/datasets/cifar10_bs256.py',
    '../../_base_/default_runtime.py',
]

widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    type='SlimmableClassifier',
    backbone=dict(type='SlimmableResNetCIFAR', depth=18, widths=widths),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='SwitchableLinearClsHead',
        num_classes=10,
        in_channels=512,
        widths=widths,
        switchable=False,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    loss_mode='ce')

val_evaluator = dict(type='SlimmableAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100,
         convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
val_cfg = dict()
test_cfg = dict()
custom_hooks = []
default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=3, save_best='accuracy/top1',
                    rule='greater'))
