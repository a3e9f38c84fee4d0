_base_ = [
    '../_base_/models/slimclr-simclr_slimmable-resnet50.py',
    '../_base_/demo_cifar10-mini.py',
]
# The README's main job: SlimCLR (arXiv 2209.15525), slimmable SimCLR flavour, on the
# 2,000 CIFAR-10 images of demo/cifar10-mini. One run trains a slimmable ResNet-18 at
# widths 1.0, 0.5 and 0.25 together; it ends with one table of kNN top-1 on the 1,000
# test images at every width, next to the same widths with random weights. Sized for a
# few minutes on a 2-core CPU: the ImageNet stem (stride 4) keeps 32 px inputs cheap,
# and all widths train from the first step (no slow start in so short a run), with
# SlimCLR's distillation (tau 5, alpha 0.5) and loss weights full_plus_others (1.75, 1, 1).
widths = (1.0, 0.5, 0.25)
model = dict(
    slim_start_epoch=0,
    backbone=dict(depth=18, widths=widths, zero_init_residual=True),
    neck=dict(in_channels=512, hid_channels=512, widths=widths),
    head=dict(loss=dict(temperature=0.2)))
custom_hooks = [
    dict(type='KNNHook',
         train_dataloader={{_base_.knn_train_dataloader}},
         val_dataloader={{_base_.knn_val_dataloader}},
         interval={{_base_.max_epochs}}, k=200, temperature=0.07, widths=widths,
         random_baseline=True)
]
