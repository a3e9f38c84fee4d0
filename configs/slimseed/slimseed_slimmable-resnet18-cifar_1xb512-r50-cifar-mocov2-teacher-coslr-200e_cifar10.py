_base_ = [
    '../seed/seed_resnet18-cifar_1xb512-r50-cifar-mocov2-teacher-coslr-200e_cifar10.py',
    '../_base_/models/slimseed_slimmable-student.py',
]
# Slimmable SEED on CIFAR-10: the SEED CIFAR recipe (teacher: the ResNet-50 of
# mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py, K=4096, tau_S=0.2, tau_T=1e-4,
# SGD lr 0.06 @ batch 512, wd 5e-4, cosine, 200 epochs, SEED's MLP head) with a
# slimmable ResNet-18 student (3x3 stem, widths 1.0 .75 .5 .25) trained at every width
# as SlimCLR trains its encoder: the narrower widths join at epoch 100 (slow start),
# distil the full width's similarities (tau 5/5, alpha 0.5) and get the loss weights
# `full_plus_others` (2.5, 1, 1, 1). Each width compares with the SEED student of that
# width trained alone and with SlimCLR-MoCo v2 (configs/slimclr), same data and epochs:
# tools/benchmarks/slimseed_widths.py. Online kNN (k=200) of every width every 10 epochs.
widths = _base_.widths
model = dict(
    _base_.slimseed,
    backbone=dict(_delete_=True, type='SlimmableResNetCIFAR', depth=18, widths=widths),
    neck=dict(_base_.slimseed_neck, in_channels=512, hid_channels=512))
# before slow start the sub-width-only BNs get no gradient
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader={{_base_.knn_train_dataloader}},
         val_dataloader={{_base_.knn_val_dataloader}},
         interval=10, k=200, temperature=0.07, widths=widths)
]
