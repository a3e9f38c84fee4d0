_base_ = '../mocov2/mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
# Teacher for the SEED CIFAR-10 recipe: this toolbox's MoCo v2 CIFAR-10 recipe with a
# ResNet-50 (3x3 stem) instead of the ResNet-18. Its last checkpoint is the teacher:
#   python tools/train.py configs/seed/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py
model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=2048, hid_channels=2048))
