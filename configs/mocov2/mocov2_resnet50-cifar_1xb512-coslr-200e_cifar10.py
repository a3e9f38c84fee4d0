_base_ = './mocov2_resnet18-cifar_1xb512-coslr-200e_cifar10.py'
# MoCo v2 CIFAR-10 recipe with a ResNet-50 (3x3 stem) instead of the ResNet-18: the
# teacher of the SEED CIFAR-10 recipe (configs/seed/). Its last checkpoint is the teacher:
#   python tools/train.py configs/mocov2/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py
model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=2048, hid_channels=2048))
