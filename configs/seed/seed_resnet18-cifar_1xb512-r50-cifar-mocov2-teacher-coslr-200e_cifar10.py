_base_ = [
    '../_base_/models/seed_resnet18.py',
    '../_base_/datasets/cifar10_bs256_seed.py',
    '../_base_/datasets/cifar10_bs256_knn.py',
    '../_base_/schedules/sgd_coslr-200e.py',
    '../_base_/default_runtime.py',
]
# SEED on CIFAR-10: ResNet-18 (3x3 stem) student distilled from the ResNet-50 teacher
# trained by mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10.py (its epoch_200.pth is
# loaded directly: backbone.* and neck.* are taken, the rest dropped). Same data,
# schedule and epochs as the MoCo v2 ResNet-18 CIFAR recipe, so the two compare:
# K=4096, SGD lr 0.06 @ batch 512, wd 5e-4, 200 epochs; SEED's tau_S=0.2,
# tau_T=1e-4. Online kNN (k=200) every 10 epochs.
model = dict(
    queue_len=4096,
    teacher_ckpt='work_dirs/mocov2_resnet50-cifar_1xb512-coslr-200e_cifar10/'
    'epoch_200.pth',
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18, norm_cfg=dict(type='BN')),
    teacher=dict(
        backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=50,
                      norm_cfg=dict(type='BN'))))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(optimizer=dict(lr=0.06, weight_decay=5e-4))
auto_scale_lr = dict(base_batch_size=512)
