_base_ = '../../slimclr/benchmarks/slimmable-resnet18-cifar_linear-1xb256-coslr-100e_cifar10.py'
# Switchable linear probe of the demos
# (../slimclr-simclr_slimmable-resnet18_1xb256-coslr-12e_cifar10-mini*.py): the CIFAR
# SlimCLR probe (frozen backbone, one linear layer per width, "inplace distillation
# mixed" loss) on the demo's slimmable ResNet-18 with the ImageNet stem and widths
# 1.0 / 0.5 / 0.25, trained on the 2,000 training images of demo/cifar10-mini for 10
# epochs and tested on its 1,000 test images. tools/pipeline.py sets
# model.backbone.init_cfg.checkpoint to the pretraining checkpoint; by hand:
# --cfg-options model.backbone.init_cfg.checkpoint=...
data_root = 'demo/cifar10-mini'
widths = (1.0, 0.5, 0.25)
max_epochs = 10
model = dict(backbone=dict(type='SlimmableResNet', widths=widths), head=dict(widths=widths))
train_dataloader = dict(num_workers=2, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=250, num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.2))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=4),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
