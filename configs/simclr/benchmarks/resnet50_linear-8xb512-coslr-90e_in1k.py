# Linear evaluation of a SimCLR ResNet-50 with SimCLR's protocol (google-research/simclr
# README, ImageNet linear head): frozen backbone, one linear layer initialised to zero,
# SGD with Nesterov momentum 0.9, lr 1.6 (= 0.1 x 4096 / 256), wd 1e-6, no warm-up,
# cosine per iteration, 90 epochs, batch 4096 (8 GPUs x 512), RandomResizedCrop 224 +
# flip; val Resize 256 / CenterCrop 224. Pass the checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
_base_ = [
    '../../_base_/models/resnet50_linear-probe.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_100e.py',
    '../../_base_/default_runtime.py',
]
model = dict(head=dict(init_cfg=dict(type='Constant', layer='Linear', val=0.)))
train_dataloader = dict(batch_size=512)
val_dataloader = dict(batch_size=512)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1.6, momentum=0.9, nesterov=True, weight_decay=1e-6))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=0, end=90,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=90)
auto_scale_lr = dict(enable=False, base_batch_size=4096, mode='linear')
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
