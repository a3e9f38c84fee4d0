# DCL (Yeh et al., ECCV 2022, arXiv:2110.06848): the CIFAR-10 SimCLR recipe of
# slimselfsup with the decoupled contrastive loss in place of InfoNCE. Everything else
# (ResNet-18 with a 3x3 stem, batch 512, LARS, 200 epochs, kNN monitor) is inherited.
# Run from the repository root with this project on PYTHONPATH, so that
# `custom_imports` finds the `dcl` package:
#   PYTHONPATH=projects/dcl python3 tools/train.py projects/dcl/configs/<this file>
_base_ = '../../../configs/simclr/simclr_resnet18-cifar_1xb512-coslr-200e_cifar10.py'

custom_imports = dict(imports=['dcl'], allow_failed_imports=False)

# the paper's CIFAR temperature is 0.1 for DCL; set sigma=0.5 for DCLW
model = dict(head=dict(loss=dict(_delete_=True, type='DCLLoss', temperature=0.1)))
