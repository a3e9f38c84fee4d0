_base_ = [
    '../_base_/models/simclr_resnet50.py',
    '../_base_/demo_cifar10-mini.py',
]
# The second demo: SimCLR pretraining of a plain ResNet-18 on the 2,000-image CIFAR-10
# subset shipped in demo/cifar10-mini, then kNN on its 1,000 test images. The ImageNet
# stem (stride 4) keeps 32 px inputs cheap on a CPU; the CIFAR recipes use the 3x3 stem.
model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN'), zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=512, norm_cfg=dict(type='BN1d')),
    head=dict(loss=dict(temperature=0.2)))
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader={{_base_.knn_train_dataloader}},
         val_dataloader={{_base_.knn_val_dataloader}},
         interval={{_base_.max_epochs}}, k=200, temperature=0.07)
]
