# Supervised slimmable ResNet-50 on ImageNet (SlimCLR, arXiv 2209.15525,
# `scripts/slimmable.sh` -> `main_slim.py`): widths 1.0/0.75/0.5/0.25 all forwarded
# every step, label cross-entropy per width, losses summed (`--slim_loss sum`,
# `inplace_distill 0`; loss_mode='inplace_distill' gives the soft-CE variant). One
# shared slimmable fc (`supervised` head: input columns sliced per width).
# SGD lr 0.2 @ total batch 512 (4 GPUs x 128), momentum 0.9, wd 1e-4 on all
# parameters (as the reference, whose scheduler overwrites its no-decay groups),
# linear warm-up over 5% (5 epochs) then cosine to 0, per iteration, 100 epochs,
# AMP. Per-width top-1/top-5 every epoch.
# Augmentation (`--ssl_aug slim`): RandomResizedCrop 224 (scale 0.08-1) + flip +
# ColorJitter(0.4, 0.4, 0.4) + AlexNet PCA lighting (alphastd 0.1), with mmpretrain's
# transforms. Approximations: the reference jitters with torchvision (PIL) and applies
# lighting to the [0, 1] tensor; here ColorJitter is mmpretrain's (cv2) and Lighting
# runs on 0-255 BGR images (eigenvector rows in BGR order, alphastd 0.1 * 255).
# mmpretrain's Lighting casts back to the input dtype without clipping, which wraps
# values below 0 / above 255 on uint8 images; PILToNumpy(dtype='float32') first turns
# the image to float32 so the lighting offsets stay unclipped, as in the reference.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    '../../_base_/default_runtime.py',
]

widths = (1.0, 0.75, 0.5, 0.25)
model = dict(
    type='SlimmableClassifier',
    backbone=dict(type='SlimmableResNet', depth=50, widths=widths),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='SwitchableLinearClsHead',
        num_classes=1000,
        in_channels=2048,
        widths=widths,
        switchable=False,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)),
    loss_mode='ce')

# fb.resnet.torch PCA of ImageNet pixels (0-1 scale); rows reordered to B, G, R
EIGVAL = [0.2175, 0.0188, 0.0045]
EIGVEC = [[-0.5836, -0.6948, 0.4203],
          [-0.5808, -0.0045, -0.8140],
          [-0.5675, 0.7192, 0.4009]]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PILToNumpy', dtype='float32'),
    dict(type='Lighting', eigval=EIGVAL, eigvec=EIGVEC, alphastd=25.5, to_rgb=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=128, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, num_workers=8)
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='SlimmableAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    # the reference warms up from 1e-8
    dict(type='LinearLR', start_factor=5e-8, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, eta_min=0., by_epoch=True, begin=5,
         end=100, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)

default_hooks = dict(
    checkpoint=dict(interval=10, max_keep_ckpts=3, save_best='accuracy/top1',
                    rule='greater'))
