_base_ = [
    '../_base_/models/mocov2_resnet50.py',
    '../_base_/datasets/cifar10_bs256_mocov2.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# CIFAR-10 recipe: ResNet-18 with a 3x3 stem, K=4096, m=0.99, T=0.1, SGD lr 0.06 @
# batch 512, wd 5e-4 (the values of SlimCLR's CIFAR MoCo record, visualize/cifar_moco.py),
# with MoCo v2's MLP head and crops; recipe.yml lists where it departs from the record.
model = dict(
    queue_len=4096,
    momentum=0.99,
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, norm_cfg=dict(type='BN')),
    neck=dict(in_channels=512, hid_channels=512),
    head=dict(loss=dict(temperature=0.1)))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.06, weight_decay=5e-4))
auto_scale_lr = dict(base_batch_size=512)
