# Linear evaluation of a pretrained ResNet-50 (MoCo v2 protocol): frozen backbone with
# BN in eval mode, one linear layer, SGD lr 30, wd 0, steps at 60 and 80, 100 epochs.
# Pass the pretraining checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/.../epoch_200.pth
_base_ = [
    '../../_base_/models/resnet50_linear-probe.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_steplr_100e.py',
    '../../_base_/default_runtime.py',
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=30., momentum=0.9, weight_decay=0.))
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
