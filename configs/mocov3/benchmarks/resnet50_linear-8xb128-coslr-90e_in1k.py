# Linear evaluation of a MoCo v3 ResNet-50 with MoCo v3's protocol (official
# main_lincls.py defaults, CONFIG.md): frozen backbone kept in eval mode, one linear
# layer (N(0, 0.01) init), SGD lr 0.4 (= 0.1 x 1024 / 256), momentum 0.9, wd 0, cosine
# per epoch without warm-up, 90 epochs, batch 1024 (8 GPUs x 128), RandomResizedCrop
# 224 + flip; val Resize 256 / CenterCrop 224. As mmpretrain's
# configs/mocov3/benchmarks/resnet50_8xb128-linear-coslr-90e_in1k.py. Pass the
# checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_100.pth
_base_ = [
    '../../_base_/models/resnet50_linear-probe.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_100e.py',
    '../../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=0, end=90)
]
train_cfg = dict(max_epochs=90)
auto_scale_lr = dict(enable=False, base_batch_size=1024, mode='linear')
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
