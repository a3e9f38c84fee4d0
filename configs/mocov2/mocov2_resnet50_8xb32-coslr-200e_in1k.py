_base_ = [
    '../_base_/models/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]
# MoCo v2 (arXiv 2003.04297): K=65536, m=0.999, T=0.2, SGD lr 0.03 @ batch 256, 200 ep.
# Schedule: mmpretrain's; data: ours (same recipe, see imagenet_bs32_mocov2.py for why
# it is not mmpretrain's file). `--auto-scale-lr` rescales lr for other total batches.
auto_scale_lr = dict(enable=False, base_batch_size=256, mode='linear')
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
