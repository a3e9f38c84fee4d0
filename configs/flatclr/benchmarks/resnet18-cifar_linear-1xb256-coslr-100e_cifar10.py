# Linear probe on CIFAR-10 for the FlatCLR ResNet-18 CIFAR recipe: the probe
# that every CIFAR ResNet-18 recipe of this toolbox shares, so the methods compare
# (frozen backbone, one linear layer, SGD lr 0.1, cosine, 100 epochs); it is defined
# once, in configs/mocov2/benchmarks/. Pass the checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
_base_ = '../../mocov2/benchmarks/resnet18-cifar_linear-1xb256-coslr-100e_cifar10.py'
