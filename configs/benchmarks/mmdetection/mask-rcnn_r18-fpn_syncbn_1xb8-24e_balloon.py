# Mask R-CNN R-18-FPN fine-tuned on the balloon set (Matterport's Mask R-CNN tutorial
# data: 61 train / 13 val images, COCO polygons, one class): a small real detection
# transfer that runs on one GPU in minutes. Protocol as the COCO configs; 24 epochs
# (about 190 iterations at batch 8) with lr x0.1 after epochs 16 and 22, lr 0.01 for
# one GPU (0.08 at batch 64, scaled linearly), warm-up 50 iterations.
# Data: `data/balloon` (link it: `ln -s /path/to/balloon data/balloon`) or set
#   --cfg-options train_dataloader.dataset.data_root=DIR \
#     val_dataloader.dataset.data_root=DIR val_evaluator.ann_file=DIR/annotations/instances_val.json
_base_ = './mask-rcnn_r18-fpn_syncbn_8xb8-1x_coco.py'

pretrained = 'work_dirs/mocov2_resnet18/epoch_200.pth'
data_root = 'data/balloon/'
metainfo = dict(classes=('balloon', ), palette=[(220, 20, 60)])
max_epochs = 24

model = dict(
    backbone=dict(init_cfg=dict(checkpoint=pretrained)),
    roi_head=dict(bbox_head=dict(num_classes=1), mask_head=dict(num_classes=1)))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/')))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=4)
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False, base_batch_size=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[16, 22], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
